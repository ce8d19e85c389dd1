/**
 * The local replica: the one owner of the venue document's lifecycle in the agent, with an
 * explicit state. It loads the document from the store
 * before anything is served, persists every transaction, knows the replica's epoch and whether it
 * may write, and tells the sync client which local updates are durable.
 *
 * Invariants:
 * - Every update is appended to the store (except what was loaded from it). Writers that must not
 *   acknowledge before durability (MQTT ingest, kiosk) use {@link LocalReplica.write}, which resolves
 *   after the synced append of that transaction.
 * - Local updates are handed to the sync client only once durable, so central never holds a write
 *   of this replica that its own store lacks. After `kill -9` the restarted process can therefore
 *   never contradict what central already has (a lost-but-sent reservation could otherwise be
 *   re-decided differently and oversell).
 * - Each process writes with a fresh Yjs client id (never one already in the document): reusing a
 *   client id across histories corrupts documents (docs/design.md "Yjs pitfalls designed around").
 * - A new, restored or retired store is `joining`: it writes nothing until the sync client reports a
 *   full sync and it has taken a new epoch (docs/design.md "Replica lifecycle").
 * - A failed synced write is fatal: the state becomes `failed`, nothing more is acknowledged.
 */
import { EventEmitter } from 'node:events';
import * as Y from 'yjs';
import type { Logger } from 'pino';
import {
  FridgesyncError,
  ORIGINS,
  crashPoint,
  VenueDoc,
  declareTaker,
  gatewayReplicaId,
  hasRetirement,
  isOrigin,
  nextEpoch,
  replicaParts,
  retire,
  writeMeta,
  type EntryWriter,
  type GatewayId,
  type ReplicaId,
  type TxOrigin,
  type VenueId,
} from '@fridgesync/shared';
import { StoreCorruptError, StoreFailedError, type IntakeRecord, type ReplicaStore, type StoreMeta } from './replica-store.ts';
import { applySalvage, collectSalvage, type SalvageEntry, type SalvageProblem } from './store-recovery.ts';

/** Where the replica is. */
export type ReplicaState = 'joining' | 'active' | 'retired' | 'failed';

/** Thrown when a write is attempted while the replica may not write (a request answers `503 NOT_READY`). */
export class NotWritableError extends FridgesyncError {
  override name = 'NotWritableError';
  constructor(readonly state: ReplicaState) {
    super('NOT_READY', state === 'joining' ? 'the replica has not completed its first full sync with central yet' : `the replica is ${state}`);
  }
}

/**
 * Why a store is rebuilt from central: it lost writes central holds (`lost-writes`), central holds
 * writes of its replica it never made (`foreign-writes`), or central refused what it sent
 * (`refused`).
 */
export type RebuildReason = 'lost-writes' | 'foreign-writes' | 'refused';

/** The last rebuild of the store from central, for `/status`. */
export interface RecoveryStatus {
  reason: RebuildReason;
  /** The replica given up. */
  from: string;
  at: string;
  /** Entries of the old replica central lacked, kept to be written again under the new epoch. */
  kept: number;
  /** Kept entries written again so far. */
  reapplied: number;
  /** Entries still waiting for the new epoch (or for rights). */
  waiting: number;
  /** Kept entries that could not be written again (reported, not dropped silently). */
  problems: SalvageProblem[];
}

/**
 * Events: `durable(update, origin, end)` for each durable update (`end`: `[client, clock]` after the
 * structs this process added in it, if any); `state(state)`; `fatal(error)`; `reset()` when the
 * document object was replaced by an empty one (a rebuild: listeners of the old one must
 * subscribe again); `recovered(status)` when the kept entries of a rebuild were written again.
 */
export interface LocalReplicaEvents {
  durable: [update: Uint8Array, origin: unknown, end: [number, number] | undefined];
  state: [state: ReplicaState];
  fatal: [error: Error];
  reset: [];
  recovered: [status: RecoveryStatus];
}

/** Options of {@link openLocalReplica}. */
export interface LocalReplicaOptions {
  gatewayId: GatewayId;
  venueId: VenueId;
  store: ReplicaStore;
  logger: Logger;
  /** Software version written into the replica's `meta` entry. */
  version: string;
  /** Compact the store after this many appended updates. */
  compactEveryUpdates: number;
  now?: () => number;
}

