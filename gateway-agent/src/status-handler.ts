/**
 * The handler of `status` messages (retained, and the fridge's will): presence written when it
 * changed, or when the same presence is older than the presence interval (fridge-presence.ts).
 */
import { recordStatus, statusFromPayload, type FridgeId, type StatusPayload } from '@fridgesync/shared';
import type { FridgePresence } from './fridge-presence.ts';
import { countIngested, type IngestResult, type MessageHandler } from './ingest-handler.ts';
import type { AgentMetrics } from './metrics.ts';
import type { TurnBatcher } from './turn-batcher.ts';

/** Options of {@link StatusHandler}. */
export interface StatusHandlerOptions {
  batcher: TurnBatcher;
  presence: FridgePresence;
  metrics: AgentMetrics;
  now: () => number;
}

/** Applies status messages. */
export class StatusHandler implements MessageHandler<StatusPayload> {
  constructor(private readonly opts: StatusHandlerOptions) {}

  async handle(fridge: FridgeId, status: StatusPayload, _raw: Buffer, receivedAt: number): Promise<IngestResult> {
    const { batcher, presence, metrics } = this.opts;
    const now = this.opts.now();
    const seen = presence.status(fridge, status, now);
    if (seen === undefined) return countIngested(metrics, { kind: 'status', outcome: 'rate-limited' }, receivedAt);
    const value = statusFromPayload(status);
    // A will is composed when the fridge connects, so its timestamp is older than the status
    // and telemetry that followed; going offline is stamped with the time it is heard.
    if (!status.online) value.ts = Math.max(value.ts, now);
    const written = await batcher.add(fridge, (w) => recordStatus(w, fridge, value)).catch((e: unknown) => {
      presence.notWritten(fridge, seen);
      throw e;
    });
    return countIngested(metrics, { kind: 'status', outcome: written ? 'written' : 'stale' }, receivedAt);
  }
}
