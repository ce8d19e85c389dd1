/**
 * The update validator (docs/design.md "Yjs pitfalls designed around"). Given an encoded Yjs update, the
 * sender's replica id and the Yjs client ids registered to it, it decides accept or reject without
 * touching the live document:
 *
 * - every struct is written by one of the sender's client ids and lands in the sender's own root
 *   `r:<sender>` (resolved through the explicit parent, or through its origins, in the update or in
 *   the document); content is JSON (`ContentAny`) or a tombstone, never a nested type;
 * - every value parses against its key's schema and the sender may write that key;
 * - per key, the sender only moves forward (counters and transfers grow, states climb their lattice)
 *   and deletes only what may be pruned;
 * - the sender's rights stay `≥ 0` for every fridge and meal it touched;
 * - increments (which create rights) from a replica that is not the fridge's reconciler by the fold,
 *   or beyond what observed stock allows (see {@link creationBound}), are accepted and *flagged*
 *   (docs/sync-protocol.md, "Rights creation beyond stock"): an honest gateway can send either
 *   after a partition, and a refused update would stop it syncing for good;
 * - deletions of other clients' items are accepted only when those items are already deleted here
 *   (full-state updates carry the whole delete set; such entries change nothing).
 */
import * as Y from 'yjs';
import { replicaParts, type FridgeId, type MealId, type ReplicaId } from './ids.ts';
import { checkValue, holdTooLong, isForwardStep, joinValues, MAX_HOLD_SECONDS, parseKey, STATE_CODE, type EntryKey, type OrderValue, type SnapshotValue } from './entries.ts';
import { currentGatewayReplica, currentReconciler, isRetired, mayRetire, reservedByMeal, rightsOf, sellable } from './fold.ts';
import { rootName, VenueDoc } from './venue-doc.ts';

/** Why an update was rejected. */
export type RejectCode =
  | 'MALFORMED'
  | 'FOREIGN_CLIENT'
  | 'FOREIGN_STRUCTURE'
  | 'BAD_CONTENT'
  | 'BAD_VALUE'
  | 'NOT_PERMITTED'
  | 'NOT_FORWARD'
  | 'RIGHTS_NEGATIVE'
  | 'FOREIGN_DELETE'
  | 'MISSING_DEPENDENCY'
  | 'RETIRED'
  | 'HOLD_TOO_LONG';

/** Why an accepted update's rights creation was flagged (docs/sync-protocol.md, "Rights creation beyond stock"). */
export type RightsFlagCode = 'NOT_RECONCILER' | 'OVER_STOCK';

/** One flagged increment of an accepted update. */
export interface RightsFlag {
  code: RightsFlagCode;
  fridge: FridgeId;
  meal: MealId;
  reason: string;
}

/** The validator's verdict; `flags` lists increments accepted beyond what the sender should create. */
export type Verdict = { ok: true; entries: number; deletions: number; flags: RightsFlag[] } | { ok: false; code: RejectCode; reason: string };

const reject = (code: RejectCode, reason: string): Verdict => ({ ok: false, code, reason });

/** The sender of an update. */
export interface Sender {
  replica: ReplicaId;
  /** Yjs client ids registered to this replica (by its handshake and by the document). */
  clients: ReadonlySet<number>;
}

type AnyStruct = Y.Item | Y.GC | Y.Skip;
type DeleteSet = ReturnType<typeof Y.createDeleteSet>;

class Rejection extends Error {
  constructor(
    readonly code: RejectCode,
    reason: string,
  ) {
    super(reason);
  }
}

/** Validates `update` (Yjs v1 encoding) from `sender` against `doc`. Never modifies `doc`. */
export function validateUpdate(doc: VenueDoc, update: Uint8Array, sender: Sender): Verdict {
  let decoded: { structs: AnyStruct[]; ds: DeleteSet };
  try {
    decoded = Y.decodeUpdate(update) as { structs: AnyStruct[]; ds: DeleteSet };
  } catch (e) {
    return reject('MALFORMED', `cannot decode update: ${(e as Error).message}`);
  }
  try {
    return check(doc, update, decoded.structs, decoded.ds, sender);
  } catch (e) {
    if (e instanceof Rejection) return reject(e.code, e.message);
    return reject('MALFORMED', `invalid update: ${(e as Error).message}`);
  }
}

