/**
 * Order taking at central, a taker replica (README "The semantics, in plain words"). Reservations run inside the
 * process's own rights through the shared `reserve`; a shortfall answers `SOLD_OUT` at once and
 * writes a rights request for the reconciler when none is open. Orders on one fridge run one at a
 * time (a {@link KeyedQueue} per fridge) and nothing on the path waits for the network: only for
 * the local synced write of the order, so a `201` is durable.
 */
import {
  DEFAULT_HOLD_SECONDS,
  FridgesyncError,
  ORIGINS,
  SoldOutError,
  foldOrder,
  orderResponse,
  requestLackingRights,
  reserve,
  settle,
  type CreateOrderBody,
  type MealId,
  type OrderFold,
  type OrderId,
  type OrderResponse,
  type VenueId,
} from '@fridgesync/shared';
import type { DocRegistry } from './doc-registry.ts';
import type { ReadModel } from './read-model.ts';
import type { Metrics } from './metrics.ts';
import { KeyedQueue } from './keyed-queue.ts';
import type { VenueHost } from './venue-host.ts';

/** Result of creating an order. */
export interface CreateResult {
  status: 200 | 201;
  order: OrderResponse;
}

/** Creates, reads, cancels and confirms orders. */
export class OrderService {
  private readonly fridgeQueue = new KeyedQueue();
  constructor(
    private readonly registry: DocRegistry,
    private readonly model: ReadModel,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates (or replays) an order. Throws catalog errors. */
  async create(body: CreateOrderBody): Promise<CreateResult> {
    const vm = this.model.require(body.venueId);
    // Order ids are global idempotency keys: the same id at another venue is a different order.
    const elsewhere = this.model.orderVenue.get(body.orderId);
    if (elsewhere !== undefined && elsewhere !== body.venueId) throw new FridgesyncError('ORDER_CONFLICT');
    // The fridge's turn covers only the synchronous reservation; the durable wait happens outside
    // it, so concurrent orders share one group-committed synced write instead of queueing on it.
    const { host, outcome } = await this.fridgeQueue.run(`${body.venueId}/${body.fridgeId}`, async () => {
      // Acquired inside the fridge's turn, so an idle unload in between cannot hand us a closed host.
      const host = await this.registry.acquire(body.venueId);
      const cfg = this.model.get(body.venueId)?.fridges.get(body.fridgeId)?.view.config;
      if (cfg === undefined || cfg.venueId !== body.venueId) throw new FridgesyncError('UNKNOWN_FRIDGE');
      for (const l of body.items) if (!vm.meals.has(l.mealId)) throw new FridgesyncError('UNKNOWN_MEAL', `no such meal: ${l.mealId}`);
      const now = this.now();
      const outcome = reserve(host.doc, ORIGINS.api, {
        orderId: body.orderId,
        fridgeId: body.fridgeId,
        lines: body.items,
        holdUntil: now + (body.holdSeconds ?? DEFAULT_HOLD_SECONDS) * 1000,
        now,
        // Rights accepted beyond stock (docs/sync-protocol.md, "Rights creation beyond stock")
        // never become more orders than the fridge holds as central sees it.
        capToStock: true,
      });
      if (!outcome.ok && outcome.code === 'SOLD_OUT') this.askForRights(host, body, outcome.lacking);
      return { host, outcome };
    });
    await host.whenDurable();
    if (!outcome.ok && outcome.code === 'SOLD_OUT') {
      this.metrics.orders.inc({ result: 'sold_out' });
      throw new SoldOutError(outcome.lacking);
    }
    if (!outcome.ok) {
      this.metrics.orders.inc({ result: 'conflict' });
      throw new FridgesyncError('ORDER_CONFLICT');
    }
    this.metrics.orders.inc({ result: outcome.status });
    return { status: outcome.status === 'created' ? 201 : 200, order: orderResponse(body.venueId, outcome.order) };
  }

  /** Writes one rights request per lacking meal that has none open (the reconciler answers it). */
  private askForRights(host: VenueHost, body: CreateOrderBody, lacking: Array<{ mealId: MealId; requested: number }>): void {
    host.doc.transact(ORIGINS.api, (w) => requestLackingRights(w, body.fridgeId, lacking));
  }

  private async locate(orderId: OrderId): Promise<{ host: VenueHost; order: OrderFold }> {
    this.model.flush();
    const venue = this.model.orderVenue.get(orderId);
    if (venue === undefined) throw new FridgesyncError('UNKNOWN_ORDER');
    return this.find(venue, orderId);
  }

  private async find(venue: VenueId, orderId: OrderId): Promise<{ host: VenueHost; order: OrderFold }> {
    const host = await this.registry.acquire(venue);
    const order = foldOrder(host.doc, orderId);
    if (order === undefined) throw new FridgesyncError('UNKNOWN_ORDER');
    return { host, order };
  }

  /** The current state of an order. */
  async get(orderId: OrderId): Promise<OrderResponse> {
    const { host, order } = await this.locate(orderId);
    return orderResponse(host.venueId, order);
  }

  /**
   * Cancels (customer) or confirms pickup (staff): a contents conflict answers
   * ORDER_NEEDS_RESOLUTION. With `resolve` (an operator's explicit resolution) every variant of
   * the id is settled at once. Settled orders answer ORDER_SETTLED.
   */
  async transition(orderId: OrderId, state: 'cancelled' | 'picked_up', opts: { resolve?: boolean } = {}): Promise<OrderResponse> {
    const located = await this.locate(orderId);
    const { host, r } = await this.fridgeQueue.run(`${located.host.venueId}/${located.order.fridge}`, async () => {
      const { host } = await this.find(located.host.venueId, orderId);
      return { host, r: settle(host.doc, ORIGINS.api, orderId, state, this.now(), { customer: opts.resolve !== true }) };
    });
    await host.whenDurable();
    if (!r.ok) throw new FridgesyncError(r.code);
    this.metrics.orders.inc({ result: opts.resolve === true ? `resolved-${state}` : state });
    return orderResponse(host.venueId, r.order);
  }
}
