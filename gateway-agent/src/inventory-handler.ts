/**
 * The handler of `inventory` messages (full-totals snapshots). With the snapshot intake
 * (`storage.snapshotFoldMs` > 0) a snapshot is taken in by the intake log and resolves `accepted`
 * once durable there (snapshot-intake.ts); without it, it is recorded into the document in this
 * turn's transaction (turn-batcher.ts) and resolves with its outcome.
 */
import type { FridgeId, InventoryPayload } from '@fridgesync/shared';
import { countIngested, type IngestResult, type MessageHandler } from './ingest-handler.ts';
import type { AgentMetrics } from './metrics.ts';
import type { SnapshotIntake } from './snapshot-intake.ts';
import type { TurnBatcher } from './turn-batcher.ts';

/** What every snapshot taken in by the intake log resolves with (shared, so frozen). */
const ACCEPTED: IngestResult = Object.freeze({ kind: 'inventory', outcome: 'accepted' });

/** Options of {@link InventoryHandler}. */
export interface InventoryHandlerOptions {
  batcher: TurnBatcher;
  /** The snapshot intake; `undefined` writes each snapshot into the document before it resolves. */
  intake: SnapshotIntake | undefined;
  metrics: AgentMetrics;
}

/** Applies snapshots. */
export class InventoryHandler implements MessageHandler<InventoryPayload> {
  /** The promise of the last intake turn's result (shared by that turn's snapshots). */
  private accepted: { durable: Promise<void>; result: Promise<IngestResult> } | undefined;

  constructor(private readonly opts: InventoryHandlerOptions) {}

  handle(fridge: FridgeId, snapshot: InventoryPayload, raw: Buffer, receivedAt: number): Promise<IngestResult> {
    const intake = this.opts.intake;
    if (intake !== undefined) {
      const durable = intake.accept(fridge, snapshot, raw, receivedAt);
      // One turn's snapshots share `durable`, and so the promise of their result.
      if (durable !== this.accepted?.durable) this.accepted = { durable, result: durable.then(() => ACCEPTED) };
      return this.accepted.result;
    }
    return this.opts.batcher.addSnapshot(fridge, snapshot).then((outcome) => countIngested(this.opts.metrics, { kind: 'inventory', outcome }, receivedAt));
  }

  /** Hands the fridge's held snapshots to the document now: another message of it comes next (per-fridge order). */
  release(fridge: FridgeId): void {
    this.opts.intake?.release(fridge);
  }
}