function check(doc: VenueDoc, update: Uint8Array, structs: AnyStruct[], ds: DeleteSet, sender: Sender): Verdict {
  const own = rootName(sender.replica);
  const store = doc.ydoc.store;
  const retiredSv = retirementLimit(doc, sender.replica);
  // Index the update's structs by client for origin resolution inside the update.
  const byClient = new Map<number, AnyStruct[]>();
  for (const s of structs) {
    let arr = byClient.get(s.id.client);
    if (arr === undefined) byClient.set(s.id.client, (arr = []));
    arr.push(s);
  }
  const inUpdate = (id: Y.ID): AnyStruct | undefined => byClient.get(id.client)?.find((s) => id.clock >= s.id.clock && id.clock < s.id.clock + s.length);
  const rootMemo = new Map<AnyStruct, string>();
  const rootOfId = (id: Y.ID, depth: number): string => {
    const u = inUpdate(id);
    if (u !== undefined) return rootOfStruct(u, depth + 1);
    if (Y.getState(store, id.client) <= id.clock) throw new Rejection('MISSING_DEPENDENCY', `origin ${id.client}:${id.clock} is unknown here`);
    const s = Y.getItem(store, id) as AnyStruct;
    if (!(s instanceof Y.Item)) throw new Rejection('FOREIGN_STRUCTURE', `origin ${id.client}:${id.clock} is garbage-collected`);
    const parent = s.parent as Y.AbstractType<unknown> | null;
    if (parent === null || parent._item !== null) throw new Rejection('FOREIGN_STRUCTURE', 'origin inside a nested type');
    return Y.findRootTypeKey(parent);
  };
  const rootOfStruct = (s: AnyStruct, depth: number): string => {
    if (depth > 10_000) throw new Rejection('MALFORMED', 'origin chain too deep');
    const memo = rootMemo.get(s);
    if (memo !== undefined) return memo;
    if (!(s instanceof Y.Item)) throw new Rejection('FOREIGN_STRUCTURE', 'origin is not an item');
    let root: string;
    if (typeof s.parent === 'string') {
      if (s.parentSub !== null) throw new Rejection('FOREIGN_STRUCTURE', 'map entries are not part of the layout');
      root = s.parent;
    } else if (s.parent !== null) {
      throw new Rejection('FOREIGN_STRUCTURE', 'nested types are not part of the layout');
    } else {
      const o = s.origin ?? s.rightOrigin;
      if (o === null) throw new Rejection('MALFORMED', 'item without parent or origin');
      root = rootOfId(o, depth);
    }
    rootMemo.set(s, root);
    return root;
  };

  const added = new Map<string, { key: EntryKey; values: unknown[]; ids: Array<[number, number]> }>();
  let entries = 0;
  for (const s of structs) {
    if (s instanceof Y.Skip) continue;
    // Structs (or their leading part) this document already holds are skipped by Yjs and change
    // nothing: a duplicated or replayed update must be accepted, not judged against newer values.
    const known = Math.max(0, Y.getState(store, s.id.client) - s.id.clock);
    if (known >= s.length) continue;
    if (!sender.clients.has(s.id.client)) throw new Rejection('FOREIGN_CLIENT', `struct ${s.id.client}:${s.id.clock} is not from a client of ${sender.replica}`);
    if (retiredSv !== undefined && s.id.clock + s.length > (retiredSv.get(s.id.client) ?? 0)) {
      throw new Rejection('RETIRED', `${sender.replica} is retired; it may not write after its retirement`);
    }
    if (s instanceof Y.GC) continue;
    const content = s.content;
    if (!(content instanceof Y.ContentAny) && !(content instanceof Y.ContentDeleted)) {
      throw new Rejection('BAD_CONTENT', `content type ${content.constructor.name} is not part of the layout`);
    }
    const root = rootOfStruct(s, 0);
    if (root !== own) throw new Rejection('FOREIGN_STRUCTURE', `write into ${root} by ${sender.replica}`);
    for (const o of [s.origin, s.rightOrigin]) if (o !== null && rootOfId(o, 0) !== own) throw new Rejection('FOREIGN_STRUCTURE', `origin in ${rootOfId(o, 0)}`);
    if (content instanceof Y.ContentAny) {
      content.arr.forEach((v, i) => {
        if (i < known) return;
        if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string') throw new Rejection('BAD_VALUE', 'entry is not [key, value]');
        const key = parseKey(v[0]);
        if (key === undefined) throw new Rejection('BAD_VALUE', `unknown key ${JSON.stringify(v[0]).slice(0, 80)}`);
        const bad = checkValue(key, v[1]);
        if (bad !== undefined) throw new Rejection('BAD_VALUE', `${v[0]}: ${bad}`);
        if (key.kind === 'order' && holdTooLong(v[1] as OrderValue)) throw new Rejection('HOLD_TOO_LONG', `${v[0]}: hold more than ${MAX_HOLD_SECONDS} s after creation`);
        permitted(sender.replica, key);
        let a = added.get(v[0]);
        if (a === undefined) added.set(v[0], (a = { key, values: [], ids: [] }));
        a.values.push(v[1]);
        a.ids.push([s.id.client, s.id.clock + i]);
        entries++;
      });
    }
  }

  // Deletions.
  const deleted = new Map<string, Array<[number, number]>>();
  let deletions = 0;
  for (const [client, ranges] of ds.clients) {
    const mine = sender.clients.has(client);
    for (const { clock, len } of ranges) {
      forEachStructIn(store, client, clock, len, (s, from, to) => {
        if (!mine) {
          if (!s.deleted) throw new Rejection('FOREIGN_DELETE', `deletion of ${client}:${from} owned by another replica`);
          return;
        }
        if (s.deleted || !(s instanceof Y.Item) || !(s.content instanceof Y.ContentAny)) return;
        for (let c = from; c < to; c++) {
          const v = s.content.arr[c - s.id.clock] as [string, unknown];
          let d = deleted.get(v[0]);
          if (d === undefined) deleted.set(v[0], (d = []));
          d.push([client, c]);
          deletions++;
        }
      }, (missingFrom) => {
        // Not here: only the sender's own items may still be arriving in this very update.
        if (!mine) throw new Rejection('FOREIGN_DELETE', `deletion of unknown ${client}:${missingFrom}`);
      });
    }
  }

  // Per-key forward steps, pruning rules, and rights.
  const touchedCells = new Map<string, [FridgeId, MealId]>();
  /** `x/<f>/<m>/` → transfer targets the update sets (so a cell's check is O(its targets)) */
  const addedTargets = new Map<string, Set<string>>();
  /** Cells whose counter the update increments, with the sender's net change of `S` there. */
  const incremented: Array<[FridgeId, MealId, number]> = [];
  /** Per fridge and meal, the largest total in the snapshots the update carries. */
  const updatePeak = new Map<FridgeId, Map<MealId, number>>();
  for (const k of new Set([...added.keys(), ...deleted.keys()])) {
    const key = parseKey(k);
    if (key === undefined) continue;
    const prev = doc.get(sender.replica, k);
    const a = added.get(k);
    const liveIds = liveIdsOf(doc, sender.replica, k).filter(
      ([c, cl]) => !(deleted.get(k) ?? []).some(([dc, dcl]) => dc === c && dcl === cl),
    );
    const survivingNew = (a?.values ?? []).filter((_, i) => !isDeletedInUpdate(ds, a!.ids[i]!));
    if (liveIds.length === 0 && survivingNew.length === 0 && prev !== undefined && !prunable(key, prev)) {
      throw new Rejection('NOT_FORWARD', `${k} may not be deleted`);
    }
    if (prev !== undefined) for (const v of a?.values ?? []) if (!isForwardStep(key.kind, prev, v)) throw new Rejection('NOT_FORWARD', `${k} moves backwards`);
    if (key.kind === 'counter' && a !== undefined) {
      const before = (prev as [number, number] | undefined) ?? [0, 0];
      const next = a.values.reduce((x, y) => joinValues('counter', x, y), before) as [number, number];
      if (next[0] > before[0]) {
        if (!sender.replica.startsWith('gw:')) throw new Rejection('NOT_PERMITTED', 'only gateways increment stock');
        incremented.push([key.fridge, key.meal, next[0] - before[0] - (next[1] - before[1])]);
      }
    }
    if (key.kind === 'snapshot' && a !== undefined) {
      let peak = updatePeak.get(key.fridge);
      if (peak === undefined) updatePeak.set(key.fridge, (peak = new Map()));
      for (const v of a.values) for (const [meal, n] of Object.entries((v as SnapshotValue).i)) if (n > (peak.get(meal as MealId) ?? 0)) peak.set(meal as MealId, n);
    }
    if ((key.kind === 'counter' || key.kind === 'xfer') && a !== undefined) touchedCells.set(`${key.fridge}/${key.meal}`, [key.fridge, key.meal]);
    if (key.kind === 'xfer' && a !== undefined) {
      const prefix = `x/${key.fridge}/${key.meal}/`;
      let set = addedTargets.get(prefix);
      if (set === undefined) addedTargets.set(prefix, (set = new Set()));
      set.add(key.to);
    }
  }
  let after: VenueDoc | undefined;
  const afterDoc = () => (after ??= stateAfter(doc, update));
  /** `R` per fridge before the update, folded once per fridge however many meals it increments. */
  const reservedCache = new Map<FridgeId, Map<MealId, number>>();
  const flags: RightsFlag[] = [];
  for (const [f, m, dS] of incremented) {
    // Rights are expected only where the fold makes the sender the fridge's reconciler
    // (docs/sync-protocol.md, "Rights creation beyond stock"): judged on the state after the
    // update, which may carry the sender's first entries or its retirement of a predecessor epoch;
    // the copy is made only when the live document does not already say so. Otherwise the update is
    // accepted and flagged: a gateway reassigned while offline increments honestly too.
    if (currentReconciler(doc, f) !== sender.replica && !formerReconciler(doc, sender.replica, f, m) && currentReconciler(afterDoc(), f) !== sender.replica) {
      flags.push({ code: 'NOT_RECONCILER', fridge: f, meal: m, reason: `${sender.replica} is not the reconciler of ${f} and increments ${f}/${m}` });
    }
    const over = creationBound(doc, f, m, dS, updatePeak.get(f)?.get(m) ?? 0, afterDoc, reservedCache);
    if (over !== undefined) flags.push({ code: 'OVER_STOCK', fridge: f, meal: m, reason: over });
  }
  for (const [f, m] of touchedCells.values()) {
    const own = ownPartAfter(doc, sender.replica, f, m, added, addedTargets);
    if (rightsOf(doc, sender.replica, f, m, own) >= 0) continue;
    // The update may itself carry what gives the sender these rights: a successor's retirement of
    // its predecessor (the retired rights flow to it as reconciler) sent together with the
    // decrement that uses them, as a sync step 2 does. Decide on the state after the update, in a
    // scratch copy (only on this rare path; the live document is never touched).
    if (rightsOf(afterDoc(), sender.replica, f, m) < 0) throw new Rejection('RIGHTS_NEGATIVE', `rights of ${sender.replica} for ${f}/${m} would be negative`);
  }
  return { ok: true, entries, deletions, flags };
}

