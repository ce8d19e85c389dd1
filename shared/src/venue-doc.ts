/**
 * The venue document: one Yjs document per venue in which every replica writes only into its own
 * top-level array `r:<replicaId>` (docs/design.md "Replicas and the venue document": single-writer structures, created by name, so two
 * replicas never create the same nested type). Each array is a *keyed log*: setting a key appends
 * `[key, value]` and deletes the key's previous item. Deleted runs of one writer's consecutive items
 * merge into one tombstone, so the encoded size follows the live entries, not the history (the
 * overwrite-growth pitfall of `Y.Map`, see docs/benchmarks.md for the measurement).
 *
 * The materialiser below watches every transaction (before Yjs garbage-collects deleted content),
 * keeps the live entries of every replica and feeds their joined values to a {@link VenueIndex}.
 */
import * as Y from 'yjs';
import { isReplicaId, type ReplicaId } from './ids.ts';
import { joinValues, parseKey, type EntryKey } from './entries.ts';
import { VenueIndex, type ChangeSummary } from './venue-index.ts';
import type { TxOrigin } from './origins.ts';

/** Prefix of every replica's top-level array. */
export const ROOT_PREFIX = 'r:';

/** The top-level array name of a replica. */
export function rootName(replica: ReplicaId): string {
  return ROOT_PREFIX + replica;
}

/** The replica owning a top-level name, or `undefined` if the name is not a replica root. */
export function replicaOfRoot(name: string): ReplicaId | undefined {
  if (!name.startsWith(ROOT_PREFIX)) return undefined;
  const r = name.slice(ROOT_PREFIX.length);
  return isReplicaId(r) ? r : undefined;
}

interface LiveEntry {
  key: EntryKey;
  value: unknown;
  /** Yjs ids `[client, clock]` of the live items holding this key (normally one). */
  ids: Array<[number, number]>;
}

/** Listener for document changes, called once per transaction that touched entries. */
export type ChangeListener = (summary: ChangeSummary, origin: unknown, tr: Y.Transaction) => void;

/** Options of {@link VenueDoc}. */
export interface VenueDocOptions {
  /** This process's replica, or `undefined` for a read-only view (dashboard, validator tests). */
  replica?: ReplicaId;
  /** Use this Y.Doc (must be empty); a fresh one by default. */
  ydoc?: Y.Doc;
}

/** A venue document with its materialised index and a writer for the local replica's entries. */
export class VenueDoc {
  readonly ydoc: Y.Doc;
  readonly index = new VenueIndex();
  /** The local replica, if this process writes. */
  replica: ReplicaId | undefined;
  /** replica → key → live entry */
  private readonly live = new Map<string, Map<string, LiveEntry>>();
  /** replica → Yjs client ids seen writing into its root */
  private readonly clients = new Map<string, Set<number>>();
  /** client id → replica (first root it wrote into) */
  private readonly clientOwner = new Map<number, ReplicaId>();
  private readonly rootOfType = new WeakMap<object, ReplicaId | null>();
  private readonly listeners = new Set<ChangeListener>();

  constructor(opts: VenueDocOptions = {}) {
    this.ydoc = opts.ydoc ?? new Y.Doc({ gc: true });
    this.replica = opts.replica;
    this.ydoc.on('afterTransaction', (tr: Y.Transaction) => this.materialise(tr));
  }

