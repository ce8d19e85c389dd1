/**
 * The live feed of `GET /v1/events`: one discriminated union on `type`. Each server-sent event's
 * `event:` field names its type and its `data:` is the JSON of one {@link LiveEvent}; the views in
 * it are exactly those of the REST routes (README "Contracts", "Read views and live events").
 */
import { z } from 'zod';
import { FridgeJsonSchema } from './fridge.ts';
import { VenueOrderJsonSchema } from './order.ts';
import { DeliveryJsonSchema, GatewayJsonSchema, VenueSummaryJsonSchema, VenueTotalsJsonSchema } from './venue.ts';

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
/**
 * A gateway's link to central changed: `gateway` is its entry in the venue detail. Published at
 * once when it connects or disconnects; changes of its sync state, pending updates, lag, clock
 * skew, lost reconcilership or flagged increments at most once a second per gateway, and only
 * when one of them changed: the times of its last message and durable write move with every
 * message and alone publish nothing, and the lag of a disconnected gateway is the time since
 * `lastMessageAt` (README "Read views and live events").
 */
export const GatewayEventSchema = z.object({ type: z.literal('gateway'), venueId: z.string(), gateway: GatewayJsonSchema });
/** The events after the client's `Last-Event-ID` are gone (or central restarted): reload over REST. */
export const RefetchEventSchema = z.object({ type: z.literal('refetch'), reason: z.string() });

/** The events that concern one venue (all but `refetch`). */
export const VenueLiveEventSchema = z.discriminatedUnion('type', [FridgeEventSchema, VenueEventSchema, OrderEventSchema, DeliveryEventSchema, GatewayEventSchema]);
export type VenueLiveEvent = z.infer<typeof VenueLiveEventSchema>;
/** One event of the live feed. */
export const LiveEventSchema = z.discriminatedUnion('type', [FridgeEventSchema, VenueEventSchema, OrderEventSchema, DeliveryEventSchema, GatewayEventSchema, RefetchEventSchema]);
export type LiveEvent = z.infer<typeof LiveEventSchema>;
