/**
 * The handler of `pickup` messages: records the pickup against its order in this turn's
 * transaction (turn-batcher.ts; shared `recordPickup`, docs/design.md "Observed totals").
 */
import type { Logger } from 'pino';
import { recordPickup, type FridgeId, type PickupPayload } from '@fridgesync/shared';
import { countIngested, type IngestResult, type MessageHandler } from './ingest-handler.ts';
import type { AgentMetrics } from './metrics.ts';
import type { TurnBatcher } from './turn-batcher.ts';

/** Options of {@link PickupHandler}. */
export interface PickupHandlerOptions {
  batcher: TurnBatcher;
  logger: Logger;
  metrics: AgentMetrics;
  now: () => number;
}

/** Applies pickups. */
export class PickupHandler implements MessageHandler<PickupPayload> {
  constructor(private readonly opts: PickupHandlerOptions) {}

  async handle(fridge: FridgeId, pickup: PickupPayload, _raw: Buffer, receivedAt: number): Promise<IngestResult> {
    const { batcher, logger, metrics, now } = this.opts;
    const out = await batcher.add(fridge, (w) => recordPickup(w, fridge, pickup, now()));
    metrics.pickupOrders.inc({ order: out.order });
    if (out.order !== 'settled') {
      // Pickups of unknown or already-settled orders are reported, never silently eaten.
      logger.warn({ fridge, orderId: pickup.orderId, order: out.order, pickup: out.pickup }, 'pickup for an order that was not reserved');
    }
    return countIngested(metrics, { kind: 'pickup', outcome: out.pickup, order: out.order }, receivedAt);
  }
}