/**
 * True when `replica` created rights for the cell before (so it was the fridge's reconciler then)
 * and is still its gateway's current epoch: an operator may have assigned the fridge to another
 * gateway while this one was offline and kept correcting; refusing those corrections would refuse
 * its every resync. Its increments stay within the stock bound, and it stops once it learns of the
 * new assignment. A superseded epoch is not current, so it gains nothing here.
 */
function formerReconciler(doc: VenueDoc, replica: ReplicaId, f: FridgeId, m: MealId): boolean {
  const own = doc.get(replica, `c/${f}/${m}`) as [number, number] | undefined;
  if (own === undefined || own[0] === 0) return false;
  const p = replicaParts(replica);
  return p.kind === 'gateway' && currentGatewayReplica(doc, p.gatewayId) === replica;
}

/**
 * The bound on creating rights (docs/sync-protocol.md, "Rights creation beyond stock"): after the
 * update, `S + R ≤ T_hi`, where `T_hi` is the largest total for the meal in any snapshot the
 * document holds (every replica's latest), the update carries (the sender's snapshots sent with the
 * increment), or the document held and saw replaced since it was loaded
 * (`VenueIndex.replacedPeak`), and `R` the smaller of the reserved units before and after the
 * update.
 *
 * Why this bound and not `S + R ≤ T_eff` of the resulting state: an honest reconciler corrects to
 * `T_eff − R` of the state *it* had seen, and central may already hold more: a newer snapshot (an
 * HA partner's, replacing the one the reconciler corrected against) or a pickup with fewer meals (a
 * walk-in the reconciler has not heard of yet), or the reconciler's own newer snapshot sent in the
 * same batch before its next correction. `T_hi` covers the snapshots either side may have
 * reconciled against; pickups only lower `T_eff`, so they are left out; reservations move units
 * from `S` to `R` and cancellations back, so `R` is taken at its lower value. The bound stops rights
 * minted beyond any stock a fridge reported; it cannot stop a gateway whose token reports false
 * snapshots. It is not a proof of forgery either: a reconciler's own diff after a partition no
 * longer carries the snapshots it replaced, so an honest update can exceed it. Returns the reason
 * when the update exceeds the bound (the caller flags it), `undefined` within it.
 */
