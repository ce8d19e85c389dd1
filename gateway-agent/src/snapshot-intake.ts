/**
 * Snapshot intake (`storage.snapshotFoldMs` > 0, the default): what is held of acknowledged
 * snapshots, and when it is folded into the document. A fridge's snapshot is acknowledged once its
 * payload is in the store's intake log (a synced write, shared with the document's appends by group
 * commit), and written into the venue document at most every `foldMs` per fridge: the newest
 * snapshot judged applied since the fridge's last fold.
 *
 * Why: fridges report full totals, so of the snapshots a fridge sends within `foldMs` only the
 * newest reaches the document. Writing each into the document before acknowledging it costs one
 * document entry per snapshot, which the sync client then sends to central, and central
 * validates, applies and stores. With the intake, a fridge reporting faster than `foldMs` costs
 * one entry per `foldMs` instead.
 *
 * Its parts: the records of the intake log and their reference counts (intake-log.ts, records
 * coded by intake-record.ts), judging each snapshot as it arrives (snapshot-judge.ts: its outcome
 * and era are those that writing it into the document at once would give), and, here, what is
 * held per fridge and when it is folded, through the ingest path's transaction batcher
 * (turn-batcher.ts). Only the newest applied snapshot per fridge is kept in memory, so a flood
 * allocates nothing that lives until the fold. When the fold writes it, it is compared with the document once more
 * ({@link writeSnapshot}): a newer snapshot another replica wrote meanwhile makes it stale.
 *
 * Invariants:
 * - Acknowledged means durable: the intake record is on disk (synced) before the PUBACK.
 * - A record is cleared only after the document update holding its snapshot, or the newer one
 *   that superseded it, is durable. A crash in between leaves the record, and the next start
 *   replays it: replaying a snapshot already in the document is `stale` and changes nothing (the
 *   same rule that makes MQTT redeliveries harmless).
 * - Per-fridge order: before any other message of a fridge (pickup, status, telemetry) is applied,
 *   its held snapshot is handed to the document first, in the same turn.
 * - A quiet fridge is not delayed: a snapshot arriving `foldMs` or more after the fridge's last
 *   fold joins this turn's document write (the turn batcher), as without the intake. Folds
 *   due in the same turn share one transaction there.
 * - Records held while the replica may not write (joining after a retirement) stay on disk and in
 *   memory, and are folded once it is active again; records found at start are replayed the same
 *   way.
 */