/** The venue document with its store and lifecycle. */
export class LocalReplica extends EventEmitter<LocalReplicaEvents> {
  private currentDoc = new VenueDoc();
  private currentState: ReplicaState = 'joining';
  private epochValue: number | undefined;
  private captured: Array<Promise<void>> | undefined;
  private sinceCompaction = 0;
  private readonly now: () => number;

  constructor(private readonly opts: LocalReplicaOptions) {
    super();
    this.now = opts.now ?? Date.now;
  }

  /** The gateway id this replica writes for. */
  get gatewayId(): GatewayId {
    return this.opts.gatewayId;
  }
  get state(): ReplicaState {
    return this.currentState;
  }
  /** The venue document (a rebuild replaces it: read it here each time, never keep it). */
  get doc(): VenueDoc {
    return this.currentDoc;
  }
  get epoch(): number | undefined {
    return this.epochValue;
  }
  get replica(): ReplicaId | undefined {
    return this.doc.replica;
  }
  get writable(): boolean {
    return this.currentState === 'active';
  }
  get store(): ReplicaStore {
    return this.opts.store;
  }
  /** Yjs client ids this replica wrote with (this process's first), at most 16 (the hello bound). */
  ownClients(): number[] {
    const r = this.doc.replica;
    const older = r === undefined ? [] : [...this.doc.clientsOf(r)].filter((c) => c !== this.doc.ydoc.clientID);
    return [this.doc.ydoc.clientID, ...older.slice(-15)];
  }

  /**
   * The intake records found at load (acknowledged messages not yet written into the document),
   * handed over once: the ingestor replays them as soon as the replica may write.
   */
  takeLoadedIntake(): IntakeRecord[] {
    const r = this.loadedIntake;
    this.loadedIntake = [];
    return r;
  }
  private loadedIntake: IntakeRecord[] = [];

  /** @internal loads the store into the document and decides the lifecycle state. */
  async load(): Promise<void> {
    const { store, gatewayId, venueId, logger } = this.opts;
    const stored = await store.load();
    this.loadedIntake = stored.intake;
    const rebuilding = stored.meta?.rebuild;
    // A rebuild that did not take its new epoch yet: the stored document is the one given up.
    const wiping = rebuilding !== undefined && stored.meta?.state !== 'active';
    if (rebuilding !== undefined) {
      // Kept entries not written again yet (the new epoch may already be taken).
      this.salvage = rebuilding.entries;
      this.recovery = { reason: rebuilding.reason, from: rebuilding.from, at: new Date(rebuilding.at).toISOString(), kept: rebuilding.entries.length, reapplied: 0, waiting: rebuilding.entries.length, problems: [] };
    }
    if (wiping) await this.wipe();
    else if (stored.updates.length > 0) {
      try {
        this.doc.applyUpdate(Y.mergeUpdates(stored.updates), ORIGINS.storageLoad);
      } catch (e) {
        throw new StoreCorruptError('(local store)', `stored updates do not apply: ${(e as Error).message}`, e);
      }
    }
    // A fresh client id for this process, never one already in the document.
    if (this.doc.ydoc.store.clients.has(this.doc.ydoc.clientID)) this.freshClientId();
    this.listen();
    const meta = stored.meta;
    if (meta !== undefined && (meta.gatewayId !== gatewayId || meta.venueId !== venueId)) {
      throw new Error(`the store belongs to gateway ${meta.gatewayId} of venue ${meta.venueId}, not ${gatewayId} of ${venueId}; use another storage.dataDir`);
    }
    if (meta?.state === 'active' && meta.epoch !== undefined) {
      const replica = gatewayReplicaId(gatewayId, meta.epoch);
      if (hasRetirement(this.doc, replica)) {
        logger.warn({ replica }, 'stored epoch is retired; rejoining under a new epoch');
        await this.saveMeta({ state: 'retired', epoch: meta.epoch });
      } else {
        this.epochValue = meta.epoch;
        // Ours: what earlier processes recorded, and every client whose writes this store holds.
        this.knownClients = new Set([...(meta.clients ?? []), ...this.doc.clientsOf(replica)]);
        // What the store holds of each: central holding more of one means the store lost writes.
        for (const c of this.knownClients) this.loadedClocks.set(c, Y.getState(this.doc.ydoc.store, c));
        // Recorded before this process writes anything (see StoreMeta.clients).
        await this.saveMeta({ state: 'active', epoch: meta.epoch });
        this.doc.replica = replica;
        this.setState('active');
        if (this.salvage.length > 0) void this.reapply();
        return;
      }
    } else if (meta === undefined) {
      await this.saveMeta({ state: 'joining' });
    }
    this.epochValue = meta?.epoch;
    this.setState('joining');
  }