function creationBound(
  doc: VenueDoc,
  f: FridgeId,
  m: MealId,
  dS: number,
  updatePeak: number,
  afterDoc: () => VenueDoc,
  reservedCache: Map<FridgeId, Map<MealId, number>>,
): string | undefined {
  let tHi = Math.max(updatePeak, doc.index.replacedPeak.get(f)?.get(m) ?? 0);
  for (const snap of doc.index.snapshots.get(f)?.values() ?? []) tHi = Math.max(tHi, snap.i[m] ?? 0);
  const sAfter = sellable(doc, f, m) + dS;
  let reserved = reservedCache.get(f);
  if (reserved === undefined) reservedCache.set(f, (reserved = reservedByMeal(doc, f)));
  const rBefore = reserved.get(m) ?? 0;
  if (sAfter + rBefore <= tHi) return undefined;
  // Only when the update itself may lower R (a cancellation sent with the correction) is the
  // state after it needed.
  const rAfter = reservedByMeal(afterDoc(), f).get(m) ?? 0;
  if (sAfter + Math.min(rBefore, rAfter) <= tHi) return undefined;
  return `S would be ${sAfter} with ${Math.min(rBefore, rAfter)} reserved for ${f}/${m}, beyond the ${tHi} any snapshot reports`;
}