import type { Logger } from 'pino';
import { writeSnapshot, type FridgeId, type InventoryPayload, type SnapshotValue } from '@fridgesync/shared';
import { NotWritableError, type LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import { IntakeLog, type RecordRef } from './intake-log.ts';
import { SnapshotJudge } from './snapshot-judge.ts';
import type { TurnBatcher } from './turn-batcher.ts';

/** Options of {@link SnapshotIntake}. */
export interface SnapshotIntakeOptions {
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  /** Least time between two folds of one fridge, ms (> 0). */
  foldMs: number;
  /** The ingest path's transaction batcher: a fold is one more write of its turn. */
  batcher: TurnBatcher;
  now?: () => number;
}

/** What is held for one fridge since its last fold. */
interface Held {
  /** The newest snapshot judged applied, if any: what the fold writes. */
  snapshot: SnapshotValue | undefined;
  /** How many snapshots were judged applied and stale. */
  applied: number;
  stale: number;
  /** The records holding them, each once. */
  records: RecordRef[];
  timer: NodeJS.Timeout | undefined;
}

/** Holds acknowledged snapshots and folds them into the document per fridge at a bounded rate. */
export class SnapshotIntake {
  private readonly held = new Map<FridgeId, Held>();
  private readonly lastFold = new Map<FridgeId, number>();
  /** Each fridge's last fold, until it settles. */
  private readonly foldOf = new Map<FridgeId, Promise<unknown>>();
  private readonly folding = new Set<Promise<unknown>>();
  private readonly log: IntakeLog;
  private readonly judge: SnapshotJudge;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly opts: SnapshotIntakeOptions) {
    this.now = opts.now ?? Date.now;
    this.log = new IntakeLog({ store: opts.replica.store, logger: opts.logger, metrics: opts.metrics });
    this.judge = new SnapshotJudge(opts.replica);
    // Records left by an earlier process, and records held while the replica could not write.
    opts.replica.on('state', (s) => {
      if (s === 'active') this.resume();
    });
    if (opts.replica.writable) this.resume();
  }

  /** Snapshots held (acknowledged or about to be) and not yet folded. */
  get pending(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.applied + h.stale;
    return n;
  }

  /**
   * Takes in one validated snapshot with its raw payload, received at `receivedAt`
   * (`performance.now()`); resolves once its intake record is durable (the caller then
   * acknowledges). Every snapshot of one turn gets the same promise: one record, one synced write.
   * Rejects with {@link NotWritableError} when the replica may not write (nothing stored).
   */
  accept(fridge: FridgeId, snapshot: InventoryPayload, payload: Uint8Array, receivedAt: number): Promise<void> {
    const r = this.opts.replica;
    if (!r.writable) return Promise.reject(new NotWritableError(r.state));
    const turn = this.log.add(fridge, payload, receivedAt);
    this.hold(fridge, snapshot, turn.ref);
    return turn.durable;
  }

  /** Hands a fridge's held snapshots to the document now (before another message of the fridge). */
  release(fridge: FridgeId): void {
    if (this.held.has(fridge)) this.foldNow([fridge]);
  }

  /** Folds everything held and resolves once those folds, and the clearing of their records, are durable (or failed). */
  async flush(): Promise<void> {
    if (this.opts.replica.writable) this.foldNow([...this.held.keys()]);
    while (this.folding.size > 0) await Promise.allSettled([...this.folding]);
    await this.log.cleared();
  }

  /** Stops timers (shutdown); what is still held stays in the intake log for the next start. */
  stop(): void {
    this.stopped = true;
    for (const h of this.held.values()) clearTimeout(h.timer);
  }

  private hold(fridge: FridgeId, snapshot: InventoryPayload, ref: RecordRef): void {
    const applied = this.judge.judge(fridge, snapshot);
    let h = this.held.get(fridge);
    const first = h === undefined;
    if (h === undefined) {
      h = { snapshot: undefined, applied: 0, stale: 0, records: [], timer: undefined };
      this.held.set(fridge, h);
    }
    if (applied !== undefined) {
      h.snapshot = applied;
      h.applied++;
    } else h.stale++;
    if (h.records[h.records.length - 1] !== ref) {
      h.records.push(ref);
      this.log.hold(ref);
    }
    if (first) this.schedule(fridge, h);
  }

  /** Folds a fridge when its interval has passed: at once (into this turn's batch) or by a timer. */
  private schedule(fridge: FridgeId, h: Held): void {
    if (this.stopped || !this.opts.replica.writable || h.timer !== undefined) return;
    const wait = (this.lastFold.get(fridge) ?? -Infinity) + this.opts.foldMs - this.now();
    if (wait <= 0) {
      this.foldNow([fridge]);
      return;
    }
    h.timer = setTimeout(() => {
      h.timer = undefined; // if the replica cannot write now, resume() schedules it again
      if (this.opts.replica.writable) this.foldNow([fridge]);
    }, wait);
  }

  private foldNow(fridges: FridgeId[]): void {
    const now = this.now();
    for (const fridge of fridges) {
      const h = this.held.get(fridge);
      if (h === undefined) continue;
      this.held.delete(fridge);
      clearTimeout(h.timer);
      this.lastFold.set(fridge, now);
      const before = this.foldOf.get(fridge);
      const snapshot = h.snapshot;
      // Nothing applied: nothing to write, but what made them stale may be the fridge's previous
      // fold, so their records go once that has settled.
      const write =
        snapshot !== undefined
          ? this.opts.batcher.add(fridge, (w) => writeSnapshot(w, fridge, snapshot))
          : before === undefined
            ? Promise.resolve('stale' as const)
            : before.then(() => 'stale' as const);
      const done = write.then(
        (outcome) => {
          // Written, or superseded by a newer snapshot of another replica (then none of them
          // changed the document): either way the document now shows it or something newer.
          this.judge.written(fridge, snapshot);
          const applied = outcome === 'applied' ? h.applied : 0;
          const m = this.opts.metrics.ingested;
          if (applied > 0) m.inc({ kind: 'inventory', outcome: 'applied' }, applied);
          if (h.applied + h.stale > applied) m.inc({ kind: 'inventory', outcome: 'stale' }, h.applied + h.stale - applied);
          // Only now are the snapshots durable in the document: their intake records may go.
          for (const ref of h.records) this.log.settle(ref);
        },
        (e: unknown) => {
          if (e instanceof NotWritableError) {
            // Not written: hold again (ahead of anything newer) until the replica is active.
            const later = this.held.get(fridge);
            this.held.set(fridge, {
              // Anything applied later was judged against this one, so it is newer.
              snapshot: later?.snapshot ?? h.snapshot,
              applied: h.applied + (later?.applied ?? 0),
              stale: h.stale + (later?.stale ?? 0),
              records: [...h.records, ...(later?.records ?? [])],
              timer: later?.timer,
            });
            return;
          }
          // The store failed (fatal, reported by the replica) or the fold threw: the records stay
          // on disk and are replayed at the next start.
          this.opts.logger.warn({ fridge, err: (e as Error).message }, 'snapshot fold failed; its intake records stay for the next start');
        },
      );
      const tracked: Promise<unknown> = done
        .catch(() => undefined)
        .finally(() => {
          this.folding.delete(tracked);
          if (this.foldOf.get(fridge) === tracked) this.foldOf.delete(fridge);
        });
      this.foldOf.set(fridge, tracked);
      this.folding.add(tracked);
    }
  }

  /** The replica may write (again): replay what the store held at start, fold what waited. */
  private resume(): void {
    const loaded = this.opts.replica.takeLoadedIntake();
    if (loaded.length > 0) {
      let snapshots = 0;
      for (const { ref, snapshots: d } of this.log.replay(loaded)) {
        for (const { fridge, snapshot } of d) this.hold(fridge, snapshot, ref);
        snapshots += d.length;
      }
      this.opts.logger.info({ records: loaded.length, snapshots }, 'replaying acknowledged snapshots from the intake log');
    }
    for (const [fridge, h] of this.held) this.schedule(fridge, h);
  }
}
