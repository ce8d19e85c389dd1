/**
 * Snapshot intake (`storage.snapshotFoldMs` > 0, the default): a fridge's snapshot is
 * acknowledged once its payload is in the store's intake log (a synced write, shared with the
 * document's appends by group commit), and written into the venue document at most every
 * `foldMs` per fridge: the newest snapshot judged applied since the fridge's last fold.
 *
 * Why: fridges report full totals, so of the snapshots a fridge sends within `foldMs` only the
 * newest reaches the document. Writing each into the document before acknowledging it costs one
 * document entry per snapshot, which the sync client then sends to central, and central
 * validates, applies and stores. With the intake, a fridge reporting faster than `foldMs` costs
 * one entry per `foldMs` instead.
 *
 * Each snapshot is judged when it arrives ({@link snapshotRun}): against the document as it is
 * then, with the newest snapshot this intake judged applied and has not seen written counting as
 * written. Its outcome and era are those that writing it into the document at once would give;
 * only the newest applied one per fridge is kept in memory, so a flood allocates nothing that
 * lives until the fold. When the fold writes it, it is compared with the document once more
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
 *   fold joins this turn's document write (ingest's turn batcher), as without the intake. Folds
 *   due in the same turn share one transaction there.
 * - Records held while the replica may not write (joining after a retirement) stay on disk and in
 *   memory, and are folded once it is active again; records found at start are replayed the same
 *   way.
 */