  /** Subscribes to changes; returns an unsubscribe function. */
  onChange(l: ChangeListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The joined live value of `key` in `replica`'s log. */
  get(replica: ReplicaId, key: string): unknown {
    return this.live.get(replica)?.get(key)?.value;
  }

  /** The live entries of a replica (key → value). */
  entriesOf(replica: ReplicaId): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [k, e] of this.live.get(replica) ?? []) out.set(k, e.value);
    return out;
  }

  /** Replicas that have written at least one live entry. */
  replicas(): ReplicaId[] {
    return [...this.live.keys()].filter((r) => (this.live.get(r)?.size ?? 0) > 0) as ReplicaId[];
  }

  /** Yjs client ids that have written into `replica`'s root. */
  clientsOf(replica: ReplicaId): ReadonlySet<number> {
    return this.clients.get(replica) ?? new Set();
  }

  /** The replica a Yjs client id wrote for, if it wrote anything. */
  ownerOfClient(client: number): ReplicaId | undefined {
    return this.clientOwner.get(client);
  }

  /** True when the document holds every struct of `client` below `clock`. */
  hasState(client: number, clock: number): boolean {
    return Y.getState(this.ydoc.store, client) >= clock;
  }

  /** Applies a remote or stored update (v1) under an origin. */
  applyUpdate(update: Uint8Array, origin: TxOrigin): void {
    Y.applyUpdate(this.ydoc, update, origin);
  }

  /**
   * Runs `fn` in one Yjs transaction tagged with `origin`, giving it a writer for the local
   * replica's log. Throws if this document has no local replica.
   */
  transact<T>(origin: TxOrigin, fn: (w: EntryWriter) => T): T {
    const replica = this.replica;
    if (replica === undefined) throw new Error('read-only venue document: no local replica');
    // Nested in a transaction already open here: one Yjs transaction, so one writer (its pending
    // items are what a nested `set` of the same key must delete). The outer origin stands.
    const open = this.writer;
    if (open !== undefined && this.ydoc._transaction === open.tr) return fn(open);
    let out!: T;
    this.ydoc.transact((tr) => {
      const w = new EntryWriter(this, replica, tr);
      this.writer = w;
      try {
        out = fn(w);
      } finally {
        this.writer = undefined;
        w.deleteReplaced();
      }
    }, origin);
    return out;
  }
  /** The writer of the transaction `transact` has open, if any. */
  private writer: EntryWriter | undefined;

  /** @internal live entry of the local replica (for the writer). */
  liveEntry(replica: ReplicaId, key: string): LiveEntry | undefined {
    return this.live.get(replica)?.get(key);
  }

  /** The replica owning a (root) type, cached. */
  private replicaOfType(type: Y.AbstractType<unknown>): ReplicaId | undefined {
    const cached = this.rootOfType.get(type);
    if (cached !== undefined) return cached ?? undefined;
    let found: ReplicaId | null = null;
    if (type._item === null) {
      for (const [name, t] of this.ydoc.share) {
        if (t === type) {
          found = replicaOfRoot(name) ?? null;
          break;
        }
      }
    }
    this.rootOfType.set(type, found);
    return found ?? undefined;
  }

  private materialise(tr: Y.Transaction): void {
    // The document's state changed (even without entries): memoised folds are stale.
    this.index.generation++;
    const store = this.ydoc.store;
    const touched = new Map<string, Set<string>>();
    // Deletions first: a "set" deletes the old item and adds the new one in one transaction.
    Y.iterateDeletedStructs(tr, tr.deleteSet, (struct) => {
      if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentAny)) return;
      if (struct.id.clock >= (tr.beforeState.get(struct.id.client) ?? 0)) return; // added and deleted in this transaction
      const replica = this.replicaOfType(struct.parent as Y.AbstractType<unknown>);
      if (replica === undefined) return;
      const arr = struct.content.arr;
      for (let k = 0; k < arr.length; k++) this.removeLive(replica, arr[k], struct.id.client, struct.id.clock + k, touched);
    });
    tr.afterState.forEach((clock, client) => {
      const before = tr.beforeState.get(client) ?? 0;
      if (clock <= before) return;
      const structs = store.clients.get(client);
      if (structs === undefined) return;
      for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
        const s = structs[i];
        if (!(s instanceof Y.Item) || s.deleted || !(s.content instanceof Y.ContentAny)) continue;
        const replica = this.replicaOfType(s.parent as Y.AbstractType<unknown>);
        if (replica === undefined) continue;
        this.noteClient(replica, client);
        const arr = s.content.arr;
        for (let k = Math.max(0, before - s.id.clock); k < arr.length; k++) this.addLive(replica, arr[k], client, s.id.clock + k, touched);
      }
    });
    if (touched.size === 0) return;
    for (const [replica, ks] of touched) {
      const m = this.live.get(replica);
      for (const k of ks) {
        const e = m?.get(k);
        const key = e?.key ?? parseKey(k);
        if (key !== undefined) this.index.apply(replica as ReplicaId, key, e?.value);
      }
    }
    this.index.generation++;
    const summary = this.index.takeSummary();
    for (const l of this.listeners) l(summary, tr.origin, tr);
  }

  private noteClient(replica: ReplicaId, client: number): void {
    let set = this.clients.get(replica);
    if (set === undefined) this.clients.set(replica, (set = new Set()));
    set.add(client);
    if (!this.clientOwner.has(client)) this.clientOwner.set(client, replica);
  }

  private addLive(replica: ReplicaId, v: unknown, client: number, clock: number, touched: Map<string, Set<string>>): void {
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string') return;
    const k = v[0];
    const key = parseKey(k);
    if (key === undefined) return;
    let m = this.live.get(replica);
    if (m === undefined) this.live.set(replica, (m = new Map()));
    const e = m.get(k);
    if (e === undefined) {
      m.set(k, { key, value: v[1], ids: [[client, clock]] });
      this.index.countEntry(replica, 1);
    } else {
      e.value = joinValues(key.kind, e.value, v[1]);
      e.ids.push([client, clock]);
    }
    let t = touched.get(replica);
    if (t === undefined) touched.set(replica, (t = new Set()));
    t.add(k);
  }

  private removeLive(replica: ReplicaId, v: unknown, client: number, clock: number, touched: Map<string, Set<string>>): void {
    if (!Array.isArray(v) || typeof v[0] !== 'string') return;
    const k = v[0];
    const m = this.live.get(replica);
    const e = m?.get(k);
    if (m === undefined || e === undefined) return;
    const i = e.ids.findIndex(([c, cl]) => c === client && cl === clock);
    if (i < 0) return;
    e.ids.splice(i, 1);
    if (e.ids.length === 0) {
      m.delete(k);
      this.index.countEntry(replica, -1);
    }
    let t = touched.get(replica);
    if (t === undefined) touched.set(replica, (t = new Set()));
    t.add(k);
  }
}

