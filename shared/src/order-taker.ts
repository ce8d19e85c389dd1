/**
 * The order taker: the one decision behind central's `POST /v1/orders` and the gateway kiosk's,
 * and the answers to their cancels and confirmations (`decideTransition` in orders.ts decides
 * those; docs/design.md "Orders", "Rights placement"). Given the venue document, the taker
 * replica, the request and the clock, {@link decideOrder} says what to do: refuse, replay,
 * conflict, sell out (with what is lacking and the rights request to write), or reserve (with the
 * entries to write). Everything is checked on the document itself — the venue, the fridge and
 * each meal configured there, which gateway reconciles the fridge — so taking an order never waits
 * on a view. No I/O: each HTTP surface writes the decision with {@link takeOrder}, waits until its
 * store holds it durably, counts {@link OrderOutcome.result} and answers with {@link orderAnswer}.
 */
import { configRecord, foldOrder, type FoldSource, type OrderFold } from './fold.ts';
import type { FridgeId, ReplicaId, VenueId } from './ids.ts';
import { decideReservation, requestRights, writeReservation, type LackingMeal, type ReservationDecision, type SettleResult, type TerminalState } from './orders.ts';
import { rightsRequests, type RightsRequest } from './reconcile.ts';
import { DEFAULT_HOLD_SECONDS, SoldOutError, orderResponse, type CreateOrderBody, type OrderResponse } from './http-schemas.ts';
import { ERROR_CODES, FridgesyncError } from './errors.ts';
import type { EntryWriter, VenueDoc } from './venue-doc.ts';
import type { TxOrigin } from './origins.ts';

/** Who takes an order, and where. */
export interface OrderTaker {
  /** The venue of the document the taker sells from. */
  venueId: VenueId;
  /** The taker replica: whose rights a reservation spends and who asks for more. */
  replica: ReplicaId;
  /**
   * Reserve no more of a meal than the fridge holds as the taker sees it, `T_eff − R`, whatever
   * rights it holds: central does (docs/sync-protocol.md "Rights creation beyond stock"); a kiosk,
   * beside the fridge's own reconciler, does not need to.
   */
  capToStock: boolean;
}

/** What an order request comes to, decided on the document ({@link decideOrder}). */
export type OrderDecision =
  | { kind: 'refused'; code: 'UNKNOWN_VENUE' | 'UNKNOWN_FRIDGE' | 'UNKNOWN_MEAL'; message?: string }
  | { kind: 'replay'; order: OrderFold }
  | { kind: 'conflict'; order: OrderFold | undefined }
  | { kind: 'sold-out'; fridgeId: FridgeId; lacking: LackingMeal[]; requests: RightsRequest[] }
  | { kind: 'reserve'; reservation: Extract<ReservationDecision, { status: 'reserve' }> };

/**
 * The results of an order request, as the metric label `result` spells them on central
 * (`fridgesync_orders_total`) and on the kiosk (`fridgesync_gateway_kiosk_orders_total`); `invalid`
 * is a body that fails the schema, or an unknown venue, fridge or meal.
 */
export const ORDER_RESULTS = ['created', 'replayed', 'sold_out', 'conflict', 'invalid'] as const;
/** The result of one order request ({@link ORDER_RESULTS}). */
export type OrderResult = (typeof ORDER_RESULTS)[number];

/** The results of a transition request, as the same metrics spell them (the kiosk only cancels). */
export const TRANSITION_RESULTS = ['cancelled', 'picked_up', 'resolved_cancelled', 'resolved_picked_up'] as const;
/** The result of one transition request ({@link TRANSITION_RESULTS}). */
export type TransitionResult = (typeof TRANSITION_RESULTS)[number];

/** What {@link takeOrder} did, with the metric label it counts as. */
export type OrderOutcome =
  | { result: 'created' | 'replayed'; order: OrderFold }
  | { result: 'sold_out'; lacking: LackingMeal[]; requested: number }
  | { result: 'conflict' }
  | { result: 'invalid'; code: 'UNKNOWN_VENUE' | 'UNKNOWN_FRIDGE' | 'UNKNOWN_MEAL'; message?: string };

/**
 * Decides an order request at `taker` (nothing written). In order: the venue must be the taker's
 * and configured; an order id already known at another venue (`knownAt`, where the taker knows
 * orders of several venues) is a conflict; the fridge must be configured in this venue and every
 * meal configured; then the reservation rules ({@link decideReservation}). A shortfall comes with
 * the rights requests to write ({@link rightsRequests}: the fridge's reconciler, as the fridge's
 * config names it, is asked for every lacking meal without an open request).
 */
