/**
 * Counters and latency histograms of a simulation run. Latencies go into Node's HDR histogram
 * (`perf_hooks.createHistogram`): constant memory however long the run, values kept to three
 * significant digits (a percentile is within 0.1% of the recorded value), at microsecond resolution.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** A latency summary in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Recorded unit: the HDR histogram takes positive integers, so latencies are kept in µs (at least 1). */
const US_PER_MS = 1_000;

/** Constant-memory latency histogram in milliseconds (see the module doc). */
export class LatencyHistogram {
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: Number.MAX_SAFE_INTEGER, figures: 3 });

  /** Records one latency in milliseconds (below 1 µs counts as 1 µs). */
  record(ms: number): void {
    this.histogram.record(Math.max(1, Math.round(ms * US_PER_MS)));
  }

  get count(): number {
    return this.histogram.count;
  }

  /** The `q`-quantile (0 < q ≤ 1) in milliseconds; 0 when empty. */
  quantile(q: number): number {
    return this.count === 0 ? 0 : this.histogram.percentile(q * 100) / US_PER_MS;
  }

  summary(): LatencySummary {
    const r = (x: number) => Math.round(x * 100) / 100;
    const max = this.count === 0 ? 0 : this.histogram.max / US_PER_MS;
    return { count: this.count, p50: r(this.quantile(0.5)), p90: r(this.quantile(0.9)), p99: r(this.quantile(0.99)), max: r(max) };
  }

  reset(): void {
    this.histogram.reset();
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
