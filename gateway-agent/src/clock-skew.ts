/**
 * The gateway's estimate of central's clock, measured at every sync handshake (docs/sync-protocol.md
 * "hello and welcome", docs/operations.md "Clock skew"): the gateway notes its clock when it sends
 * `hello` and when `welcome` arrives; central's clock at the welcome is taken as read at the midpoint,
 * so the offset is known within half the round trip. The reconciler judges central's orders' holds
 * by this estimate ({@link ClockSkew.takerClocks}), never by the gateway's clock alone.
 */
import { replicaParts, type ReplicaId, type TakerClocks } from '@fridgesync/shared';
import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics.ts';

/**
 * Drift allowed between two handshakes on top of the measurement's error, ms: quartz drifts under
 * 0.1 ms/s, so a link up for hours drifts by under a second.
 */
const DRIFT_ALLOWANCE_MS = 1_000;

/** One measurement. */
export interface ClockMeasurement {
  /** Central's clock minus this gateway's, ms. */
  offsetMs: number;
  /** Round trip of hello → welcome, ms (the offset is known within half of it). */
  rttMs: number;
  /** This gateway's clock at the measurement, ms. */
  at: number;
}

/** What `/status` shows under `clockSkew`. */
export interface ClockSkewStatus {
  measured: boolean;
  /** Central's clock minus this gateway's, ms (positive: the gateway is behind). */
  offsetMs: number | null;
  rttMs: number | null;
  measuredAt: string | null;
  /** Alert threshold (`central.maxClockSkewMs`), ms. */
  maxSkewMs: number;
  /** True when |offset| exceeds the threshold. */
  alert: boolean;
}

/** The clock measurement against central, and how the reconciler uses it. */
export class ClockSkew {
  private last: ClockMeasurement | undefined;

  constructor(
    private readonly o: { gatewayId: string; maxSkewMs: number; unknownGraceMs: number; logger: Logger; metrics: AgentMetrics },
  ) {}

  /** Records a handshake: `sentAt` and `receivedAt` by this gateway's clock, `centralNow` from the welcome. */
  record(sentAt: number, receivedAt: number, centralNow: number): ClockMeasurement {
    const rttMs = Math.max(0, receivedAt - sentAt);
    const m: ClockMeasurement = { offsetMs: Math.round(centralNow - (sentAt + rttMs / 2)), rttMs, at: receivedAt };
    this.last = m;
    this.o.metrics.clockOffset.set(m.offsetMs / 1000);
    if (Math.abs(m.offsetMs) > this.o.maxSkewMs) {
      this.o.logger.warn({ offsetMs: m.offsetMs, rttMs, maxSkewMs: this.o.maxSkewMs }, "this gateway's clock is skewed against central's beyond central.maxClockSkewMs: fix its time sync (holds are still judged by the clock of the replica that took each order)");
    }
    return m;
  }

  /** The last measurement, if any. */
  get measurement(): ClockMeasurement | undefined {
    return this.last;
  }

  status(): ClockSkewStatus {
    const m = this.last;
    return {
      measured: m !== undefined,
      offsetMs: m?.offsetMs ?? null,
      rttMs: m?.rttMs ?? null,
      measuredAt: m === undefined ? null : new Date(m.at).toISOString(),
      maxSkewMs: this.o.maxSkewMs,
      alert: m !== undefined && Math.abs(m.offsetMs) > this.o.maxSkewMs,
    };
  }

  /**
   * How the reconciler judges holds: central's orders by the measured offset (less half the round
   * trip and a drift allowance); this gateway's earlier epochs share its clock; other gateways'
   * clocks are unknown here (their orders wait for `reconcile.unknownClockGraceMs` unless those
   * gateways expire them first). Before the first measurement central's clock is unknown too.
   */
  takerClocks(): TakerClocks {
    const m = this.last;
    const gatewayId = this.o.gatewayId;
    return {
      marginMs: m === undefined ? 0 : Math.ceil(m.rttMs / 2) + DRIFT_ALLOWANCE_MS,
      unknownGraceMs: this.o.unknownGraceMs,
      offsetOf: (taker: ReplicaId) => {
        const p = replicaParts(taker);
        if (p.kind === 'central') return m?.offsetMs;
        return p.gatewayId === gatewayId ? 0 : undefined;
      },
    };
  }
}
