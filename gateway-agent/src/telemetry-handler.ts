/**
 * The handler of `telemetry` messages. Telemetry arrives every few seconds; writing each would
 * bloat sync traffic, so only a state change (online, door) or the presence interval causes a write
 * (fridge-presence.ts); the written status keeps what the fridge's last status said (firmware).
 */
import { keys, recordStatus, statusFromTelemetry, type FridgeId, type StatusValue, type TelemetryPayload } from '@fridgesync/shared';
import type { FridgePresence } from './fridge-presence.ts';
import { countIngested, type IngestResult, type MessageHandler } from './ingest-handler.ts';
import type { LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import type { TurnBatcher } from './turn-batcher.ts';

/** Options of {@link TelemetryHandler}. */
export interface TelemetryHandlerOptions {
  batcher: TurnBatcher;
  presence: FridgePresence;
  replica: LocalReplica;
  metrics: AgentMetrics;
  now: () => number;
}

/** Applies telemetry. */
export class TelemetryHandler implements MessageHandler<TelemetryPayload> {
  constructor(private readonly opts: TelemetryHandlerOptions) {}

  async handle(fridge: FridgeId, telemetry: TelemetryPayload, _raw: Buffer, receivedAt: number): Promise<IngestResult> {
    const { batcher, presence, replica: r, metrics } = this.opts;
    if (!presence.telemetry(fridge, telemetry.door, this.opts.now())) return countIngested(metrics, { kind: 'telemetry', outcome: 'rate-limited' }, receivedAt);
    const written = await batcher.add(fridge, (w) =>
      recordStatus(w, fridge, statusFromTelemetry(telemetry, r.replica === undefined ? undefined : (r.doc.get(r.replica, keys.status(fridge)) as StatusValue | undefined))),
    );
    return countIngested(metrics, { kind: 'telemetry', outcome: written ? 'written' : 'stale' }, receivedAt);
  }
}
