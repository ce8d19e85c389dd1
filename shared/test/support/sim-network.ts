/**
 * An in-process simulated network of venue-document replicas, after the idea of yjs's
 * `tests/testHelper.js` TestConnector (written anew here): every local transaction becomes a
 * message on each link of the sender; the test decides which message is delivered, dropped,
 * duplicated or held back, cuts and heals links, and repairs loss by state-vector anti-entropy.
 *
 * Topology mirrors production: the two central processes talk to each other; each gateway talks to
 * its home central only. Central validates every update that arrives from a gateway with
 * `validateUpdate` before applying it, as the server does; an honest update that is rejected is
 * recorded as a failure. `MISSING_DEPENDENCY` (the update builds on a message that has not arrived
 * yet) is not a verdict on honesty: central drops it and relies on the next sync, as y-websocket's
 * sync step 2 would repair it.
 *
 * Optionally every node carries an Automerge document mirroring its replica's counter entries; the
 * Automerge changes of a transaction travel in the same message as its Yjs update, so both systems
 * are merged on exactly the same schedule (the differential oracle).
 */
import * as Y from 'yjs';
import * as A from '@automerge/automerge';
import { encodeOwnDiff, isOrigin, validateUpdate, type ReplicaId, type VenueDoc, type MealId, type FridgeId } from '@fridgesync/shared';
import { newDoc } from './fixtures.ts';

export type NodeName = 'c1' | 'c2' | 'g1' | 'g2';
export const NODE_NAMES: readonly NodeName[] = ['c1', 'c2', 'g1', 'g2'];
export type LinkName = 'c1c2' | 'g1c1' | 'g2c2';
export const LINKS: readonly LinkName[] = ['c1c2', 'g1c1', 'g2c2'];
const LINK_ENDS: Record<LinkName, [NodeName, NodeName]> = { c1c2: ['c1', 'c2'], g1c1: ['g1', 'c1'], g2c2: ['g2', 'c2'] };

/** Automerge mirror document: per replica and meal, `inc` and `dec` counters. */
export type AmDoc = A.Doc<Record<string, A.Counter>>;

/** A replica in the simulation. */
export interface SimNode {
  name: NodeName;
  replica: ReplicaId;
  doc: VenueDoc;
  central: boolean;
  am: AmDoc | undefined;
  /** Last mirrored own counter values per meal (to compute the Automerge deltas). */
  mirrored: Map<string, [number, number]>;
}

/** A sync message in flight. */
export interface SyncMsg {
  from: NodeName;
  to: NodeName;
  /** The sending replica (a gateway's epoch may change while the message is in flight). */
  sender: ReplicaId;
  update: Uint8Array;
  am: Uint8Array[];
}

/** Counts for the report. */
export interface NetStats {
  delivered: number;
  dropped: number;
  duplicated: number;
  validated: number;
  deferred: number;
  syncs: number;
}

const peerOrigin = (from: NodeName) => ({ kind: 'upstream' as const, peer: from });

export class SimNetwork {
  readonly nodes = new Map<NodeName, SimNode>();
  /** Directed link `a>b` → FIFO queue. */
  readonly queues = new Map<string, SyncMsg[]>();
  /** Messages delivered (for duplicates and replay checks), bounded. */
  readonly delivered: SyncMsg[] = [];
  readonly cut = new Set<LinkName>();
  readonly failures: string[] = [];
  readonly stats: NetStats = { delivered: 0, dropped: 0, duplicated: 0, validated: 0, deferred: 0, syncs: 0 };
  /** Yjs client ids registered per gateway replica (the server learns them at the handshake). */
  readonly registered = new Map<ReplicaId, Set<number>>();
  /** The message being applied (its Automerge part and source, for central's relay). */
  private relaying: { from: NodeName; am: Uint8Array[] } | undefined;

  constructor(
    readonly fridge: FridgeId,
    readonly meals: readonly MealId[],
    readonly oracle: boolean,
  ) {}

