/**
 * Reconciliation and rights placement (docs/design.md "Reconciliation", "Rights placement"). The reconciler of a fridge (the current
 * replica of the gateway assigned to it) keeps `S = max(0, T_eff − R)` by writing its own counter
 * entries, grants rights to order takers as stock arrives, answers their requests, and recalls
 * unused rights when it must decrement more than it holds. Takers answer recalls. All of it is
 * ordinary single-writer entries; nobody writes into another replica's structures.
 */
import type { FridgeId, MealId, OrderId, ReplicaId } from './ids.ts';
import { keys, type RecallValue, type RequestValue } from './entries.ts';
import { activeTakers, currentReconciler, foldOrder, fridgeCells, rightsOf, type FoldSource } from './fold.ts';
import { increment, decrement, localRights, ownXfer, transfer } from './counter.ts';
import { expireHolds, requestRights, type HoldClock } from './orders.ts';
import type { EntryWriter, VenueDoc } from './venue-doc.ts';
import type { TxOrigin } from './origins.ts';

/** How the reconciler places rights. */
export interface RightsPolicy {
  /**
   * Fraction of sellable stock granted to the other active takers (central processes, standby
   * kiosks), split evenly among them; the reconciler keeps the rest for its own kiosk and for
   * corrections. 0 – 1, default 0.8.
   */
  takerShare: number;
}

/** The default policy: 80% of stock to central takers. */
export const DEFAULT_RIGHTS_POLICY: RightsPolicy = { takerShare: 0.8 };

/**
 * Pauses the top-ups of a cell (fridge and meal) after its rights had to be recalled. Granting a
 * taker its share of stock that is gone a moment later costs a recall, the taker's answer and a
 * synced write of each on two machines; a fridge whose totals keep swinging (a restock in
 * progress, a fridge reporting erratic counts, a test rig) would pay that on every pass, and the
 * takers would hold rights that keep being taken back. So after a recall the cell gets no top-up
 * for `baseMs`; a recall that follows within twice the previous pause doubles it, up to `maxMs`;
 * a cell that stays free of recalls for a whole pause after one ended starts again at `baseMs`.
 * Requests are still answered during a pause (a taker that runs short asks), and corrections and
 * recalls are never paused: only grants the takers did not ask for wait.
 *
 * State of one reconciler process, in memory: a restart forgets the pauses, which only means
 * takers are topped up at once again. Bounded by the venue's cells (fridges × meals); every 1,024
 * recalls the cells whose next recall would start at `baseMs` anyway are forgotten.
 */
export class RecallBackoff {
  /** `fridge\u0000meal` → end of the pause and its length, ms. */
  private readonly cells = new Map<string, { until: number; pauseMs: number }>();
  private recallsSincePrune = 0;

  /** `baseMs` 0 disables the pauses. */
  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {}

  /** True while top-ups of the cell are paused. */
  paused(fridge: FridgeId, meal: MealId, now: number): boolean {
    const c = this.cells.get(cellKey(fridge, meal));
    return c !== undefined && now < c.until;
  }

  /** The cell's current pause, ms (0: none); for tests and reports. */
  pauseOf(fridge: FridgeId, meal: MealId, now: number): number {
    const c = this.cells.get(cellKey(fridge, meal));
    return c !== undefined && now < c.until ? c.pauseMs : 0;
  }

  /** Notes that rights of the cell were recalled at `now`. */
  recalled(fridge: FridgeId, meal: MealId, now: number): void {
    if (this.baseMs <= 0) return;
    const k = cellKey(fridge, meal);
    const c = this.cells.get(k);
    const pauseMs = c !== undefined && now < c.until + c.pauseMs ? Math.min(this.maxMs, c.pauseMs * 2) : this.baseMs;
    this.cells.set(k, { until: now + pauseMs, pauseMs });
    if (++this.recallsSincePrune >= 1024) this.prune(now);
  }

  /** Forgets the cells whose next recall would start at `baseMs` anyway. */
  private prune(now: number): void {
    this.recallsSincePrune = 0;
    for (const [k, c] of this.cells) if (now >= c.until + c.pauseMs) this.cells.delete(k);
  }
}

function cellKey(fridge: FridgeId, meal: MealId): string {
  return `${fridge}\u0000${meal}`;
}

/** What one reconciliation pass did for a fridge. */
export interface ReconcileReport {
  fridge: FridgeId;
  incremented: number;
  decremented: number;
  granted: number;
  recalled: number;
  expired: OrderId[];
  /** Meals where reserved exceeds what the fridge holds. */
  shortages: Array<{ meal: MealId; units: number; orders: OrderId[] }>;
}

/** How the reconciler judges other takers' clocks when it expires holds (everything of {@link HoldClock} but `now`). */
export type TakerClocks = Omit<HoldClock, 'now'>;

