/**
 * The intake log's records as the snapshot intake (snapshot-intake.ts) uses them: one record per
 * event-loop turn holding that turn's snapshots (intake-record.ts), written with one synced write,
 * and reference-counted: a record is cleared once every hold that lists it is durable in the
 * document (or superseded by a snapshot that is).
 */
import type { Logger } from 'pino';
import type { FridgeId } from '@fridgesync/shared';
import { decodeIntakeRecord, encodeIntakeRecord, type IntakeEntry, type IntakeSnapshot } from './intake-record.ts';
import type { AgentMetrics } from './metrics.ts';
import type { IntakeRecord, ReplicaStore } from './replica-store.ts';

/**
 * One intake record, counted by the holds that list it. It is cleared once the snapshots in it are
 * durable in the document (or superseded by one that is).
 */
export interface RecordRef {
  /** Set once the record is handed to the store. */
  id: number | undefined;
  /** Holds (one per fridge and fold) that list it and are not yet durable in the document. */
  left: number;
}

/** The snapshots accepted in one event-loop turn: one intake record, one promise for all of them. */
interface IntakeTurn {
  entries: IntakeEntry[];
  /** When each was received (`performance.now()`), for the ingest latency histogram. */
  received: number[];
  ref: RecordRef;
  durable: Promise<void>;
  resolvers: { resolve: () => void; reject: (e: unknown) => void };
}

/** Options of {@link IntakeLog}. */
export interface IntakeLogOptions {
  /** The replica's store (the intake log is part of it). */
  store: ReplicaStore;
  logger: Logger;
  metrics: AgentMetrics;
}

/** Writes, reads back and clears the intake log's records. */
export class IntakeLog {
  private turn: IntakeTurn | undefined;
  private readonly clearing = new Set<Promise<unknown>>();

  constructor(private readonly opts: IntakeLogOptions) {}

  /**
   * Adds one snapshot's raw payload, received at `receivedAt` (`performance.now()`), to this
   * turn's record; the record is written once the turn's I/O is read. Every snapshot of one turn
   * gets the same record and the same promise (resolved once the record is durable).
   */
  add(fridge: FridgeId, payload: Uint8Array, receivedAt: number): { ref: RecordRef; durable: Promise<void> } {
    let turn = this.turn;
    if (turn === undefined) {
      let resolvers!: IntakeTurn['resolvers'];
      const durable = new Promise<void>((resolve, reject) => (resolvers = { resolve, reject }));
      const t: IntakeTurn = { entries: [], received: [], ref: { id: undefined, left: 0 }, durable, resolvers };
      this.turn = turn = t;
      setImmediate(() => this.write(t));
    }
    turn.entries.push({ fridge, payload });
    turn.received.push(receivedAt);
    return turn;
  }

  /** One more hold lists `ref`. */
  hold(ref: RecordRef): void {
    ref.left++;
  }

  /** One hold listing `ref` is durable in the document; the record goes once all of them are. */
  settle(ref: RecordRef): void {
    if (--ref.left === 0 && ref.id !== undefined) this.clear(ref);
  }

  /**
   * The records a store held at start, decoded, each with a ref no hold lists yet. A record that
   * holds no snapshots is removed (and reported).
   */
  replay(records: readonly IntakeRecord[]): Array<{ ref: RecordRef; snapshots: IntakeSnapshot[] }> {
    const out: Array<{ ref: RecordRef; snapshots: IntakeSnapshot[] }> = [];
    for (const { id, record } of records) {
      const snapshots = decodeIntakeRecord(record);
      if (snapshots === undefined) {
        this.opts.logger.warn({ record: id }, 'an intake record that holds no snapshots was found and removed');
        this.clear({ id, left: 0 });
        continue;
      }
      out.push({ ref: { id, left: 0 }, snapshots });
    }
    return out;
  }

  /** Resolves once every clearing asked for so far is durable (or failed). */
  async cleared(): Promise<void> {
    while (this.clearing.size > 0) await Promise.allSettled([...this.clearing]);
  }

  private write(t: IntakeTurn): void {
    if (this.turn === t) this.turn = undefined;
    let written: { id: number; durable: Promise<void> };
    try {
      written = this.opts.store.appendIntake(encodeIntakeRecord(t.entries));
    } catch (e) {
      t.resolvers.reject(e);
      return;
    }
    t.ref.id = written.id;
    if (t.ref.left === 0) this.clear(t.ref); // already folded and durable (a fold can overtake its record)
    written.durable.then(
      () => {
        const now = performance.now();
        for (const at of t.received) this.opts.metrics.ingestSeconds.observe((now - at) / 1000);
        t.resolvers.resolve();
      },
      (e: unknown) => t.resolvers.reject(e),
    );
  }

  private clear(ref: RecordRef): void {
    // A failure is fatal and reported by the replica; tracked so cleared() covers it.
    const p: Promise<unknown> = this.opts.store
      .clearIntake([ref.id!])
      .catch(() => undefined)
      .finally(() => this.clearing.delete(p));
    this.clearing.add(p);
  }
}
