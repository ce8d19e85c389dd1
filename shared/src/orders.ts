/**
 * Orders (docs/design.md "Orders"): reservations with a client-chosen id, hold expiry and a state lattice.
 * Reserving moves units from `S` to `R` in one transaction (a decrement within this replica's
 * rights plus the order entry), so the reconciler never sees a drift from a reservation.
 */
import type { FridgeId, MealId, OrderId, ReplicaId } from './ids.ts';
import { keys, STATE_CODE, type OrderValue, type RequestValue } from './entries.ts';
import { cellView, foldOrder, isRetired, reservedOrders, rightsOf, type FoldSource, type OrderFold } from './fold.ts';
import { decrement } from './counter.ts';
import type { EntryWriter, VenueDoc } from './venue-doc.ts';
import type { TxOrigin } from './origins.ts';

/** An order line. */
export interface OrderLine {
  mealId: MealId;
  qty: number;
}

/** A new reservation. Times are ms since the epoch. */
export interface NewOrder {
  orderId: OrderId;
  fridgeId: FridgeId;
  lines: OrderLine[];
  holdUntil: number;
  now: number;
  /**
   * Reserve no more of a meal than the fridge holds as this replica sees it, `T_eff − R`, whatever
   * rights it holds (central's order taking, docs/sync-protocol.md "Rights creation beyond
   * stock"): rights a rogue reconciler minted then never become oversold orders here.
   */
  capToStock?: boolean;
}

