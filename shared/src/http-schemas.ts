/**
 * zod schemas of the HTTP bodies shared by central, the gateway kiosk and the simulators
 * (README "Contracts"). Sizes are bounded at the edge.
 */
import { z } from 'zod';
import { DeliveryIdSchema, FridgeIdSchema, MealIdSchema, OrderIdSchema, VenueIdSchema, type VenueId } from './ids.ts';
import type { OrderFold } from './fold.ts';
import { MAX_UNITS_PER_MEAL } from './mqtt-payloads.ts';
import { FridgesyncError, type ErrorBody } from './errors.ts';
import type { MealId } from './ids.ts';

import { MAX_HOLD_SECONDS } from './entries.ts';

/** Longest hold a customer may ask for: one day (the bound the validator also puts on stored orders). */
export { MAX_HOLD_SECONDS };
/** Default hold when the request names none: 15 minutes. */
export const DEFAULT_HOLD_SECONDS = 900;

export const OrderLineSchema = z.strictObject({
  mealId: MealIdSchema,
  qty: z.number().int().min(1).max(100),
});

/** `POST /v1/orders` (central) and the gateway kiosk's `POST /v1/orders`. */
export const CreateOrderBodySchema = z.strictObject({
  orderId: OrderIdSchema,
  venueId: VenueIdSchema,
  fridgeId: FridgeIdSchema,
  items: z.array(OrderLineSchema).min(1).max(32),
  holdSeconds: z.number().int().min(1).max(MAX_HOLD_SECONDS).optional(),
});
export type CreateOrderBody = z.infer<typeof CreateOrderBodySchema>;

/** An order as returned by the APIs. */
export const OrderResponseSchema = z.object({
  orderId: OrderIdSchema,
  venueId: VenueIdSchema,
  fridgeId: FridgeIdSchema,
  items: z.array(OrderLineSchema),
  state: z.enum(['reserved', 'cancelled', 'expired', 'picked_up']),
  /** True on any conflict; `conflicts` says which kinds. */
  conflict: z.boolean(),
  /**
   * Kinds of conflict: `states` (replicas recorded different terminal states; picked_up wins) and
   * `contents` (the id was reserved with other contents by another taker; see `variants`).
   */
  conflicts: z.array(z.enum(['states', 'contents'])).optional(),
  /**
   * With a `contents` conflict: every version of the order, by the replicas that took it. Each holds
   * its units while the order is reserved; cancelling, expiring or picking up the id settles all.
   * `items`, `fridgeId` and `holdUntil` above are the first variant's.
   */
  variants: z
    .array(
      z.object({
        takers: z.array(z.string()),
        fridgeId: FridgeIdSchema,
        items: z.array(OrderLineSchema),
        holdUntil: z.string().optional(),
      }),
    )
    .optional(),
  holdUntil: z.string().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string(),
});
export type OrderResponse = z.infer<typeof OrderResponseSchema>;

/** `POST /v1/kitchen/deliveries`. */
export const DeliveryBodySchema = z.strictObject({
  deliveryId: DeliveryIdSchema,
  venueId: VenueIdSchema,
  fridgeId: FridgeIdSchema,
  items: z
    .record(MealIdSchema, z.number().int().min(1).max(MAX_UNITS_PER_MEAL))
    .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 256, '1 to 256 meals'),
});
export type DeliveryBody = z.infer<typeof DeliveryBodySchema>;

/** One promotion row (JSON form; the CSV form has the same columns). */
export const PromotionRowSchema = z.strictObject({
  venueId: VenueIdSchema,
  mealId: MealIdSchema,
  fridgeId: FridgeIdSchema.optional(),
  priceCents: z.number().int().min(0).max(1_000_000),
  from: z.iso.datetime({ offset: true }),
  until: z.iso.datetime({ offset: true }),
});
export type PromotionRow = z.infer<typeof PromotionRowSchema>;

/** The API view of a folded order (central and the gateway kiosk answer the same shape). */
export function orderResponse(venueId: VenueId, o: OrderFold): OrderResponse {
  const r: OrderResponse = {
    orderId: o.orderId,
    venueId,
    fridgeId: o.fridge,
    items: (o.lines ?? []).map(([mealId, qty]) => ({ mealId, qty })),
    state: o.state,
    conflict: o.conflict,
    updatedAt: new Date(o.updatedAt).toISOString(),
  };
  if (o.holdUntil !== undefined) r.holdUntil = new Date(o.holdUntil).toISOString();
  if (o.createdAt !== undefined) r.createdAt = new Date(o.createdAt).toISOString();
  if (o.conflict) r.conflicts = conflictKinds(o);
  if (o.contentConflict) r.variants = orderVariants(o);
  return r;
}

/** The kinds of conflict of a folded order (empty when none). */
export function conflictKinds(o: OrderFold): Array<'states' | 'contents'> {
  const out: Array<'states' | 'contents'> = [];
  if (o.stateConflict) out.push('states');
  if (o.contentConflict) out.push('contents');
  return out;
}

/** The API view of an order's variants (the versions of a contents conflict). */
export function orderVariants(o: OrderFold): NonNullable<OrderResponse['variants']> {
  return o.variants.map((v) => {
    const out: NonNullable<OrderResponse['variants']>[number] = { takers: [...v.takers], fridgeId: v.fridge, items: v.lines.map(([mealId, qty]) => ({ mealId, qty })) };
    if (v.holdUntil !== undefined) out.holdUntil = new Date(v.holdUntil).toISOString();
    return out;
  });
}

/** The body of `/livez` on central and on the gateway (one shape, so one probe config fits both). */
export const LIVEZ_BODY = { status: 'ok' } as const;
/** The body of a ready `/readyz` on central and on the gateway (not ready: `503 NOT_READY`). */
export const READYZ_BODY = { status: 'ready' } as const;

/** A meal a reservation could not take: what was asked, and what this order taker can sell now. */
export interface SoldOutLine {
  mealId: MealId;
  requested: number;
  /**
   * Units of the meal this order taker (central, or this gateway's kiosk) can reserve at once: its
   * own rights. Other takers may hold more (the catalog's `available` counts every taker's), and
   * the refusal asks the fridge's reconciler for rights, so a retry shortly after may succeed.
   */
  sellableHere: number;
  /**
   * @deprecated The same value as `sellableHere`, under the field's earlier name, for clients
   * written against it (docs/operations.md "Upgrading"); read `sellableHere`.
   */
  available: number;
}

/**
 * `409 SOLD_OUT` with what the customer can buy here now, per lacking meal (central and the kiosk
 * answer the same body). Built from `reserve`'s shortfall, whose `available` is the taker's rights.
 */
export class SoldOutError extends FridgesyncError {
  readonly lacking: SoldOutLine[];
  constructor(lacking: ReadonlyArray<{ mealId: MealId; requested: number; available: number }>) {
    const lines = lacking.map((l) => ({ mealId: l.mealId, requested: l.requested, sellableHere: l.available, available: l.available }));
    super('SOLD_OUT', `Not enough stock can be reserved here right now: ${lines.map((l) => `${l.mealId}: asked ${l.requested}, ${l.sellableHere} can be sold here now`).join('; ')}.`);
    this.lacking = lines;
  }
  override toBody(): ErrorBody & { lacking: SoldOutLine[] } {
    return { ...super.toBody(), lacking: this.lacking };
  }
}