/** Writes the local replica's entries inside one transaction. */
export class EntryWriter {
  private readonly pending = new Map<string, [number, number]>();
  constructor(
    readonly doc: VenueDoc,
    readonly replica: ReplicaId,
    readonly tr: Y.Transaction,
  ) {}

  /** The current joined value of one of the local replica's keys (including writes in this transaction). */
  get(key: string): unknown {
    return this.pendingValues.has(key) ? this.pendingValues.get(key) : this.doc.get(this.replica, key);
  }
  /** Values set (or deleted: `undefined`) in this transaction, not yet materialised. */
  private readonly pendingValues = new Map<string, unknown>();

  /**
   * Keys set or deleted in this transaction whose last `/`-separated part follows `prefix` (which
   * ends with `/`): e.g. every pending `x/<f>/<m>/<to>` for `x/<f>/<m>/`. O(answer), however many
   * keys the transaction holds.
   */
  pendingUnder(prefix: string): Iterable<string> {
    return this.pendingByPrefix.get(prefix) ?? [];
  }
  /** key prefix up to its last `/` → pending keys with that prefix */
  private readonly pendingByPrefix = new Map<string, Set<string>>();

  private notePending(key: string, value: unknown): void {
    if (!this.pendingValues.has(key)) {
      const prefix = key.slice(0, key.lastIndexOf('/') + 1);
      let set = this.pendingByPrefix.get(prefix);
      if (set === undefined) this.pendingByPrefix.set(prefix, (set = new Set()));
      set.add(key);
    }
    this.pendingValues.set(key, value);
  }

  /** Sets `key` to `value`: appends the new item and deletes the key's previous ones. */
  set(key: string, value: unknown): void {
    const ydoc = this.doc.ydoc;
    const root = ydoc.getArray<[string, unknown]>(rootName(this.replica));
    const clock = Y.getState(ydoc.store, ydoc.clientID);
    this.deleteItems(key);
    this.append(root, [key, value]);
    this.pending.set(key, [ydoc.clientID, clock]);
    this.notePending(key, value);
  }