/**
 * Reconciles one fridge if this document's replica is its reconciler; `undefined` otherwise
 * (an HA standby never corrects). Expires due holds first (each by its taker's clock as `clocks`
 * estimates it, see {@link HoldClock}; without `clocks` only its own orders, retired takers' orders
 * and orders past the unknown-clock grace expire), then corrects every meal's drift, recalls what it
 * lacks, answers requests and tops takers up to their share (unless `backoff` pauses the cell's
 * top-ups after a recall).
 */
export function reconcileFridge(doc: VenueDoc, origin: TxOrigin, fridge: FridgeId, policy: RightsPolicy, now: number, backoff?: RecallBackoff, clocks?: TakerClocks): ReconcileReport | undefined {
  return reconcileFridges(doc, origin, [fridge], policy, now, backoff, clocks)[0];
}

/**
 * {@link reconcileFridge} for several fridges at once: the fridges this replica does not reconcile
 * are skipped; due holds of all of them expire in one transaction, then all corrections are written
 * in a second one (one update, one synced append, one message to central for the lot). Fridges
 * never read each other's entries, so the outcome is that of reconciling them one by one.
 */
export function reconcileFridges(
  doc: VenueDoc,
  origin: TxOrigin,
  fridges: Iterable<FridgeId>,
  policy: RightsPolicy,
  now: number,
  backoff?: RecallBackoff,
  clocks: TakerClocks = {},
): ReconcileReport[] {
  const self = doc.replica;
  if (self === undefined) return [];
  const mine = [...new Set(fridges)].filter((f) => currentReconciler(doc, f) === self);
  if (mine.length === 0) return [];
  // Expired holds first, in their own transaction: the cells below must fold them.
  const expired = new Map<FridgeId, OrderId[]>(mine.map((f) => [f, []]));
  for (const id of expireHolds(doc, origin, { ...clocks, now }, mine)) {
    const f = foldOrder(doc, id)?.fridge;
    if (f !== undefined) expired.get(f)?.push(id);
  }
  const takers = activeTakers(doc).filter((t) => t !== self);
  const reports: ReconcileReport[] = [];
  doc.transact(origin, (w) => {
    for (const fridge of mine) reports.push(correct(w, fridge, expired.get(fridge) ?? [], takers, policy, now, backoff));
  });
  return reports;
}

/** One fridge's corrections, rights placement and report. */
function correct(w: EntryWriter, fridge: FridgeId, expired: OrderId[], takers: ReplicaId[], policy: RightsPolicy, now: number, backoff: RecallBackoff | undefined): ReconcileReport {
  const report: ReconcileReport = { fridge, incremented: 0, decremented: 0, granted: 0, recalled: 0, expired, shortages: [] };
  for (const c of fridgeCells(w.doc, fridge, undefined, false)) {
    const target = Math.max(0, c.Teff - c.R);
    let S = c.S;
    if (c.shortage > 0) report.shortages.push({ meal: c.meal, units: c.shortage, orders: c.affectedOrders });
    if (S < target) {
      increment(w, fridge, c.meal, target - S);
      report.incremented += target - S;
      S = target;
    } else if (S > target) {
      const need = S - target;
      const d = Math.min(need, localRights(w, fridge, c.meal));
      if (d > 0) {
        decrement(w, fridge, c.meal, d);
        report.decremented += d;
        S -= d;
      }
      if (need > d) {
        const asked = recall(w, fridge, c.meal, need - d, takers);
        if (asked > 0) backoff?.recalled(fridge, c.meal, now);
        report.recalled += asked;
      }
    }
    report.granted += answerRequests(w, fridge, c.meal, takers);
    if (backoff?.paused(fridge, c.meal, now) !== true) report.granted += topUp(w, fridge, c.meal, S, takers, policy);
  }
  return report;
}

/** Asks takers holding rights to give back `units`, largest holders first; skips outstanding recalls. */
function recall(w: EntryWriter, fridge: FridgeId, meal: MealId, units: number, takers: ReplicaId[]): number {
  const holders = takers
    .map((t) => ({ t, r: rightsOf(w.doc, t, fridge, meal) }))
    .filter((h) => h.r > 0)
    .sort((a, b) => b.r - a.r || (a.t < b.t ? -1 : 1));
  let left = units;
  let asked = 0;
  for (const { t, r } of holders) {
    if (left <= 0) break;
    const key = keys.recall(fridge, meal, t);
    const prev = (w.get(key) as RecallValue | undefined) ?? [0, 0];
    const answered = (w.doc.index.xfers.get(fridge)?.get(meal)?.get(t)?.get(w.replica)?.[1] ?? 0) >= prev[0];
    const n = Math.min(left, r);
    left -= n;
    if (!answered) continue; // still waiting for the previous recall
    w.set(key, [prev[0] + 1, n]);
    asked += n;
  }
  return asked;
}

