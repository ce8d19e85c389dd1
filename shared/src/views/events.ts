/**
 * The live feed of `GET /v1/events`: one discriminated union on `type`. Each server-sent event's
 * `event:` field names its type and its `data:` is the JSON of one {@link LiveEvent}; the views in
 * it are exactly those of the REST routes (README "Contracts", "Read views and live events").
 */
import { z } from 'zod';
import { FridgeJsonSchema } from './fridge.ts';
import { VenueOrderJsonSchema } from './order.ts';
import { DeliveryJsonSchema, VenueSummaryJsonSchema, VenueTotalsJsonSchema } from './venue.ts';

/** A fridge's view changed; `totals` are its venue's totals after the change. */
export const FridgeEventSchema = z.object({ type: z.literal('fridge'), venueId: z.string(), fridge: FridgeJsonSchema, totals: VenueTotalsJsonSchema });
/**
 * A venue's configuration changed (its record, meals, gateways or promotions): `venue` is its new
 * list entry, `null` when the venue has no record any more. Fridges, gateways and meals may have
 * come or gone: read `GET /v1/venues/{venueId}` again.
 */
export const VenueEventSchema = z.object({ type: z.literal('venue'), venueId: z.string(), venue: VenueSummaryJsonSchema.nullable() });
/** An order changed state, conflicts or variants. */
export const OrderEventSchema = z.object({ type: z.literal('order'), venueId: z.string(), order: VenueOrderJsonSchema });
/** A kitchen delivery was announced, or its fridge's snapshot made it `observed` (or changed its discrepancy). */
export const DeliveryEventSchema = z.object({ type: z.literal('delivery'), venueId: z.string(), delivery: DeliveryJsonSchema });
/** The events after the client's `Last-Event-ID` are gone (or central restarted): reload over REST. */
export const RefetchEventSchema = z.object({ type: z.literal('refetch'), reason: z.string() });

/** The events that concern one venue (all but `refetch`). */
export const VenueLiveEventSchema = z.discriminatedUnion('type', [FridgeEventSchema, VenueEventSchema, OrderEventSchema, DeliveryEventSchema]);
export type VenueLiveEvent = z.infer<typeof VenueLiveEventSchema>;
/** One event of the live feed. */
export const LiveEventSchema = z.discriminatedUnion('type', [FridgeEventSchema, VenueEventSchema, OrderEventSchema, DeliveryEventSchema, RefetchEventSchema]);
export type LiveEvent = z.infer<typeof LiveEventSchema>;