  private listen(): void {
    this.currentDoc.ydoc.on('update', (u: Uint8Array, origin: unknown) => this.persist(u, origin));
  }

  /** Replaces the stored document by an empty one (the salvage is in the meta already). */
  private async wipe(): Promise<void> {
    try {
      await this.opts.store.compact(Y.encodeStateAsUpdate(new Y.Doc()));
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
  }

  /**
   * Gives up this store's document and rebuilds it from central under a new epoch (see
   * store-recovery.ts): keeps the entries of the current replica central lacks (`remote`: central's
   * state vector), stops writing at once, records the kept entries in the meta durably, replaces
   * the document by an empty one in memory and on disk, and waits as `joining` for the next full
   * sync. The kept entries are written again once the new epoch is taken. Intake records stay.
   */
  async rebuild(reason: RebuildReason, remote: ReadonlyMap<number, number>): Promise<void> {
    if (this.currentState === 'failed' || this.rebuilding) return;
    this.rebuilding = true;
    try {
      const from = this.doc.replica;
      const kept = from === undefined ? [] : collectSalvage(this.doc, from, remote);
      // Entries kept by an earlier rebuild that were not written again yet stay kept.
      const entries = [...new Map([...this.salvage, ...kept]).entries()];
      this.setState('joining');
      const at = this.now();
      this.salvage = entries;
      this.recovery = { reason, from: from ?? '(none)', at: new Date(at).toISOString(), kept: entries.length, reapplied: 0, waiting: entries.length, problems: [] };
      this.opts.logger.error({ reason, replica: from, kept: entries.length }, 'rebuilding the local store from central under a new epoch; acknowledged entries central lacks are written again after it');
      await this.saveMeta({ state: 'retired', epoch: this.epochValue ?? 0, rebuild: { reason, from: from ?? '(none)', at, entries } });
      // The old epoch is given up on disk (retired, kept entries recorded), its document not yet
      // wiped: the next start must finish the rebuild (docs/reliability.md "Process faults").
      crashPoint('mid-retirement');
      const old = this.currentDoc;
      this.currentDoc = new VenueDoc();
      old.ydoc.destroy();
      this.knownClients = undefined;
      this.loadedClocks.clear();
      this.endClient = -1;
      this.endClock = 0;
      this.listen();
      await this.wipe();
      this.rebuilt = true;
      this.emit('reset');
    } finally {
      this.rebuilding = false;
    }
  }
  private rebuilding = false;
  /** A rebuild in this process has not reached its new epoch yet (then `recovered` follows). */
  private rebuilt = false;
  /** Entries kept by a rebuild, to be written again under the new epoch. */
  private salvage: SalvageEntry[] = [];
  /** The last rebuild (undefined: none since this store was created or repaired). */
  recovery: RecoveryStatus | undefined;
  /** Clock of each known client of the epoch in the store at load. */
  private readonly loadedClocks = new Map<number, number>();

  /**
   * Runs `fn` as one transaction of the local replica and resolves once its update is durable.
   * Rejects with {@link NotWritableError} (nothing written) when the replica may not write.
   */
  async write<T>(origin: TxOrigin, fn: (w: EntryWriter) => T): Promise<T> {
    if (!this.writable) throw new NotWritableError(this.currentState);
    return this.durably(() => this.doc.transact(origin, fn));
  }

  /**
   * Resolves once every update handed to the store so far is durable (rejects with the store's
   * failure): what a request read may have been written a moment before and not be on disk yet.
   */
  async whenDurable(): Promise<void> {
    await Promise.all(this.inFlight);
  }
  /** Appends handed to the store and not yet settled. */
  private readonly inFlight = new Set<Promise<void>>();

  /** Runs `fn` (which may run several shared operations) and resolves once all its updates are durable. */
  async durably<T>(fn: () => T): Promise<T> {
    if (!this.writable) throw new NotWritableError(this.currentState);
    const outer = this.captured;
    const mine: Array<Promise<void>> = [];
    this.captured = mine;
    let out: T;
    try {
      out = fn();
    } finally {
      this.captured = outer;
      outer?.push(...mine);
    }
    await Promise.all(mine);
    return out;
  }

  /**
   * Completes the first full sync: takes the next epoch, stores it durably, then writes the
   * replica's lifecycle entries (retires earlier epochs, version, taker declaration).
   */
  becomeActive(): Promise<ReplicaId> {
    // One activation at a time, even if two sync sessions race (a reconnect during activation).
    this.activating ??= this.activate().finally(() => (this.activating = undefined));
    return this.activating;
  }
  private activating: Promise<ReplicaId> | undefined;

  private async activate(): Promise<ReplicaId> {
    if (this.currentState === 'active') return this.doc.replica!;
    if (this.currentState === 'failed') throw new NotWritableError(this.currentState);
    const { gatewayId, version } = this.opts;
    const epoch = Math.max(nextEpoch(this.doc, gatewayId), (this.epochValue ?? 0) + 1);
    // One Yjs client id writes for one replica only (central refuses a client id of another
    // replica): if this process already wrote under an earlier epoch, take a fresh one.
    if (this.doc.ydoc.store.clients.has(this.doc.ydoc.clientID)) this.freshClientId();
    this.knownClients = new Set();
    await this.saveMeta({ state: 'active', epoch });
    const replica = gatewayReplicaId(gatewayId, epoch);
    this.epochValue = epoch;
    this.doc.replica = replica;
    this.setState('active');
    const now = this.now();
    await this.write(ORIGINS.lifecycle, (w) => {
      for (const r of this.doc.index.replicaEntryCount.keys()) {
        const p = replicaParts(r as ReplicaId);
        if (p.kind === 'gateway' && p.gatewayId === gatewayId && p.epoch < epoch && !hasRetirement(this.doc, r as ReplicaId)) retire(w, r as ReplicaId, now);
      }
      writeMeta(w, version, now);
      declareTaker(w, true, now);
    });
    this.opts.logger.info({ replica }, 'replica active under a new epoch');
    if (this.salvage.length > 0 || this.rebuilt) void this.reapply();
    return replica;
  }

  /** Writes the entries kept by a rebuild again (store-recovery.ts), then forgets them. */
  private async reapply(): Promise<void> {
    const rec = this.recovery;
    if (!this.writable || rec === undefined) return;
    this.rebuilt = false;
    let result = { reapplied: 0, problems: [] as SalvageProblem[] };
    try {
      if (this.salvage.length > 0) result = await this.durably(() => applySalvage(this.doc, ORIGINS.lifecycle, this.salvage, this.now()));
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'could not write the kept entries again; they stay kept for the next start');
      return;
    }
    rec.reapplied += result.reapplied;
    rec.problems.push(...result.problems);
    for (const p of result.problems) this.opts.logger[p.problem === 'conflict' ? 'error' : 'warn']({ key: p.key, problem: p.problem }, p.detail);
    this.salvage = [];
    rec.waiting = 0;
    try {
      await this.saveMeta({ state: 'active', epoch: this.epochValue! });
    } catch {
      return; // fatal, reported by `fatal`
    }
    this.opts.logger.info({ reapplied: rec.reapplied, problems: rec.problems.length }, 'acknowledged entries central lacked are written again under the new epoch');
    this.emit('recovered', rec);
  }