export function decideOrder(src: FoldSource, taker: OrderTaker, req: CreateOrderBody, now: number, knownAt?: VenueId): OrderDecision {
  if (req.venueId !== taker.venueId || configRecord(src, 'venue', req.venueId) === undefined) {
    return { kind: 'refused', code: 'UNKNOWN_VENUE', ...(req.venueId !== taker.venueId ? { message: `this order taker serves venue ${taker.venueId}` } : {}) };
  }
  // Order ids are global idempotency keys: the same id at another venue is a different order.
  if (knownAt !== undefined && knownAt !== req.venueId) return { kind: 'conflict', order: undefined };
  if (configRecord(src, 'fridge', req.fridgeId)?.venueId !== req.venueId) return { kind: 'refused', code: 'UNKNOWN_FRIDGE' };
  for (const l of req.items) if (configRecord(src, 'meal', l.mealId) === undefined) return { kind: 'refused', code: 'UNKNOWN_MEAL', message: `no such meal: ${l.mealId}` };
  const d = decideReservation(src, taker.replica, {
    orderId: req.orderId,
    fridgeId: req.fridgeId,
    lines: req.items,
    holdUntil: now + (req.holdSeconds ?? DEFAULT_HOLD_SECONDS) * 1000,
    now,
    capToStock: taker.capToStock,
  });
  if (d.ok && d.status === 'reserve') return { kind: 'reserve', reservation: d };
  if (d.ok) return { kind: 'replay', order: d.order };
  if (d.code === 'ORDER_CONFLICT') return { kind: 'conflict', order: d.order };
  return { kind: 'sold-out', fridgeId: req.fridgeId, lacking: d.lacking, requests: rightsRequests(src, taker.replica, req.fridgeId, d.lacking) };
}

/** Writes what a decision writes (a reservation, or rights requests), in the writer's transaction. */
export function writeOrderDecision(w: EntryWriter, d: OrderDecision): void {
  if (d.kind === 'reserve') writeReservation(w, d.reservation);
  else if (d.kind === 'sold-out') for (const r of d.requests) requestRights(w, d.fridgeId, r.mealId, r.want);
}

/**
 * Takes an order request at the document's own replica: decides it ({@link decideOrder}) and
 * writes what it decided in one transaction tagged `origin`. The caller answers once its store
 * holds the document's writes durably, a replay included (its order may still be on its way to
 * the disk).
 */
export function takeOrder(doc: VenueDoc, origin: TxOrigin, taker: Omit<OrderTaker, 'replica'>, req: CreateOrderBody, now: number, knownAt?: VenueId): OrderOutcome {
  const replica = doc.replica;
  if (replica === undefined) throw new Error('read-only venue document: no order taker');
  const d = decideOrder(doc, { ...taker, replica }, req, now, knownAt);
  if (d.kind === 'reserve' || (d.kind === 'sold-out' && d.requests.length > 0)) doc.transact(origin, (w) => writeOrderDecision(w, d));
  switch (d.kind) {
    case 'refused':
      return { result: 'invalid', code: d.code, ...(d.message === undefined ? {} : { message: d.message }) };
    case 'replay':
      return { result: 'replayed', order: d.order };
    case 'conflict':
      return { result: 'conflict' };
    case 'sold-out':
      return { result: 'sold_out', lacking: d.lacking, requested: d.requests.length };
    case 'reserve':
      return { result: 'created', order: foldOrder(doc, d.reservation.orderId)! };
  }
}

/**
 * The HTTP answer to an order request: `201` with the new order, `200` with a replayed one; every
 * other outcome throws its catalog error (`SOLD_OUT` with `lacking`, `ORDER_CONFLICT`,
 * `UNKNOWN_VENUE`/`UNKNOWN_FRIDGE`/`UNKNOWN_MEAL`).
 */
export function orderAnswer(venueId: VenueId, o: OrderOutcome): { status: 200 | 201; order: OrderResponse } {
  switch (o.result) {
    case 'created':
    case 'replayed':
      return { status: o.result === 'created' ? 201 : 200, order: orderResponse(venueId, o.order) };
    case 'sold_out':
      throw new SoldOutError(o.lacking);
    case 'conflict':
      throw new FridgesyncError('ORDER_CONFLICT');
    case 'invalid':
      throw new FridgesyncError(o.code, o.message);
  }
}

/**
 * The HTTP answer to a transition (cancel, staff pickup, resolution): the order, or the catalog
 * error (`UNKNOWN_ORDER`, `ORDER_SETTLED` naming the state it settled in, `ORDER_NEEDS_RESOLUTION`).
 */
export function transitionAnswer(venueId: VenueId, r: SettleResult): OrderResponse {
  if (r.ok) return orderResponse(venueId, r.order);
  if (r.code === 'ORDER_SETTLED') throw new FridgesyncError('ORDER_SETTLED', `${ERROR_CODES.ORDER_SETTLED.message} (${r.order.state})`);
  throw new FridgesyncError(r.code);
}

/** The metric label of a transition: the state, prefixed `resolved_` for an operator's resolution. */
export function transitionResult(state: TerminalState & TransitionResult, resolve = false): TransitionResult {
  return resolve ? `resolved_${state}` : state;
}