  /** Adds a node; `base` is an encoded state every node starts from (already synced). */
  addNode(name: NodeName, replica: ReplicaId, clientID: number, base: Uint8Array | undefined, am: AmDoc | undefined): SimNode {
    const doc = newDoc(replica);
    if (base !== undefined) doc.applyUpdate(base, { kind: 'storage-load' });
    // Set after loading: Yjs renames a client that sees its own id arrive from elsewhere.
    doc.ydoc.clientID = clientID;
    const node: SimNode = { name, replica, doc, central: name.startsWith('c'), am: this.oracle ? am : undefined, mirrored: new Map() };
    this.snapshotMirror(node);
    if (!node.central) this.registered.set(replica, new Set([clientID]));
    doc.ydoc.on('update', (u: Uint8Array, origin: unknown) => {
      if (isOrigin(origin, 'storage-load')) return;
      if (isOrigin(origin, 'upstream')) {
        // Central relays what it integrated to its other peers (y-websocket does the same); the
        // Automerge changes of the message travel with it. A duplicate integrates nothing: no event.
        const r = this.relaying;
        if (node.central && r !== undefined) this.broadcast(node, u, r.am, r.from);
        return;
      }
      this.broadcast(node, u, this.mirrorToAutomerge(node), undefined);
    });
    this.nodes.set(name, node);
    return node;
  }

