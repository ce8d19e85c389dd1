/**
 * Order taking at central, a taker replica (docs/design.md "Orders", "Rights placement"). The
 * decision is the shared order taker's (`takeOrder`, the same as the gateway kiosk's): checked on the
 * venue document itself, reserved within central's own rights and never beyond the stock central
 * sees; a shortfall answers `SOLD_OUT` at once and writes a rights request for the reconciler when
 * none is open. Orders on one fridge run one at a time (a {@link KeyedQueue} per fridge) and nothing
 * on the path waits for the network or for a view: only for the local synced write, so a `201` is
 * durable.
 */
import {
  FridgesyncError,
  ORIGINS,
  foldOrder,
  orderAnswer,
  orderResponse,
  settle,
  takeOrder,
  transitionAnswer,
  transitionResult,
  type CreateOrderBody,
  type OrderFold,
  type OrderId,
  type OrderResponse,
  type VenueId,
} from '@fridgesync/shared';
import type { DocRegistry } from './doc-registry.ts';
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
    /** Order id → venue over every venue central holds (the read model keeps it as documents change). */
    private readonly orderVenue: ReadonlyMap<string, VenueId>,
    private readonly metrics: Metrics,
    /** True for a venue central knows (seeded, stored or created): only those are loaded. */
    private readonly venueKnown: (venue: VenueId) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a request whose body fails the schema, and throws its error. */
  invalid(err: Error): never {
    this.metrics.orders.inc({ result: 'invalid' });
    throw err;
  }

  /** Creates (or replays) an order. Throws catalog errors. */
  async create(body: CreateOrderBody): Promise<CreateResult> {
    // An id central does not know names no document: nothing is loaded for it.
    if (!this.venueKnown(body.venueId)) {
      this.metrics.orders.inc({ result: 'invalid' });
      throw new FridgesyncError('UNKNOWN_VENUE');
    }
    // The fridge's turn covers only the synchronous decision; the durable wait happens outside
    // it, so concurrent orders share one group-committed synced write instead of queueing on it.
    const { host, outcome } = await this.fridgeQueue.run(`${body.venueId}/${body.fridgeId}`, async () => {
      // Acquired inside the fridge's turn, so an idle unload in between cannot hand us a closed host.
      const host = await this.registry.acquire(body.venueId);
      // Rights accepted beyond stock (docs/sync-protocol.md, "Rights creation beyond stock") never
      // become more orders than the fridge holds as central sees it: capToStock.
      const outcome = takeOrder(host.doc, ORIGINS.api, { venueId: body.venueId, capToStock: true }, body, this.now(), this.orderVenue.get(body.orderId));
      return { host, outcome };
    });
    // A replay waits too: the order it found may still be on its way to the disk.
    await host.whenDurable();
    this.metrics.orders.inc({ result: outcome.result });
    return orderAnswer(body.venueId, outcome);
  }

  private async locate(orderId: OrderId): Promise<{ host: VenueHost; order: OrderFold }> {
    const venue = this.orderVenue.get(orderId);
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
    const order = transitionAnswer(host.venueId, r);
    this.metrics.orders.inc({ result: transitionResult(state, opts.resolve === true) });
    return order;
  }
}