  /** Retires this replica (graceful shutdown): writes the retirement durably, then stops writing. */
  async retireSelf(): Promise<void> {
    const replica = this.doc.replica;
    if (!this.writable || replica === undefined) return;
    const now = this.now();
    await this.write(ORIGINS.lifecycle, (w) => {
      declareTaker(w, false, now);
      retire(w, replica, now);
    });
    await this.saveMeta({ state: 'retired', epoch: this.epochValue! });
    this.setState('retired');
  }

  /** Central reports this replica retired (close 4410): stop writing at once, rejoin under a new epoch. */
  async markRetired(): Promise<void> {
    if (this.currentState !== 'active') return;
    // Not writable from this instant; the meta write is ordered before any later one (FIFO store).
    this.setState('joining');
    await this.saveMeta({ state: 'retired', epoch: this.epochValue! });
  }

  private freshClientId(): void {
    const ydoc = this.doc.ydoc;
    do ydoc.clientID = Math.floor(Math.random() * 0xffffffff);
    while (ydoc.store.clients.has(ydoc.clientID));
  }

  /**
   * After a full sync: true when the document holds writes of this replica by a client no process
   * on this store used — the store is a restored backup or a clone, so its view of its own rights
   * is stale. The caller retires the epoch and rejoins (docs/design.md "Replica lifecycle": a restored store takes a new
   * epoch).
   */
  hasForeignWrites(): boolean {
    return this.staleness() === 'foreign-writes';
  }

