/**
 * The gateway's estimate of central's clock, measured at every sync handshake (docs/sync-protocol.md
 * "hello and welcome", docs/operations.md "Clock skew"): the gateway notes its monotonic clock when
 * it sends `hello` and when `welcome` arrives; central's clock at the welcome is taken as read at the
 * midpoint, so central's clock at the welcome's arrival is `welcome.now + rtt / 2`, known within half
 * the round trip. From then on central's clock is estimated as that reading plus the monotonic time
 * elapsed since, so a step of this gateway's wall clock (an NTP correction) after the handshake
 * changes nothing. The reconciler judges central's orders' holds by this estimate
 * ({@link ClockSkew.takerClocks}), never by the gateway's wall clock alone.
 */
import { performance } from 'node:perf_hooks';
import { replicaParts, type ReplicaId, type TakerClocks } from '@fridgesync/shared';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.ts';

/** Error allowed on top of half the round trip, ms: timer and event-loop jitter around the handshake. */
const BASE_MARGIN_MS = 1_000;

/**
 * Drift allowed per hour since the measurement, ms: two quartz clocks (this host's monotonic clock
 * and central's) drift apart by at most ~100 ppm, 360 ms an hour. The measurement is renewed at
 * every reconnect; on a link that stays up it only ages, and the margin grows with it so central's
 * holds are never judged early (docs/operations.md "Clock skew").
 */
export const DRIFT_MS_PER_HOUR = 360;

/** One measurement. */
export interface ClockMeasurement {
  /** Central's clock minus this gateway's wall clock at the measurement, ms. */
  offsetMs: number;
  /** Round trip of hello → welcome, ms (the offset is known within half of it). */
  rttMs: number;
  /** This gateway's wall clock at the measurement, ms since the epoch. */
  at: number;
  /** Central's estimated clock when the welcome arrived, ms since the epoch. */
  centralAt: number;
  /** This gateway's monotonic clock when the welcome arrived, ms. */
  monoAt: number;
}

/** What `/status` shows under `clockSkew`. */
export interface ClockSkewStatus {
  measured: boolean;
  /** Central's estimated clock minus this gateway's wall clock now, ms (positive: the gateway is behind). */
  offsetMs: number | null;
  rttMs: number | null;
  measuredAt: string | null;
  /** Error allowed on central's estimated clock now (half the round trip, jitter, drift since the measurement), ms. */
  marginMs: number | null;
  /** Alert threshold (`central.maxClockSkewMs`), ms. */
  maxSkewMs: number;
  /** True when |offset| exceeds the threshold. */
  alert: boolean;
}

/** Options of {@link ClockSkew}. */
export interface ClockSkewOptions {
  gatewayId: string;
  maxSkewMs: number;
  /** Grace past the hold for a live taker whose clock is unknown (another gateway), ms (`reconcile.unknownClockGraceMs`). */
  unknownGraceMs: number;
  /** Grace past the hold for central's orders while central's clock is unmeasured, ms (`reconcile.centralClockGraceMs`). */
  centralGraceMs: number;
  logger: Logger;
  metrics: AgentMetrics;
  /** This gateway's wall clock, ms since the epoch; default `Date.now`. */
  now?: () => number;
  /** A monotonic clock, ms (any origin); default `performance.now`. */
  mono?: () => number;
}

/** The clock measurement against central, and how the reconciler uses it. */
export class ClockSkew {
  private last: ClockMeasurement | undefined;
  /** Whether the skew was beyond the threshold when last looked at (a change is logged once). */
  private alerted = false;

  constructor(private readonly opts: ClockSkewOptions) {}

  /** This gateway's monotonic clock, ms: note it when the hello leaves and pass it to {@link record}. */
  monoNow(): number {
    return (this.opts.mono ?? (() => performance.now()))();
  }

  private wallNow(): number {
    return (this.opts.now ?? Date.now)();
  }

