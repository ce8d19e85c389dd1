/**
 * What the ingest path's message handlers share: the result of one message, the handler interface
 * (one handler per message kind, as aedes has one per packet type), and counting a result. The
 * router (ingest.ts) parses and validates a message, then hands it to its kind's handler:
 * inventory-handler.ts, pickup-handler.ts, status-handler.ts, telemetry-handler.ts.
 */
import type { FridgeId } from '@fridgesync/shared';
import type { AgentMetrics } from './metrics.ts';

/**
 * What happened to one message. A snapshot taken in by the intake log is `accepted`: durable, and
 * written into the document within `snapshotFoldMs` (its `applied`/`stale` outcome is counted in
 * the `ingested` metric then).
 */
export type IngestResult =
  | { kind: 'inventory'; outcome: 'applied' | 'stale' | 'accepted' }
  | { kind: 'pickup'; outcome: 'recorded' | 'covered' | 'duplicate'; order: string }
  | { kind: 'status' | 'telemetry'; outcome: 'written' | 'rate-limited' | 'stale' }
  | { kind: 'dropped'; reason: DropReason };

/** Why a message was dropped. */
export type DropReason = 'topic' | 'fridge-mismatch' | 'not-inbound' | 'json' | 'schema';

/** Applies the validated messages of one kind. */
export interface MessageHandler<P> {
  /**
   * Applies one message of `fridge`; resolves once its effect is durable, rejects only when it
   * cannot be made durable. `raw` is the payload as received, `receivedAt` its arrival
   * (`performance.now()`, for the ingest latency histogram).
   */
  handle(fridge: FridgeId, payload: P, raw: Buffer, receivedAt: number): Promise<IngestResult>;
}

/** Counts a durable result in `ingested` and its latency in `ingestSeconds`; returns it. */
export function countIngested<R extends Exclude<IngestResult, { kind: 'dropped' }>>(metrics: AgentMetrics, result: R, receivedAt: number): R {
  metrics.ingested.inc({ kind: result.kind, outcome: result.outcome });
  metrics.ingestSeconds.observe((performance.now() - receivedAt) / 1000);
  return result;
}