/** Answers takers' requests for rights this reconciler has not answered yet. */
function answerRequests(w: EntryWriter, fridge: FridgeId, meal: MealId, takers: ReplicaId[]): number {
  let granted = 0;
  for (const t of takers) {
    const req = w.doc.index.requests.get(fridge)?.get(meal)?.get(t) as RequestValue | undefined;
    if (req === undefined) continue;
    const [seq, want] = req;
    if (ownXfer(w, fridge, meal, t)[1] >= seq) continue;
    const give = Math.min(want, localRights(w, fridge, meal));
    transfer(w, fridge, meal, t, give, seq);
    granted += give;
  }
  return granted;
}

/** Grants each taker up to its share of sellable stock from this reconciler's rights. */
function topUp(w: EntryWriter, fridge: FridgeId, meal: MealId, S: number, takers: ReplicaId[], policy: RightsPolicy): number {
  if (takers.length === 0 || policy.takerShare <= 0) return 0;
  const quota = Math.floor((Math.min(1, policy.takerShare) * S) / takers.length);
  let granted = 0;
  for (const t of takers) {
    const have = rightsOf(w.doc, t, fridge, meal) + pendingGrant(w, fridge, meal, t);
    const give = Math.min(quota - have, localRights(w, fridge, meal));
    if (give > 0 && transfer(w, fridge, meal, t, give).ok) granted += give;
  }
  return granted;
}

/** Units transferred to `t` in this transaction and not yet in the index. */
function pendingGrant(w: EntryWriter, fridge: FridgeId, meal: MealId, t: ReplicaId): number {
  const indexed = w.doc.index.xfers.get(fridge)?.get(meal)?.get(w.replica)?.get(t)?.[0] ?? 0;
  return ownXfer(w, fridge, meal, t)[0] - indexed;
}

/**
 * Taker side: gives back what reconcilers recalled from this replica, as much as it still holds.
 * `cells` (fridge → meals, e.g. a change summary's `recalls`) limits the look to recalls that
 * changed (all by default). Returns the units returned.
 */
export function answerRecalls(doc: VenueDoc, origin: TxOrigin, cells?: ReadonlyMap<FridgeId, ReadonlySet<MealId>>): number {
  const self = doc.replica;
  if (self === undefined) return 0;
  const due: Array<{ fridge: FridgeId; meal: MealId; from: ReplicaId; seq: number; n: number }> = [];
  // Only the cells with a recall addressed to this replica (the index keeps them by taker).
  const mine = doc.index.recallsTo.get(self);
  if (mine === undefined) return 0;
  const look: Iterable<[string, ReadonlySet<string>]> = cells ?? mine;
  for (const [fridge, meals] of look) {
    const addressed = mine.get(fridge);
    if (addressed === undefined) continue;
    for (const meal of meals) {
      if (!addressed.has(meal)) continue;
      for (const [from, [seq, n]] of doc.index.recalls.get(fridge)?.get(meal)?.get(self) ?? []) {
        const acked = doc.index.xfers.get(fridge)?.get(meal)?.get(self)?.get(from)?.[1] ?? 0;
        if (seq > acked) due.push({ fridge: fridge as FridgeId, meal: meal as MealId, from: from as ReplicaId, seq, n });
      }
    }
  }
  if (due.length === 0) return 0;
  let returned = 0;
  doc.transact(origin, (w) => {
    for (const d of due) {
      const give = Math.min(d.n, Math.max(0, localRights(w, d.fridge, d.meal)));
      transfer(w, d.fridge, d.meal, d.from, give, d.seq);
      returned += give;
    }
  });
  return returned;
}

/** True when `replica` has a request for the fridge and meal that the fridge's reconciler has not answered. */
export function requestOpen(src: FoldSource, replica: ReplicaId, fridge: FridgeId, meal: MealId): boolean {
  const req = src.index.requests.get(fridge)?.get(meal)?.get(replica);
  if (req === undefined) return false;
  const rec = currentReconciler(src, fridge);
  const acked = rec === undefined ? 0 : (src.index.xfers.get(fridge)?.get(meal)?.get(rec)?.get(replica)?.[1] ?? 0);
  return req[0] > acked;
}

/** A request for more rights a taker writes to the fridge's reconciler after a refusal. */
export interface RightsRequest {
  mealId: MealId;
  /** Units asked for: the whole quantity the customer wanted, so the retry has room. */
  want: number;
}

/**
 * After a reservation came back `SOLD_OUT` at taker `replica`: the requests to write to the
 * fridge's reconciler — one per lacking meal without an open request, for the whole quantity
 * asked for, so the retry has room even if other sales take some meanwhile. None when the taker
 * reconciles the fridge itself (a reconciler corrects its own rights, it does not ask). Write each
 * with {@link requestRights}.
 */
export function rightsRequests(src: FoldSource, replica: ReplicaId, fridge: FridgeId, lacking: ReadonlyArray<{ mealId: MealId; requested: number }>): RightsRequest[] {
  if (currentReconciler(src, fridge) === replica) return [];
  return lacking.filter((l) => !requestOpen(src, replica, fridge, l.mealId)).map((l) => ({ mealId: l.mealId, want: l.requested }));
}