  /**
   * After a full sync: why this store cannot go on as the replica it continues — `foreign-writes`
   * (see {@link hasForeignWrites}) or `lost-writes`: central holds writes of one of this store's own
   * clients that the store no longer has (it lost acknowledged writes, e.g. a damaged log). Either
   * way what it would send next contradicts central; undefined when the store is intact.
   */
  staleness(): 'foreign-writes' | 'lost-writes' | undefined {
    const r = this.doc.replica;
    if (r === undefined || this.knownClients === undefined || !this.writable) return undefined;
    for (const c of this.doc.clientsOf(r)) if (!this.knownClients.has(c)) return 'foreign-writes';
    for (const [c, clock] of this.loadedClocks) if (Y.getState(this.doc.ydoc.store, c) > clock) return 'lost-writes';
    return undefined;
  }
  /** Client ids recorded in the meta for the current epoch (undefined: not recorded). */
  private knownClients: Set<number> | undefined;

  /** Flushes pending appends and closes the store. */
  async close(): Promise<void> {
    await this.opts.store.close();
  }

  private async saveMeta(m: Pick<StoreMeta, 'state' | 'epoch' | 'rebuild'>): Promise<void> {
    const meta: StoreMeta = { gatewayId: this.opts.gatewayId, venueId: this.opts.venueId, state: m.state, updatedAt: this.now() };
    if (m.epoch !== undefined) meta.epoch = m.epoch;
    // Kept entries not yet written again survive a restart.
    const rec = this.recovery;
    const rebuild = m.rebuild ?? (this.salvage.length > 0 && rec !== undefined ? { reason: rec.reason, from: rec.from, at: Date.parse(rec.at), entries: this.salvage } : undefined);
    if (rebuild !== undefined) meta.rebuild = rebuild;
    if (m.state === 'active' && this.knownClients !== undefined) {
      this.knownClients.add(this.doc.ydoc.clientID);
      meta.clients = [...this.knownClients].slice(-64);
    }
    try {
      await this.opts.store.writeMeta(meta);
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
  }

  private setState(s: ReplicaState): void {
    if (this.currentState === s) return;
    this.currentState = s;
    this.emit('state', s);
  }

  private persist(update: Uint8Array, origin: unknown): void {
    if (isOrigin(origin, 'storage-load')) return;
    // The update event fires once the transaction's structs are integrated: this process's clock
    // now ends them (cheaper than decoding the update to learn it).
    const client = this.doc.ydoc.clientID;
    const clock = Y.getState(this.doc.ydoc.store, client);
    let end: [number, number] | undefined;
    if (client !== this.endClient || clock > this.endClock) {
      end = [client, clock];
      this.endClient = client;
      this.endClock = clock;
    }
    const p = this.opts.store.append(update).then(
      () => {
        this.emit('durable', update, origin, end);
      },
      (e: unknown) => {
        this.fail(e as Error);
        throw e;
      },
    );
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    if (this.captured !== undefined) this.captured.push(p);
    else p.catch(() => undefined); // upstream and background writes: the failure is reported by `fatal`
    if (++this.sinceCompaction >= this.opts.compactEveryUpdates) {
      this.sinceCompaction = 0;
      // Encoded and requested in the same synchronous block: the state covers every append so far.
      this.opts.store.compact(Y.encodeStateAsUpdate(this.doc.ydoc)).catch((e: unknown) => this.fail(e as Error));
    }
  }

  /** This process's client and clock after the last update that added structs. */
  private endClient = -1;
  private endClock = 0;

  private fail(e: Error): void {
    if (this.currentState === 'failed') return;
    this.currentState = 'failed';
    this.opts.logger.fatal({ err: e }, 'local store write failed; acknowledging nothing more');
    this.emit('state', 'failed');
    this.emit('fatal', e instanceof StoreFailedError ? e : new StoreFailedError(e));
  }
}

/** Opens the local replica over `store` (loads it before returning). */
export async function openLocalReplica(opts: LocalReplicaOptions): Promise<LocalReplica> {
  const r = new LocalReplica(opts);
  await r.load();
  return r;
}