  /**
   * Records a handshake: `sentMono` and `receivedMono` by {@link monoNow} (hello sent, welcome
   * received), `centralNow` from the welcome.
   */
  record(sentMono: number, receivedMono: number, centralNow: number): ClockMeasurement {
    const rttMs = Math.max(0, receivedMono - sentMono);
    const centralAt = centralNow + rttMs / 2;
    const at = this.wallNow();
    const m: ClockMeasurement = { offsetMs: Math.round(centralAt - at), rttMs, at, centralAt, monoAt: receivedMono };
    this.last = m;
    this.opts.metrics.clockOffset.set(m.offsetMs / 1000);
    this.alerted = Math.abs(m.offsetMs) > this.opts.maxSkewMs;
    if (this.alerted) this.warn(m.offsetMs);
    return m;
  }

  /** The last measurement, if any. */
  get measurement(): ClockMeasurement | undefined {
    return this.last;
  }

  /** Central's estimated clock now, ms since the epoch, and the error allowed on it; undefined before the first measurement. */
  centralNow(): { now: number; marginMs: number } | undefined {
    const m = this.last;
    if (m === undefined) return undefined;
    const ageMs = Math.max(0, this.monoNow() - m.monoAt);
    return { now: m.centralAt + ageMs, marginMs: Math.ceil(m.rttMs / 2 + BASE_MARGIN_MS + (DRIFT_MS_PER_HOUR * ageMs) / 3_600_000) };
  }

  /** The offset now (central's estimate minus the wall clock), also exported as the metric. */
  private offsetNow(): { offsetMs: number; marginMs: number } | undefined {
    const c = this.centralNow();
    if (c === undefined) return undefined;
    const offsetMs = Math.round(c.now - this.wallNow());
    this.opts.metrics.clockOffset.set(offsetMs / 1000);
    // The wall clock stepped since the handshake (an NTP correction, a manual change): say so once.
    const alert = Math.abs(offsetMs) > this.opts.maxSkewMs;
    if (alert !== this.alerted) {
      this.alerted = alert;
      if (alert) this.warn(offsetMs);
      else this.opts.logger.info({ offsetMs }, "this gateway's clock is back within central.maxClockSkewMs of central's");
    }
    return { offsetMs, marginMs: c.marginMs };
  }

  private warn(offsetMs: number): void {
    this.opts.logger.warn({ offsetMs, rttMs: this.last?.rttMs, maxSkewMs: this.opts.maxSkewMs }, "this gateway's clock is skewed against central's beyond central.maxClockSkewMs: fix its time sync (holds are still judged by the clock of the replica that took each order)");
  }

  status(): ClockSkewStatus {
    const m = this.last;
    const cur = this.offsetNow();
    return {
      measured: m !== undefined,
      offsetMs: cur?.offsetMs ?? null,
      rttMs: m?.rttMs ?? null,
      measuredAt: m === undefined ? null : new Date(m.at).toISOString(),
      marginMs: cur?.marginMs ?? null,
      maxSkewMs: this.opts.maxSkewMs,
      alert: cur !== undefined && Math.abs(cur.offsetMs) > this.opts.maxSkewMs,
    };
  }

  /**
   * How the reconciler judges holds, read at each sweep against the wall clock of that moment:
   * central's orders by central's estimated clock (less the margin); this gateway's earlier epochs
   * share its clock; other gateways' clocks are unknown here (their orders wait for
   * `reconcile.unknownClockGraceMs` unless those gateways expire them first). Before the first
   * measurement (a gateway restarted while cut off) central's orders wait `reconcile.centralClockGraceMs`.
   */
  takerClocks(): TakerClocks {
    const cur = this.offsetNow();
    const gatewayId = this.opts.gatewayId;
    return {
      marginMs: cur?.marginMs ?? 0,
      unknownGraceMs: this.opts.unknownGraceMs,
      unknownGraceOf: (taker: ReplicaId) => (replicaParts(taker).kind === 'central' ? this.opts.centralGraceMs : this.opts.unknownGraceMs),
      offsetOf: (taker: ReplicaId) => {
        const p = replicaParts(taker);
        if (p.kind === 'central') return cur?.offsetMs;
        return p.gatewayId === gatewayId ? 0 : undefined;
      },
    };
  }
}