/** Lines aggregated per meal and sorted, the canonical form stored in the document. */
export function canonicalLines(lines: readonly OrderLine[]): Array<[MealId, number]> {
  const m = new Map<MealId, number>();
  for (const l of lines) m.set(l.mealId, (m.get(l.mealId) ?? 0) + l.qty);
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A meal a reservation cannot take: what was asked and what the taker may reserve of it now. */
export interface LackingMeal {
  mealId: MealId;
  requested: number;
  available: number;
}

/** What a reservation attempt did. */
export type ReserveResult =
  | { ok: true; status: 'created' | 'replayed'; order: OrderFold }
  | { ok: false; code: 'SOLD_OUT'; lacking: LackingMeal[] }
  | { ok: false; code: 'ORDER_CONFLICT'; order: OrderFold };

/**
 * What a reservation by `taker` would do, read from the document alone (nothing written):
 * - `replayed`: the id holds this order already (for a contents conflict: any of its variants);
 * - `ORDER_CONFLICT`: the id holds other contents;
 * - `SOLD_OUT`: some line exceeds the taker's rights (and, with `capToStock`, `T_eff − R`);
 * - `reserve`: the lines fit; {@link writeReservation} writes them.
 */
export type ReservationDecision =
  | Exclude<ReserveResult, { ok: true; status: 'created' }>
  | { ok: true; status: 'reserve'; orderId: OrderId; fridgeId: FridgeId; lines: Array<[MealId, number]>; entry: OrderValue };

/** Decides a reservation by replica `taker` over the folds of `src` (docs/design.md "Orders"). */
export function decideReservation(src: FoldSource, taker: ReplicaId, o: NewOrder): ReservationDecision {
  const lines = canonicalLines(o.lines);
  const existing = foldOrder(src, o.orderId);
  if (existing !== undefined) {
    // Lines are unknown here when only another replica's transition has arrived (a gateway heard
    // the pickup before the creation): that is the same order seen early, not a conflict.
    // A retry matches any variant of a contents conflict: that customer's order is already held.
    const want = JSON.stringify(lines);
    const same = existing.variants.length === 0 ? existing.fridge === o.fridgeId : existing.variants.some((v) => v.fridge === o.fridgeId && JSON.stringify(v.lines) === want);
    return same ? { ok: true, status: 'replayed', order: existing } : { ok: false, code: 'ORDER_CONFLICT', order: existing };
  }
  const lacking: LackingMeal[] = [];
  for (const [mealId, qty] of lines) {
    let available = rightsOf(src, taker, o.fridgeId, mealId);
    if (o.capToStock === true) {
      const c = cellView(src, o.fridgeId, mealId);
      available = Math.min(available, Math.max(0, c.Teff - c.R));
    }
    if (qty > available) lacking.push({ mealId, requested: qty, available });
  }
  if (lacking.length > 0) return { ok: false, code: 'SOLD_OUT', lacking };
  const entry: OrderValue = { f: o.fridgeId, s: STATE_CODE.reserved, t: o.now, l: lines, h: o.holdUntil, c: o.now };
  return { ok: true, status: 'reserve', orderId: o.orderId, fridgeId: o.fridgeId, lines, entry };
}

/**
 * Writes a decided reservation: the taker's decrements and the order entry, in the writer's
 * transaction (one transaction, so the reconciler never mistakes it for a walk-in).
 */
export function writeReservation(w: EntryWriter, d: Extract<ReservationDecision, { status: 'reserve' }>): void {
  for (const [mealId, qty] of d.lines) {
    const r = decrement(w, d.fridgeId, mealId, qty);
    if (!r.ok) throw new Error(`decrement refused after rights check: ${r.code}`);
  }
  w.set(keys.order(d.orderId), d.entry);
}

/**
 * Reserves all lines of an order within this replica's rights, or nothing. Idempotent by order id:
 * the same order again returns `replayed`; the same id with other contents is a conflict.
 */
export function reserve(doc: VenueDoc, origin: TxOrigin, o: NewOrder): ReserveResult {
  if (doc.replica === undefined) throw new Error('read-only venue document: no local replica');
  const d = decideReservation(doc, doc.replica, o);
  if (!d.ok || d.status !== 'reserve') return d;
  doc.transact(origin, (w) => writeReservation(w, d));
  return { ok: true, status: 'created', order: foldOrder(doc, o.orderId)! };
}

/** Asks the reconciler for `want` more rights for a fridge and meal (a new request sequence number). */
export function requestRights(w: EntryWriter, fridge: FridgeId, meal: MealId, want: number): void {
  const prev = (w.get(keys.request(fridge, meal)) as RequestValue | undefined) ?? [0, 0];
  w.set(keys.request(fridge, meal), [prev[0] + 1, Math.max(1, want)]);
}

/** Terminal order states. */
export type TerminalState = 'cancelled' | 'expired' | 'picked_up';

/** What a settle attempt did. */
export type SettleResult =
  | { ok: true; order: OrderFold; changed: boolean }
  | { ok: false; code: 'UNKNOWN_ORDER' }
  | { ok: false; code: 'ORDER_SETTLED' | 'ORDER_NEEDS_RESOLUTION'; order: OrderFold };

/**
 * True when a reserved order is a contents conflict: its id holds more than one customer's order,
 * and a transition settles them all. One customer's cancel, unlock or a staff pickup must not
 * settle the other customer's claim, so only an operator's explicit resolution may
 * (README "The semantics, in plain words").
 */
export function needsResolution(o: OrderFold): boolean {
  return o.state === 'reserved' && o.contentConflict;
}

/** Records a transition in the writer's own entry for the order. */
export function writeTransition(w: EntryWriter, orderId: OrderId, fridge: FridgeId, state: TerminalState, now: number): void {
  const prev = w.get(keys.order(orderId)) as OrderValue | undefined;
  const next: OrderValue = { ...(prev ?? { f: fridge }), f: prev?.f ?? fridge, s: STATE_CODE[state], t: now };
  // A pickup overriding this replica's own cancel/expiry: the entry is the writer's only record of
  // the order, so keep the earlier terminal state or the conflict (docs/design.md "Orders") would vanish.
  if (prev !== undefined && (prev.s === STATE_CODE.cancelled || prev.s === STATE_CODE.expired) && next.s === STATE_CODE.picked_up) next.x = prev.s;
  w.set(keys.order(orderId), next);
}

/** What a transition would do, read from the document alone: refuse, change nothing, or write. */
export type TransitionDecision =
  | Exclude<SettleResult, { ok: true }>
  | { ok: true; order: OrderFold; changed: false }
  | { ok: true; write: { orderId: OrderId; fridge: FridgeId; state: TerminalState; now: number } };

/**
 * Decides moving an order to a terminal state (every variant of a contents conflict at once).
 * Cancelling or expiring a settled order is refused; a pickup is always recorded (a physical fact
 * wins; the conflict shows in the fold). With `customer` (a customer's cancel, a staff pickup
 * naming no customer) a reserved contents conflict is refused with `ORDER_NEEDS_RESOLUTION`
 * ({@link needsResolution}).
 */
export function decideTransition(src: FoldSource, orderId: OrderId, state: TerminalState, now: number, opts: { customer?: boolean } = {}): TransitionDecision {
  const cur = foldOrder(src, orderId);
  if (cur === undefined) return { ok: false, code: 'UNKNOWN_ORDER' };
  if (opts.customer === true && needsResolution(cur)) return { ok: false, code: 'ORDER_NEEDS_RESOLUTION', order: cur };
  if (cur.state === state) return { ok: true, order: cur, changed: false };
  if (cur.state !== 'reserved' && state !== 'picked_up') return { ok: false, code: 'ORDER_SETTLED', order: cur };
  return { ok: true, write: { orderId, fridge: cur.fridge, state, now } };
}

/** Moves an order to a terminal state as {@link decideTransition} decides, writing the transition if any. */
export function settle(doc: VenueDoc, origin: TxOrigin, orderId: OrderId, state: TerminalState, now: number, opts: { customer?: boolean } = {}): SettleResult {
  const d = decideTransition(doc, orderId, state, now, opts);
  if (!d.ok || !('write' in d)) return d;
  const t = d.write;
  doc.transact(origin, (w) => writeTransition(w, t.orderId, t.fridge, t.state, t.now));
  return { ok: true, order: foldOrder(doc, orderId)!, changed: true };
}

/**
 * How a replica judges whether holds have passed. A hold is written in the clock of the replica
 * that took the order; only that clock decides it (README "The semantics, in plain words",
 * docs/operations.md "Clock skew"):
 * - the taker itself compares the hold with its own clock;
 * - another replica compares it with its estimate of the taker's clock (its own clock plus the
 *   offset measured at the sync handshake, less `marginMs` for the measurement's error);
 * - a retired taker's clock is gone: the judging replica's own clock decides (its rights flowed
 *   back already, so the order must not hold units forever);
 * - a live taker whose clock this replica cannot estimate decides alone, unless it stays silent
 *   `unknownGraceMs` past the hold by the judging clock (a taker that died without retiring).
 */
export interface HoldClock {
  /** The judging replica's clock, ms since the epoch. */
  now: number;
  /** Estimated offset of a taker's clock from the judging one (taker's − ours, ms); `undefined` when unknown. */
  offsetOf?: (taker: ReplicaId) => number | undefined;
  /** Error of an estimated offset, ms (a hold judged by an estimate passes this much later). Default 0. */
  marginMs?: number;
  /** How long past its hold an order of a live taker with an unknown clock stays reserved, ms. Default {@link DEFAULT_UNKNOWN_CLOCK_GRACE_MS}. */
  unknownGraceMs?: number;
  /** Per-taker override of `unknownGraceMs` (e.g. shorter for central, whose clock a gateway usually knows). */
  unknownGraceOf?: (taker: ReplicaId) => number;
}

/** Default of {@link HoldClock.unknownGraceMs}: 2 h, more than the clock skew a venue should ever run with. */
export const DEFAULT_UNKNOWN_CLOCK_GRACE_MS = 2 * 3_600_000;

/** True when every variant's hold has passed by its taker's clock as `clock` can judge it. */
export function holdDue(src: FoldSource, o: OrderFold, self: ReplicaId | undefined, clock: HoldClock): boolean {
  if (o.state !== 'reserved' || o.variants.length === 0) return false;
  for (const v of o.variants) {
    const taker = v.takers[0]!;
    const hold = v.holdUntil;
    if (hold === undefined) return false;
    if (taker === self || isRetired(src, taker)) {
      if (hold > clock.now) return false;
      continue;
    }
    const offset = clock.offsetOf?.(taker);
    if (offset !== undefined) {
      if (hold > clock.now + offset - (clock.marginMs ?? 0)) return false;
    } else if (hold + (clock.unknownGraceOf?.(taker) ?? clock.unknownGraceMs ?? DEFAULT_UNKNOWN_CLOCK_GRACE_MS) > clock.now) return false;
  }
  return true;
}

/**
 * Expires reserved orders whose hold has passed ({@link holdDue}) on the given fridges (all by
 * default), among those `accept` selects (all by default). Returns the expired order ids.
 */
export function expireHolds(doc: VenueDoc, origin: TxOrigin, clock: HoldClock, fridges?: Iterable<FridgeId>, accept?: (o: OrderFold) => boolean): OrderId[] {
  const due = new Map<OrderId, OrderFold>();
  for (const f of fridges ?? (doc.index.ordersByFridge.keys() as Iterable<FridgeId>)) {
    for (const o of reservedOrders(doc, f)) if (!due.has(o.orderId) && (accept === undefined || accept(o)) && holdDue(doc, o, doc.replica, clock)) due.set(o.orderId, o);
  }
  if (due.size === 0) return [];
  doc.transact(origin, (w) => {
    for (const o of due.values()) writeTransition(w, o.orderId, o.fridge, 'expired', clock.now);
  });
  return [...due.keys()];
}

/** True when `replica` took the order (created one of its variants). */
export function takenBy(o: OrderFold, replica: ReplicaId | undefined): boolean {
  return replica !== undefined && o.variants.some((v) => v.takers.includes(replica));
}

/**
 * Order housekeeping for the local replica:
 * - adopts the folded terminal state into its own entry when its own entry still says reserved,
 *   so no reserved entry outlives the others and resurrects the order after they are pruned;
 * - prunes its own entries of orders whose every entry is terminal and older than `retentionMs`.
 * Returns how many entries were adopted and pruned.
 */
export function maintainOrders(doc: VenueDoc, origin: TxOrigin, now: number, retentionMs: number): { adopted: number; pruned: number } {
  const self = doc.replica as ReplicaId;
  const adopt: OrderFold[] = [];
  const prune: OrderId[] = [];
  for (const [id, byReplica] of doc.index.orders) {
    const own = byReplica.get(self);
    if (own === undefined) continue;
    const fold = foldOrder(doc, id as OrderId);
    if (fold === undefined || fold.state === 'reserved') continue;
    if (own.s === STATE_CODE.reserved) adopt.push(fold);
    else if ([...byReplica.values()].every((e) => e.s !== STATE_CODE.reserved) && fold.updatedAt + retentionMs <= now) prune.push(id as OrderId);
  }
  if (adopt.length + prune.length > 0) {
    doc.transact(origin, (w) => {
      for (const o of adopt) writeTransition(w, o.orderId, o.fridge, o.state as TerminalState, now);
      for (const id of prune) w.delete(keys.order(id));
    });
  }
  return { adopted: adopt.length, pruned: prune.length };
}