/** A read-only copy of `doc` with `update` applied. */
function stateAfter(doc: VenueDoc, update: Uint8Array): VenueDoc {
  const copy = new VenueDoc({ ydoc: new Y.Doc({ gc: true }) });
  Y.applyUpdate(copy.ydoc, Y.encodeStateAsUpdate(doc.ydoc));
  Y.applyUpdate(copy.ydoc, update);
  return copy;
}

/** Which keys each kind of replica may write. */
function permitted(sender: ReplicaId, key: EntryKey): void {
  const gw = sender.startsWith('gw:');
  switch (key.kind) {
    case 'snapshot':
    case 'pickup':
    case 'status':
    case 'recall':
      if (!gw) throw new Rejection('NOT_PERMITTED', `${key.kind} entries are written by gateways`);
      return;
    case 'config':
    case 'delivery':
    case 'epoch':
      if (gw) throw new Rejection('NOT_PERMITTED', `${key.kind} entries are written by central`);
      return;
    case 'retire':
      if (!mayRetire(sender, key.replica)) throw new Rejection('NOT_PERMITTED', `${sender} may not retire ${key.replica}`);
      return;
    case 'xfer':
      if (key.to === sender) throw new Rejection('NOT_PERMITTED', 'transfer to self');
      return;
    default:
      return;
  }
}