import type { Logger } from 'pino';
import { INBOUND_SCHEMAS, snapshotRun, type FridgeId, type InventoryPayload, type ReplicaId, type SnapshotOutcome, type SnapshotRun, type SnapshotValue } from '@fridgesync/shared';
import { NotWritableError, type LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';
import type { IntakeRecord } from './replica-store.ts';

/** Options of {@link SnapshotIntake}. */
export interface SnapshotIntakeOptions {
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  /** Least time between two folds of one fridge, ms (> 0). */
  foldMs: number;
  /** Writes a fridge's newest applied snapshot into the document ({@link writeSnapshot}); resolves once durable. */
  fold: (fridge: FridgeId, snapshot: SnapshotValue) => Promise<SnapshotOutcome>;
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

/** How one fridge's snapshots are judged ({@link snapshotRun}), kept across folds. */
interface Judging {
  /** Valid while the document's observations of the fridge and the replica id are these. */
  run: SnapshotRun | undefined;
  observations: number;
  replica: ReplicaId | undefined;
  /** The newest snapshot judged applied: held, being folded, or written (then also in the document). */
  unwritten: SnapshotValue | undefined;
  /** The fridge's last fold, until it settles. */
  folding: Promise<unknown> | undefined;
}

/**
 * One intake record holds the snapshots accepted in one event-loop turn (one LevelDB record per
 * turn, not per message). It is cleared once the snapshots in it are durable in the document (or
 * superseded by one that is).
 */
interface RecordRef {
  /** Set once the record is handed to the store. */
  id: number | undefined;
  /** Holds (one per fridge and fold) that list it and are not yet durable in the document. */
  left: number;
}

/**
 * Encodes the snapshots of one intake record: per snapshot, the fridge id's length (u16), the
 * fridge id (utf8), the payload's length (u32) and the payload as received.
 */
export function encodeIntake(entries: ReadonlyArray<{ fridge: FridgeId; payload: Uint8Array }>): Uint8Array {
  // Runs for every turn of a flood: ids are written in place, not copied through a buffer each.
  let size = 0;
  for (const e of entries) size += 6 + Buffer.byteLength(e.fridge, 'utf8') + e.payload.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const { fridge, payload } of entries) {
    const idLength = out.write(fridge, at + 2, 'utf8');
    out.writeUInt16BE(idLength, at);
    at = out.writeUInt32BE(payload.length, at + 2 + idLength);
    out.set(payload, at);
    at += payload.length;
  }
  return out;
}

/** Decodes an intake record; `undefined` when it is not one written by {@link encodeIntake}. */
export function decodeIntake(record: Uint8Array): Array<{ fridge: FridgeId; snapshot: InventoryPayload }> | undefined {
  const b = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const out: Array<{ fridge: FridgeId; snapshot: InventoryPayload }> = [];
  let at = 0;
  try {
    while (at < b.length) {
      const idLength = b.readUInt16BE(at);
      const fridge = b.toString('utf8', at + 2, at + 2 + idLength);
      at += 2 + idLength;
      const length = b.readUInt32BE(at);
      if (at + 4 + length > b.length) return undefined;
      const parsed = INBOUND_SCHEMAS.inventory.safeParse(JSON.parse(b.toString('utf8', at + 4, at + 4 + length)));
      if (!parsed.success) return undefined;
      out.push({ fridge: fridge as FridgeId, snapshot: parsed.data as InventoryPayload });
      at += 4 + length;
    }
  } catch {
    return undefined;
  }
  return out.length > 0 ? out : undefined;
}

/** The snapshots accepted in one event-loop turn: one intake record, one promise for all of them. */
interface IntakeTurn {
  entries: Array<{ fridge: FridgeId; payload: Uint8Array }>;
  /** When each was received (`performance.now()`), for the ingest latency histogram. */
  received: number[];
  ref: RecordRef;
  durable: Promise<void>;
  resolvers: { resolve: () => void; reject: (e: unknown) => void };
}

/** Holds acknowledged snapshots and folds them into the document per fridge at a bounded rate. */
export class SnapshotIntake {
  private readonly held = new Map<FridgeId, Held>();
  private readonly judging = new Map<FridgeId, Judging>();
  private readonly lastFold = new Map<FridgeId, number>();
  private readonly folding = new Set<Promise<unknown>>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly o: SnapshotIntakeOptions) {
    this.now = o.now ?? Date.now;
    // Records left by an earlier process, and records held while the replica could not write.
    o.replica.on('state', (s) => {
      if (s === 'active') this.resume();
    });
    if (o.replica.writable) this.resume();
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
    const r = this.o.replica;
    if (!r.writable) return Promise.reject(new NotWritableError(r.state));
    let turn = this.turn;
    if (turn === undefined) {
      // The first snapshot of this turn: the turn's record is written once the turn's I/O is read.
      let resolvers!: IntakeTurn['resolvers'];
      const durable = new Promise<void>((resolve, reject) => (resolvers = { resolve, reject }));
      const t: IntakeTurn = { entries: [], received: [], ref: { id: undefined, left: 0 }, durable, resolvers };
      this.turn = turn = t;
      setImmediate(() => this.writeTurn(t));
    }
    turn.entries.push({ fridge, payload });
    turn.received.push(receivedAt);
    this.hold(fridge, snapshot, turn.ref);
    return turn.durable;
  }
  private turn: IntakeTurn | undefined;

  private writeTurn(t: IntakeTurn): void {
    if (this.turn === t) this.turn = undefined;
    let written: { id: number; durable: Promise<void> };
    try {
      written = this.o.replica.store.appendIntake(encodeIntake(t.entries));
    } catch (e) {
      t.resolvers.reject(e);
      return;
    }
    t.ref.id = written.id;
    if (t.ref.left === 0) this.clear(t.ref); // already folded and durable (a fold can overtake its record)
    written.durable.then(
      () => {
        const now = performance.now();
        for (const at of t.received) this.o.metrics.ingestSeconds.observe((now - at) / 1000);
        t.resolvers.resolve();
      },
      (e: unknown) => t.resolvers.reject(e),
    );
  }

  /** One snapshot of `ref` is durable in the document; the record goes once all of them are. */
  private settle(ref: RecordRef): void {
    if (--ref.left === 0 && ref.id !== undefined) this.clear(ref);
  }

  private clear(ref: RecordRef): void {
    // A failure is fatal and reported by the replica; tracked so flush() covers the clearing too.
    const p: Promise<unknown> = this.o.replica.store.clearIntake([ref.id!]).catch(() => undefined).finally(() => this.folding.delete(p));
    this.folding.add(p);
  }

  /** Hands a fridge's held snapshots to the document now (before another message of the fridge). */
  release(fridge: FridgeId): void {
    if (this.held.has(fridge)) this.foldNow([fridge]);
  }

  /** Folds everything held and resolves once those folds, and the clearing of their records, are durable (or failed). */
  async flush(): Promise<void> {
    if (this.o.replica.writable) this.foldNow([...this.held.keys()]);
    while (this.folding.size > 0) await Promise.allSettled([...this.folding]);
  }

  /** Stops timers (shutdown); what is still held stays in the intake log for the next start. */
  stop(): void {
    this.stopped = true;
    for (const h of this.held.values()) clearTimeout(h.timer);
  }

  private hold(fridge: FridgeId, snapshot: InventoryPayload, ref: RecordRef): void {
    const j = this.judgingOf(fridge);
    const outcome = j.run!.judge(snapshot);
    let h = this.held.get(fridge);
    const first = h === undefined;
    if (h === undefined) {
      h = { snapshot: undefined, applied: 0, stale: 0, records: [], timer: undefined };
      this.held.set(fridge, h);
    }
    if (outcome === 'applied') {
      h.snapshot = j.unwritten = j.run!.newest;
      h.applied++;
    } else h.stale++;
    if (h.records[h.records.length - 1] !== ref) {
      h.records.push(ref);
      ref.left++;
    }
    if (first) this.schedule(fridge, h);
  }

  /** The fridge's judging state, its run started afresh if the document's observations of it changed. */
  private judgingOf(fridge: FridgeId): Judging {
    let j = this.judging.get(fridge);
    if (j === undefined) {
      j = { run: undefined, observations: -1, replica: undefined, unwritten: undefined, folding: undefined };
      this.judging.set(fridge, j);
    }
    const doc = this.o.replica.doc;
    const observations = doc.index.observations(fridge);
    if (j.run === undefined || j.observations !== observations || j.replica !== doc.replica) {
      j.run = snapshotRun(doc, doc.replica, fridge, j.unwritten);
      j.observations = observations;
      j.replica = doc.replica;
    }
    return j;
  }

  /** Folds a fridge when its interval has passed: at once (into this turn's batch) or by a timer. */
  private schedule(fridge: FridgeId, h: Held): void {
    if (this.stopped || !this.o.replica.writable || h.timer !== undefined) return;
    const wait = (this.lastFold.get(fridge) ?? -Infinity) + this.o.foldMs - this.now();
    if (wait <= 0) {
      this.foldNow([fridge]);
      return;
    }
    h.timer = setTimeout(() => {
      h.timer = undefined; // if the replica cannot write now, resume() schedules it again
      if (this.o.replica.writable) this.foldNow([fridge]);
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
      const j = this.judging.get(fridge)!;
      const before = j.folding;
      // Nothing applied: nothing to write, but what made them stale may be the fridge's previous
      // fold, so their records go once that has settled.
      const write = h.snapshot !== undefined ? this.o.fold(fridge, h.snapshot) : before === undefined ? Promise.resolve('stale' as const) : before.then(() => 'stale' as const);
      const done = write.then(
        (outcome) => {
          // Written, or superseded by a newer snapshot of another replica (then none of them
          // changed the document): either way the document now shows it or something newer.
          if (j.unwritten === h.snapshot) j.unwritten = undefined;
          const applied = outcome === 'applied' ? h.applied : 0;
          const m = this.o.metrics.ingested;
          if (applied > 0) m.inc({ kind: 'inventory', outcome: 'applied' }, applied);
          if (h.applied + h.stale > applied) m.inc({ kind: 'inventory', outcome: 'stale' }, h.applied + h.stale - applied);
          // Only now are the snapshots durable in the document: their intake records may go.
          for (const ref of h.records) this.settle(ref);
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
          this.o.logger.warn({ fridge, err: (e as Error).message }, 'snapshot fold failed; its intake records stay for the next start');
        },
      );
      const tracked: Promise<unknown> = done.catch(() => undefined).finally(() => {
        this.folding.delete(tracked);
        if (j.folding === tracked) j.folding = undefined;
      });
      j.folding = tracked;
      this.folding.add(tracked);
    }
  }

  /** The replica may write (again): replay what the store held at start, fold what waited. */
  private resume(): void {
    const loaded: IntakeRecord[] = this.o.replica.takeLoadedIntake();
    if (loaded.length > 0) {
      let snapshots = 0;
      for (const { id, record } of loaded) {
        const d = decodeIntake(record);
        if (d === undefined) {
          this.o.logger.warn({ record: id }, 'an intake record that holds no snapshots was found and removed');
          this.clear({ id, left: 0 });
          continue;
        }
        const ref: RecordRef = { id, left: 0 };
        for (const { fridge, snapshot } of d) this.hold(fridge, snapshot, ref);
        snapshots += d.length;
      }
      this.o.logger.info({ records: loaded.length, snapshots }, 'replaying acknowledged snapshots from the intake log');
    }
    for (const [fridge, h] of this.held) this.schedule(fridge, h);
  }
}