  /**
   * Appends one entry at the end of the replica's log. `Y.Array.push` walks the whole list (live
   * items and tombstones) to find its end on every call; the end of a single-writer log is the
   * newest struct of this client, so after the first write of a session the append is O(1).
   */
  private append(root: Y.Array<[string, unknown]>, entry: [string, unknown]): void {
    const ydoc = this.doc.ydoc;
    const structs = ydoc.store.clients.get(ydoc.clientID);
    const last = structs?.[structs.length - 1];
    if (last instanceof Y.Item && last.parent === root && last.right === null) {
      const id = Y.createID(ydoc.clientID, Y.getState(ydoc.store, ydoc.clientID));
      new Y.Item(id, last, last.lastId, null, null, root, null, new Y.ContentAny([entry])).integrate(this.tr, 0);
    } else {
      root.push([entry]);
    }
  }

  /** Deletes `key` (prunes an entry). */
  delete(key: string): void {
    this.deleteItems(key);
    this.notePending(key, undefined);
  }

  /** Marks the key's current items for deletion at the end of the transaction. */
  private deleteItems(key: string): void {
    for (const id of this.doc.liveEntry(this.replica, key)?.ids ?? []) this.replaced.push(id);
    const p = this.pending.get(key);
    if (p !== undefined) {
      this.replaced.push(p);
      this.pending.delete(key);
    }
  }
  /** `[client, clock]` of items whose keys were set again or deleted in this transaction. */
  private replaced: Array<[number, number]> = [];

  /**
   * @internal Deletes the replaced items, once, when the transaction's function returns. Entries
   * written together sit in one merged Yjs item; deleting them one by one split that item twice
   * per entry (each split copies the item's content and shifts the client's struct list).
   * Deleting runs of consecutive clocks splits only at the ends of each run.
   */
  deleteReplaced(): void {
    if (this.replaced.length === 0) return;
    const ids = this.replaced.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.replaced = [];
    for (let i = 0; i < ids.length; ) {
      const [client, start] = ids[i]!;
      let end = start;
      let j = i + 1;
      while (j < ids.length && ids[j]![0] === client && ids[j]![1] <= end + 1) end = Math.max(end, ids[j++]![1]);
      this.deleteRun(client, start, end);
      i = j;
    }
  }

  /** Deletes the items of `client` covering clocks `start..end` (inclusive). */
  private deleteRun(client: number, start: number, end: number): void {
    const store = this.doc.ydoc.store;
    for (let clock = start; clock <= end; ) {
      const item = Y.getItemCleanStart(this.tr, Y.createID(client, clock));
      if (!item.deleted) {
        if (item.id.clock + item.length - 1 > end) Y.getItemCleanEnd(this.tr, store, Y.createID(client, end));
        item.delete(this.tr);
      }
      clock = item.id.clock + item.length;
    }
  }
}

/**
 * What `remoteStateVector` lacks of the given clients' structs (a `sync-step2` that carries only
 * the sender's own writes; docs/design.md "Replicas and the venue document": a replica never relays others' structures). Foreign
 * clients are treated as fully known, so their structs are left out; pending (not yet integrated)
 * content is left out; the delete set covers integrated items, and the receiver's validator accepts
 * entries for items it already has deleted.
 */
export function encodeOwnDiff(ydoc: Y.Doc, remoteStateVector: Uint8Array, ownClients: ReadonlySet<number>): Uint8Array {
  const remote = Y.decodeStateVector(remoteStateVector);
  const local = Y.decodeStateVector(Y.encodeStateVector(ydoc));
  const sv = new Map<number, number>(remote);
  for (const [client, clock] of local) if (!ownClients.has(client)) sv.set(client, Math.max(clock, remote.get(client) ?? 0));
  // `encodeStateAsUpdate` also appends the store's pending structs and deletions (content received
  // out of causal order, not yet integrated): foreign, and possibly deleting items the receiver does
  // not hold yet. They are left out for the duration of this synchronous call.
  const store = ydoc.store;
  const { pendingStructs, pendingDs } = store;
  store.pendingStructs = null;
  store.pendingDs = null;
  try {
    return Y.encodeStateAsUpdate(ydoc, Y.encodeStateVector(sv));
  } finally {
    store.pendingStructs = pendingStructs;
    store.pendingDs = pendingDs;
  }
}