/** Entries a writer may delete without replacing: covered pickups, settled orders, deliveries. */
function prunable(key: EntryKey, prev: unknown): boolean {
  if (key.kind === 'pickup' || key.kind === 'delivery') return true;
  if (key.kind === 'order') return (prev as OrderValue).s !== STATE_CODE.reserved;
  return false;
}

function isDeletedInUpdate(ds: DeleteSet, id: [number, number]): boolean {
  return Y.isDeleted(ds, Y.createID(id[0], id[1]));
}

function liveIdsOf(doc: VenueDoc, replica: ReplicaId, key: string): Array<[number, number]> {
  return doc.liveEntry(replica, key)?.ids ?? [];
}

/** The sender's own rights part for a cell after the update's new values. */
function ownPartAfter(doc: VenueDoc, replica: ReplicaId, f: FridgeId, m: MealId, added: Map<string, { values: unknown[] }>, addedTargets: Map<string, Set<string>>): number {
  const val = (k: string, kind: 'counter' | 'xfer') => {
    const prev = doc.get(replica, k) as [number, number] | undefined;
    return (added.get(k)?.values ?? []).reduce((x, y) => joinValues(kind, x, y), prev ?? [0, 0]) as [number, number];
  };
  const [inc, dec] = val(`c/${f}/${m}`, 'counter');
  let own = inc - dec;
  const targets = new Set<string>(doc.index.xfers.get(f)?.get(m)?.get(replica)?.keys() ?? []);
  const prefix = `x/${f}/${m}/`;
  for (const to of addedTargets.get(prefix) ?? []) targets.add(to);
  for (const to of targets) own -= val(prefix + to, 'xfer')[0];
  return own;
}

/** The state vector limit of a retired sender, or `undefined` when it is not retired. */
function retirementLimit(doc: VenueDoc, replica: ReplicaId): Map<number, number> | undefined {
  if (!isRetired(doc, replica)) return undefined;
  const limit = new Map<number, number>();
  for (const [author, v] of doc.index.retirements.get(replica) ?? []) {
    if (!mayRetire(author as ReplicaId, replica)) continue;
    for (const [c, cl] of v.sv) limit.set(c, Math.max(limit.get(c) ?? 0, cl));
  }
  // The retirement entry itself (by the replica) sits at the state-vector clock: allow it.
  if (doc.index.retirements.get(replica)?.has(replica)) for (const [c, cl] of limit) limit.set(c, cl + 1);
  return limit;
}

/** Calls `f` for each struct of `client` overlapping `[clock, clock+len)`; `missing` for the part not in the store. */
function forEachStructIn(
  store: Y.Doc['store'],
  client: number,
  clock: number,
  len: number,
  f: (s: Y.Item | Y.GC, from: number, to: number) => void,
  missing: (from: number) => void,
): void {
  const structs = store.clients.get(client);
  const end = clock + len;
  const state = Y.getState(store, client);
  if (structs === undefined || state <= clock) {
    missing(clock);
    return;
  }
  for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
    const s = structs[i]!;
    if (s.id.clock >= end) break;
    f(s, Math.max(clock, s.id.clock), Math.min(end, s.id.clock + s.length));
  }
  if (state < end) missing(state);
}

