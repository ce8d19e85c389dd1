/**
 * Counters and latency histograms of a simulation run. Latencies go into log-scale buckets (5%
 * wide, 0.01 ms to ~2 h) so memory stays constant however long the run; percentiles are the upper
 * edge of the bucket they fall in (at most 5% high).
 */

const BASE = 1.05;
const MIN_MS = 0.01;
const BUCKETS = 400; // 0.01 ms · 1.05^400 ≈ 3·10^6 ms: anything longer lands in the last bucket.

/** A latency summary in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Constant-memory latency histogram (see the module doc). */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private n = 0;
  private maxMs = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const v = Math.max(ms, MIN_MS);
    const i = Math.min(BUCKETS - 1, Math.max(0, Math.ceil(Math.log(v / MIN_MS) / Math.log(BASE))));
    this.counts[i]!++;
    this.n++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.n;
  }

  /** The `q`-quantile (0 < q ≤ 1) in milliseconds; 0 when empty. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(MIN_MS * BASE ** i, this.maxMs);
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    const r = (x: number) => Math.round(x * 100) / 100;
    return { count: this.n, p50: r(this.quantile(0.5)), p90: r(this.quantile(0.9)), p99: r(this.quantile(0.99)), max: r(this.maxMs) };
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.maxMs = 0;
  }
}

/** Names of the counters a run keeps. */
export const COUNTER_NAMES = [
  'inventoryPublished', 'snapshotsCoalesced', 'pickupPublished', 'statusPublished', 'telemetryPublished', 'publishErrors',
  'duplicatesSent', 'reorderedSent', 'reboots', 'forgottenBoots', 'commandsReceived', 'badCommands',
  'mqttConnects', 'mqttDisconnects',
  'ordersAttempted', 'ordersConfirmed', 'ordersSoldOut', 'ordersReplayed', 'replayMismatches', 'ordersFailed', 'ordersUnknown',
  'kioskOrders', 'cancels', 'cancelErrors', 'pickups', 'pickupShortages', 'unlocks', 'unlocksRefused',
  'walkIns', 'walkInsEmpty', 'deliveries', 'deliveryAnnounceErrors', 'deliveryDiscrepancies',
  'faultsInjected', 'faultHookErrors',
] as const;
/** One counter of {@link RunStats}. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Everything a run measures. */
export class RunStats {
  readonly counters: Record<CounterName, number> = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<CounterName, number>;
  /** PUBLISH → PUBACK of QoS 1 messages. */
  readonly publishAck = new LatencyHistogram();
  /** `POST /v1/orders` round trip (central or kiosk). */
  readonly order = new LatencyHistogram();
  /** Same, since the last status line (reset by the reporter). */
  readonly recentPublishAck = new LatencyHistogram();
  readonly recentOrder = new LatencyHistogram();
  /** Last error messages (bounded: the newest 20), for the report. */
  readonly lastErrors: string[] = [];

  inc(name: CounterName, by = 1): void {
    this.counters[name] += by;
  }

  recordPublishAck(ms: number): void {
    this.publishAck.record(ms);
    this.recentPublishAck.record(ms);
  }

  recordOrder(ms: number): void {
    this.order.record(ms);
    this.recentOrder.record(ms);
  }

  /** Errors noted so far (all of them, unlike {@link lastErrors}). */
  errorsNoted = 0;
  /** Called with each error message (the CLI prints a bounded number of them). */
  onError: ((message: string, nth: number) => void) | undefined;

  /** Notes an error message (kept bounded so a long outage cannot grow memory). */
  error(message: string): void {
    this.errorsNoted++;
    this.lastErrors.push(`${new Date().toISOString()} ${message}`);
    if (this.lastErrors.length > 20) this.lastErrors.shift();
    this.onError?.(message, this.errorsNoted);
  }

  /** Sum of all error counters. */
  errorCount(): number {
    const c = this.counters;
    return c.publishErrors + c.ordersFailed + c.cancelErrors + c.deliveryAnnounceErrors + c.badCommands + c.faultHookErrors;
  }
}
