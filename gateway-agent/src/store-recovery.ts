/**
 * What a rebuilt store keeps of the replica it replaces (docs/operations.md "Durability and
 * recovery"). A store central refuses — one that lost writes central already holds (a damaged
 * LevelDB log), or a copy of a store that kept running elsewhere (a restored backup, a clone) —
 * is rebuilt from central's state under a new epoch. Before the old document is dropped, the
 * entries of the old replica that central does not hold are kept: the facts this gateway
 * acknowledged (fridge snapshots, pickups, statuses) and the orders its kiosk confirmed. After the
 * new epoch is taken they are written again under it: facts as they are (a fact does not depend
 * on rights), orders through the ordinary reservation within the new epoch's rights.
 *
 * A confirmed order is a promise to a customer: one the new epoch holds too few rights for (the
 * old store sold from a stale view of its rights) is still recorded, as a reservation without
 * rights, and reported (`unbacked`). It counts in `R` like any reservation, so the reconciler
 * takes the units back from the replicas holding rights (central stops selling them), and if the
 * fridge does not hold them the fold reports a shortage listing the order — what the venue must
 * settle with the customer is visible, never hidden. An order id central holds with other
 * contents is reported as a `conflict` and not written.
 *
 * Counters, transfers, requests, recalls and lifecycle entries are not kept: the old epoch's
 * rights flow back to the reconciler by the fold rule once the new epoch retires it, and the
 * reconciler recomputes everything else from the facts.
 */
import {
  foldOrder,
  keys,
  parseKey,
  recordStatus,
  reserve,
  settle,
  writeSnapshot,
  ORDER_STATES,
  type EntryKind,
  type FridgeId,
  type MealId,
  type OrderId,
  type OrderValue,
  type ReplicaId,
  type SnapshotValue,
  type StatusValue,
  type TxOrigin,
  type VenueDoc,
} from '@fridgesync/shared';

/** One kept entry of the old replica: its key and live value. */
export type SalvageEntry = [key: string, value: unknown];

/** Entry kinds kept across a rebuild. */
const KEPT: ReadonlySet<EntryKind> = new Set<EntryKind>(['snapshot', 'pickup', 'status', 'order']);

/**
 * The live entries of `replica` in `doc` that central lacks: some item holding the value was
 * written at a clock central's state vector `remote` does not cover.
 */
export function collectSalvage(doc: VenueDoc, replica: ReplicaId, remote: ReadonlyMap<number, number>): SalvageEntry[] {
  const out: SalvageEntry[] = [];
  for (const [key, value] of doc.entriesOf(replica)) {
    const k = parseKey(key);
    if (k === undefined || !KEPT.has(k.kind)) continue;
    const live = doc.liveEntry(replica, key);
    if (live === undefined) continue;
    if (live.ids.some(([client, clock]) => clock >= (remote.get(client) ?? 0))) out.push([key, value]);
  }
  return out;
}

/** A kept entry that could not be written again as it was. */
export interface SalvageProblem {
  key: string;
  /**
   * `unbacked`: an order recorded without rights (the new epoch held too few; a shortage shows if
   * the fridge lacks the units); `conflict`: central holds the order id with other contents.
   */
  problem: 'unbacked' | 'conflict';
  detail: string;
}

/** What writing the kept entries again did. */
export interface SalvageResult {
  /** Entries written again (or already at central as they were). */
  reapplied: number;
  problems: SalvageProblem[];
}

/**
 * Writes the kept entries under the document's (new) replica. Facts go in one transaction; each
 * order is reserved on its own. Call inside `LocalReplica.durably`.
 */
export function applySalvage(doc: VenueDoc, origin: TxOrigin, entries: readonly SalvageEntry[], now: number): SalvageResult {
  const res: SalvageResult = { reapplied: 0, problems: [] };
  const orders: Array<[OrderId, OrderValue, string]> = [];
  doc.transact(origin, (w) => {
    for (const [key, value] of entries) {
      const k = parseKey(key);
      if (k === undefined) continue;
      if (k.kind === 'snapshot') writeSnapshot(w, k.fridge, value as SnapshotValue);
      else if (k.kind === 'status') recordStatus(w, k.fridge, value as StatusValue);
      else if (k.kind === 'pickup') w.set(keys.pickup(k.fridge, k.order), value);
      else if (k.kind === 'order') {
        orders.push([k.order, value as OrderValue, key]);
        continue;
      } else continue;
      res.reapplied++;
    }
  });
  for (const [id, v, key] of orders) {
    const state = ORDER_STATES[v.s]!;
    const known = foldOrder(doc, id);
    if (known !== undefined) {
      const same = known.fridge === v.f && (v.l === undefined || known.lines === undefined || JSON.stringify(known.lines) === JSON.stringify(v.l));
      if (!same) {
        res.problems.push({ key, problem: 'conflict', detail: `central holds order ${id} with other contents` });
        continue;
      }
      // Central has the order; carry over a settlement it lacks (a pickup always; cancel/expiry of a reserved one).
      if (state !== 'reserved' && known.state !== state) settle(doc, origin, id, state, now);
      res.reapplied++;
      continue;
    }
    if (v.l === undefined) continue; // a transition of an order created elsewhere that central never saw
    if (state === 'cancelled' || state === 'expired') {
      res.reapplied++; // settled without effect before central saw it: nothing to restore
      continue;
    }
    const r = reserve(doc, origin, { orderId: id, fridgeId: v.f as FridgeId, lines: v.l.map(([mealId, qty]) => ({ mealId: mealId as MealId, qty })), holdUntil: v.h ?? now, now: v.c ?? v.t });
    if (r.ok) {
      if (state === 'picked_up') settle(doc, origin, id, 'picked_up', now);
      res.reapplied++;
    } else if (r.code === 'SOLD_OUT') {
      doc.transact(origin, (w) => w.set(keys.order(id), { ...v }));
      res.reapplied++;
      const lacking = r.lacking.map((l) => `${l.mealId}: ${l.requested} wanted, ${l.available} held`).join(', ');
      res.problems.push({ key, problem: 'unbacked', detail: `order ${id} recorded again without rights (${lacking}); the reconciler takes the units back from other replicas, and a shortage lists the order if the fridge lacks them` });
    } else res.problems.push({ key, problem: 'conflict', detail: `central holds order ${id} with other contents` });
  }
  return res;
}
