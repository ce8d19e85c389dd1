/**
 * The in-memory implementation of {@link ReplicaStore}, for tests and for the demo's throwaway
 * gateways. It keeps the same ordering and group-commit behaviour as the LevelDB store; "durable"
 * means "in this object", which survives as long as the object does (pass it to a second agent to
 * simulate a restart). `failNextWrite` injects a write failure for the fatal-error paths;
 * `holdWrites` keeps writes from becoming durable until released (what a fridge sees meanwhile).
 */
import { GroupCommit } from './group-commit.ts';
import { StoreFailedError, type ReplicaStore, type StoreMeta, type StoredState, type StoreSize } from './replica-store.ts';

type Op =
  | { kind: 'append'; update: Uint8Array }
  | { kind: 'compact'; state: Uint8Array; upTo: number }
  | { kind: 'meta'; meta: StoreMeta }
  | { kind: 'intake'; id: number; record: Uint8Array }
  | { kind: 'clear'; ids: readonly number[] };

/** A store in memory. */
export class MemoryStore implements ReplicaStore {
  private state: Uint8Array | undefined;
  private log: Array<{ seq: number; update: Uint8Array }> = [];
  private meta: StoreMeta | undefined;
  /** Intake records by id (a Map keeps insertion order, which is id order). */
  private intake = new Map<number, Uint8Array>();
  private nextIntake = 0;
  private nextSeq = 0;
  private closed = false;
  private failWith: Error | undefined;
  private commit = this.newCommit();
  /** Number of synced batches written (tests check group commit with it). */
  batches = 0;

  private newCommit(): GroupCommit<Op> {
    return new GroupCommit<Op>(async (ops) => {
      await new Promise((r) => setImmediate(r)); // a write takes time, like an fsync
      while (this.held !== undefined) await this.held;
      if (this.failWith !== undefined) throw new StoreFailedError(this.failWith);
      this.batches++;
      for (const op of ops) {
        if (op.kind === 'append') this.log.push({ seq: this.nextSeqWritten++, update: op.update });
        else if (op.kind === 'meta') this.meta = structuredClone(op.meta);
        else if (op.kind === 'intake') this.intake.set(op.id, op.record);
        else if (op.kind === 'clear') for (const id of op.ids) this.intake.delete(id);
        else {
          this.state = op.state;
          this.log = this.log.filter((e) => e.seq >= op.upTo);
        }
      }
    }, 512);
  }
  private nextSeqWritten = 0;

  private held: Promise<void> | undefined;

  /** Synced writes not yet complete stay pending until the returned function is called. */
  holdWrites(): () => void {
    let release!: () => void;
    this.held = new Promise<void>((r) => (release = r));
    return () => {
      this.held = undefined;
      release();
    };
  }

  /** Makes the next synced write fail (and every later one: failures are fatal). */
  failNextWrite(e = new Error('injected write failure')): void {
    this.failWith = e;
  }

  /** Reopens after close (simulates a process restart over the same durable data). */
  reopen(): this {
    this.closed = false;
    this.failWith = undefined;
    this.commit = this.newCommit();
    this.acceptedIntake = this.intake.size;
    return this;
  }

  async load(): Promise<StoredState> {
    const updates = [...(this.state === undefined ? [] : [this.state]), ...this.log.map((e) => e.update)];
    return {
      updates,
      meta: this.meta === undefined ? undefined : structuredClone(this.meta),
      intake: [...this.intake].map(([id, record]) => ({ id, record: record.slice() })),
    };
  }

  append(update: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    this.nextSeq++;
    this.acceptedUpdates++;
    this.acceptedBytes += update.length;
    return this.commit.add({ kind: 'append', update: update.slice() });
  }

  appendIntake(record: Uint8Array): { id: number; durable: Promise<void> } {
    if (this.closed) return { id: -1, durable: Promise.reject(new StoreFailedError(new Error('store closed'))) };
    const id = this.nextIntake++;
    this.acceptedIntake++;
    return { id, durable: this.commit.add({ kind: 'intake', id, record: record.slice() }) };
  }

  clearIntake(ids: readonly number[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    this.acceptedIntake -= ids.length;
    return this.commit.add({ kind: 'clear', ids: [...ids] });
  }
  private acceptedIntake = 0;

  compact(state: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    this.acceptedUpdates = 0;
    this.acceptedBytes = state.length;
    return this.commit.add({ kind: 'compact', state: state.slice(), upTo: this.nextSeq });
  }

  writeMeta(meta: StoreMeta): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    return this.commit.add({ kind: 'meta', meta: structuredClone(meta) });
  }

  size(): StoreSize {
    return { updates: this.acceptedUpdates, bytes: this.acceptedBytes, intake: this.acceptedIntake };
  }
  private acceptedUpdates = 0;
  private acceptedBytes = 0;

  pending(): number {
    return this.commit.pending;
  }

  syncedWrites(): number {
    return this.batches;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commit.idle();
  }
}
