/**
 * The transaction batcher of the ingest path: the document writes of the fridge messages that
 * arrive in one event-loop turn share transactions and one synced write (see {@link TurnBatcher}).
 */
import { ORIGINS, recordSnapshots, type EntryWriter, type FridgeId, type InventoryPayload, type SnapshotOutcome } from '@fridgesync/shared';
import type { LocalReplica } from './local-replica.ts';

/** Most messages applied in one event-loop turn (keeps a turn short under a flood). */
const MAX_PER_TURN = 2_000;

interface Queued {
  fridge: string;
  /** A snapshot (applied with its fridge's neighbouring snapshots, see {@link TurnBatcher}), or any other write. */
  op: { snapshot: InventoryPayload } | { apply: (w: EntryWriter) => unknown };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** What one round applies for one fridge: one message, or a run of its consecutive snapshots. */
type Unit = { fridge: string; snapshots: Queued[] } | { fridge: string; one: Queued };

/**
 * Applies the fridge messages that arrive in one event-loop turn (from any number of sockets)
 * together: one synced append and one PUBACK write per socket instead of one each, which is most
 * of the per-message cost under load.
 *
 * The shared operations read the folded index, which a transaction updates only when it ends, so
 * a fridge's second message must not share a transaction with its first. A turn's messages are
 * therefore split into rounds — round k holds the k-th message of every fridge, in arrival order —
 * and each round is one transaction; the rounds are written in the same synchronous block, so
 * group commit stores them with one fsync. Messages of different fridges never read each other's
 * entries, so sharing a round changes no outcome. Each fridge's PUBACKs keep the order of its
 * PUBLISHes (MQTT 3.1.1 §4.6): its rounds become durable in order.
 *
 * Consecutive snapshots of one fridge (a fridge sending faster than a turn, or flushing what it
 * queued while the gateway was away) count as one message: {@link recordSnapshots} gives each
 * its own outcome and writes only the newest, which the others would be overwritten by in the
 * same durable write anyway.
 */
export class TurnBatcher {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly replica: LocalReplica) {}

  /** Queues one write of `fridge` for this turn; resolves with what `apply` returned once the write is durable. */
  add<T>(fridge: string, apply: (w: EntryWriter) => T): Promise<T> {
    return this.enqueue<T>(fridge, { apply });
  }

  /** Queues one snapshot of `fridge` (recorded with its neighbouring snapshots); resolves with its outcome once durable. */
  addSnapshot(fridge: FridgeId, snapshot: InventoryPayload): Promise<SnapshotOutcome> {
    return this.enqueue<SnapshotOutcome>(fridge, { snapshot });
  }

  private enqueue<T>(fridge: string, op: Queued['op']): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fridge, op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    // A bounded turn: what is beyond the limit waits for the next one (in order).
    const items = this.queue.length <= MAX_PER_TURN ? this.queue : this.queue.slice(0, MAX_PER_TURN);
    this.queue = items === this.queue ? [] : this.queue.slice(MAX_PER_TURN);
    this.scheduled = this.queue.length > 0;
    if (this.scheduled) setImmediate(() => this.flush());
    const rounds: Unit[][] = [];
    /** fridge → its latest unit and that unit's round */
    const latest = new Map<string, { unit: Unit; round: number }>();
    for (const q of items) {
      const prev = latest.get(q.fridge);
      if ('snapshot' in q.op && prev !== undefined && 'snapshots' in prev.unit) {
        prev.unit.snapshots.push(q);
        continue;
      }
      const unit: Unit = 'snapshot' in q.op ? { fridge: q.fridge, snapshots: [q] } : { fridge: q.fridge, one: q };
      const round = prev === undefined ? 0 : prev.round + 1;
      latest.set(q.fridge, { unit, round });
      (rounds[round] ??= []).push(unit);
    }
    for (const round of rounds) this.write(round);
  }

  private write(units: Unit[]): void {
    const settled: Array<{ q: Queued; ok: true; v: unknown } | { q: Queued; ok: false; e: unknown }> = [];
    this.replica
      .write(ORIGINS.mqtt, (w) => {
        for (const u of units) {
          // One message's failure must not take the others down with it.
          if ('one' in u) {
            try {
              settled.push({ q: u.one, ok: true, v: (u.one.op as { apply: (w: EntryWriter) => unknown }).apply(w) });
            } catch (e) {
              settled.push({ q: u.one, ok: false, e });
            }
            continue;
          }
          try {
            const outcomes = recordSnapshots(w, u.fridge as FridgeId, u.snapshots.map((q) => (q.op as { snapshot: InventoryPayload }).snapshot));
            u.snapshots.forEach((q, i) => settled.push({ q, ok: true, v: outcomes[i] }));
          } catch (e) {
            for (const q of u.snapshots) settled.push({ q, ok: false, e });
          }
        }
      })
      .then(
        () => {
          for (const r of settled) {
            if (r.ok) r.q.resolve(r.v);
            else r.q.reject(r.e);
          }
        },
        (e: unknown) => units.forEach((u) => ('one' in u ? [u.one] : u.snapshots).forEach((q) => q.reject(e))),
      );
  }
}