  node(name: NodeName): SimNode {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  /** Removes a node and everything in flight to or from it (a gateway whose store was lost). */
  kill(name: NodeName): void {
    this.nodes.delete(name);
    for (const k of [...this.queues.keys()]) if (k.startsWith(name + '>') || k.endsWith('>' + name)) this.queues.delete(k);
  }

  private peers(name: NodeName): NodeName[] {
    const out: NodeName[] = [];
    for (const l of LINKS) {
      const [a, b] = LINK_ENDS[l];
      if (a === name) out.push(b);
      else if (b === name) out.push(a);
    }
    return out.filter((p) => this.nodes.has(p));
  }

  private linkOf(a: NodeName, b: NodeName): LinkName {
    for (const l of LINKS) {
      const [x, y] = LINK_ENDS[l];
      if ((x === a && y === b) || (x === b && y === a)) return l;
    }
    throw new Error(`no link ${a}-${b}`);
  }

  private broadcast(node: SimNode, update: Uint8Array, am: Uint8Array[], except: NodeName | undefined): void {
    for (const p of this.peers(node.name)) {
      if (p === except) continue;
      if (this.cut.has(this.linkOf(node.name, p))) continue; // the connection is down: lost
      const m: SyncMsg = { from: node.name, to: p, sender: node.replica, update, am };
      const k = `${node.name}>${p}`;
      let q = this.queues.get(k);
      if (q === undefined) this.queues.set(k, (q = []));
      q.push(m);
    }
  }

  /** Directed links with messages in flight. */
  busy(): SyncMsg[][] {
    const out: SyncMsg[][] = [];
    for (const q of this.queues.values()) if (q.length > 0) out.push(q);
    return out;
  }

  /**
   * Delivers the oldest message of the `i`-th busy directed link. Each connection is FIFO (a
   * websocket is); messages on different links overtake each other freely.
   */
  deliver(i: number): void {
    const busy = this.busy();
    if (busy.length === 0) return;
    const q = busy[i % busy.length]!;
    const m = q.shift()!;
    this.apply(m);
    if (this.delivered.length < 256) this.delivered.push(m);
  }

  /** Delivers a message already delivered once again (an at-least-once duplicate), late. */
  duplicate(i: number): void {
    if (this.delivered.length === 0) return;
    this.stats.duplicated++;
    this.apply(this.delivered[i % this.delivered.length]!);
  }

  /**
   * The connection of `link` breaks: everything in flight on it is lost and the link stays down
   * until a sync on it (y-websocket reconnects with sync step 1/2 before sending new updates).
   */
  drop(link: LinkName): void {
    const [a, b] = LINK_ENDS[link];
    for (const k of [`${a}>${b}`, `${b}>${a}`]) {
      this.stats.dropped += this.queues.get(k)?.length ?? 0;
      this.queues.delete(k);
    }
    this.cut.add(link);
  }

  /** Delivers everything in flight from `a` to `b`, in order. */
  flushLink(a: NodeName, b: NodeName): void {
    const q = this.queues.get(`${a}>${b}`);
    while (q !== undefined && q.length > 0) this.apply(q.shift()!);
  }

  /** Delivers everything in flight, choosing the link with `pick`, until empty. */
  flush(pick: (n: number) => number = () => 0, limit = 100_000): void {
    let n = 0;
    for (let busy = this.busy().length; busy > 0; busy = this.busy().length) {
      if (++n > limit) throw new Error('network does not settle');
      this.deliver(pick(busy));
    }
  }

  private apply(m: SyncMsg): void {
    const to = this.nodes.get(m.to);
    if (to === undefined) return;
    if (this.cut.has(this.linkOf(m.from, m.to))) {
      this.stats.dropped++;
      return;
    }
    if (to.central && !m.from.startsWith('c')) {
      if (!this.admit(to, m.sender, m.update, 'incremental')) return;
    }
    this.stats.delivered++;
    this.receive(to, m.from, m.update, m.am);
  }

  private receive(to: SimNode, from: NodeName, update: Uint8Array, am: Uint8Array[]): void {
    if (to.am !== undefined && am.length > 0) [to.am] = A.applyChanges(to.am, am);
    this.relaying = { from, am };
    try {
      to.doc.applyUpdate(update, peerOrigin(from));
    } finally {
      this.relaying = undefined;
    }
  }

  /** Central's check of an update from a gateway; false when it must not be applied. */
  private admit(central: SimNode, sender: ReplicaId, update: Uint8Array, what: string): boolean {
    this.stats.validated++;
    const before = Y.encodeStateVector(central.doc.ydoc);
    const v = validateUpdate(central.doc, update, { replica: sender, clients: this.registered.get(sender) ?? new Set() });
    const after = Y.encodeStateVector(central.doc.ydoc);
    if (Buffer.compare(Buffer.from(before), Buffer.from(after)) !== 0) this.failures.push('validateUpdate modified the live document');
    if (v.ok) return true;
    if (v.code === 'MISSING_DEPENDENCY') {
      this.stats.deferred++;
      return false;
    }
    this.failures.push(`honest ${what} update from ${sender} rejected at ${central.name}: ${v.code} ${v.reason}`);
    return false;
  }

  /**
   * Anti-entropy over one link in both directions (y-websocket sync step 1/2). A gateway answers
   * with only its own writes (its state vector diff restricted to its client ids; the delete set is
   * the full one Yjs encodes), which is what an honest gateway sends.
   */
  sync(link: LinkName): void {
    this.cut.delete(link);
    const [a, b] = LINK_ENDS[link];
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    if (na === undefined || nb === undefined) return;
    this.stats.syncs++;
    this.pull(na, nb);
    this.pull(nb, na);
  }

  /** `to` receives from `from` everything it lacks. */
  pull(to: SimNode, from: SimNode): void {
    let update: Uint8Array;
    let am: Uint8Array[] = [];
    if (from.central) {
      update = Y.encodeStateAsUpdate(from.doc.ydoc, Y.encodeStateVector(to.doc.ydoc));
      if (to.am !== undefined && from.am !== undefined) am = A.getAllChanges(from.am); // duplicates are ignored
    } else {
      update = encodeOwnDiff(from.doc.ydoc, Y.encodeStateVector(to.doc.ydoc), this.registered.get(from.replica) ?? new Set<number>());
      if (to.am !== undefined && from.am !== undefined) {
        const actor = A.getActorId(from.am);
        am = A.getAllChanges(from.am).filter((c) => A.decodeChange(c).actor === actor);
      }
      if (to.central && !this.admit(to, from.replica, update, 'sync')) return;
    }
    this.receive(to, from.name, update, am);
  }

  /**
   * Quiescence: heals every link, delivers everything in flight, and runs anti-entropy until every
   * node holds the same state (same state vector, same number of live entries, nothing pending).
   */
  settle(): void {
    const healed = this.cut.size > 0;
    this.cut.clear();
    for (let round = 0; round < 8; round++) {
      this.flush();
      if (!healed || round > 0) if (this.converged()) return;
      for (const l of LINKS) this.sync(l);
    }
    throw new Error('anti-entropy does not reach a fixpoint');
  }

  /** True when all nodes hold the same structs and live entries and nothing is pending. */
  converged(): boolean {
    let first: string | undefined;
    for (const n of this.nodes.values()) {
      if (yjsPending(n.doc)) return false;
      const f = Buffer.from(Y.encodeStateVector(n.doc.ydoc)).toString('base64') + ':' + liveCount(n.doc);
      if (first === undefined) first = f;
      else if (f !== first) return false;
    }
    return true;
  }

  /** A node's state: its state vector and live entry count (with no pending, equal states mean equal documents). */
  stateOf(n: SimNode): string {
    return Buffer.from(Y.encodeStateVector(n.doc.ydoc)).toString('base64') + ':' + liveCount(n.doc) + (yjsPending(n.doc) ? ':pending' : '');
  }

  /** State vectors of all nodes (changes whenever any node learns anything new). */
  fingerprint(): string {
    const parts: string[] = [];
    for (const [name, n] of this.nodes) parts.push(name + ':' + Buffer.from(Y.encodeStateVector(n.doc.ydoc)).toString('base64') + ':' + n.doc.index.replicaEntryCount.size);
    return parts.join('|');
  }

  /** Copies the node's own counter values as the baseline of the Automerge mirror. */
  private snapshotMirror(node: SimNode): void {
    for (const meal of this.meals) {
      const v = node.doc.get(node.replica, `c/${this.fridge}/${meal}`) as [number, number] | undefined;
      node.mirrored.set(meal, v ?? [0, 0]);
    }
  }

  /** Mirrors the node's own counter increments and decrements since the last call into its Automerge document. */
  private mirrorToAutomerge(node: SimNode): Uint8Array[] {
    if (node.am === undefined) return [];
    const deltas: Array<[string, number]> = [];
    for (const meal of this.meals) {
      const v = (node.doc.get(node.replica, `c/${this.fridge}/${meal}`) as [number, number] | undefined) ?? [0, 0];
      const prev = node.mirrored.get(meal) ?? [0, 0];
      if (v[0] !== prev[0]) deltas.push([`${node.replica}|${meal}|inc`, v[0] - prev[0]]);
      if (v[1] !== prev[1]) deltas.push([`${node.replica}|${meal}|dec`, v[1] - prev[1]]);
      node.mirrored.set(meal, v);
    }
    if (deltas.length === 0) return [];
    node.am = A.change(node.am, (d) => {
      for (const [k, delta] of deltas) {
        const c = d[k];
        if (c === undefined) d[k] = new A.Counter(delta);
        else c.increment(delta);
      }
    });
    const ch = A.getLastLocalChange(node.am);
    return ch === undefined ? [] : [ch];
  }
}

/** `S` per meal from an Automerge mirror: Σ inc − Σ dec over all replicas. */
export function automergeSellable(am: AmDoc, meal: MealId): number {
  let s = 0;
  for (const [k, v] of Object.entries(am)) {
    const [, m, kind] = k.split('|');
    if (m !== meal) continue;
    s += (kind === 'inc' ? 1 : -1) * Number(v);
  }
  return s;
}

/** True when the Automerge mirror holds changes it cannot apply yet. */
export function automergePending(am: AmDoc): boolean {
  return A.getMissingDeps(am, []).length > 0;
}

/** True when the Yjs document holds structs or deletions it cannot integrate yet. */
export function yjsPending(doc: VenueDoc): boolean {
  return doc.ydoc.store.pendingStructs !== null || doc.ydoc.store.pendingDs !== null;
}

/** Live entries over all replicas (changes on deletions, which the state vector does not show). */
function liveCount(doc: VenueDoc): number {
  let n = 0;
  for (const c of doc.index.replicaEntryCount.values()) n += c;
  return n;
}
