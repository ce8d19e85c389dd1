/**
 * The read-side view of an order: the venue detail lists open orders in it and the `order` event
 * of `GET /v1/events` carries it (README "Contracts", "Read views and live events"). It is the
 * order API's answer ({@link OrderResponseSchema}) plus who took the order.
 */
import { z } from 'zod';
import { OrderResponseSchema, orderResponse } from '../http-schemas.ts';
import type { OrderFold } from '../fold.ts';
import type { VenueId } from '../ids.ts';

/** An order as the venue detail and the live feed show it. */
export const VenueOrderJsonSchema = OrderResponseSchema.extend({
  createdBy: z.string().nullable().describe('The replica that first took the order.'),
});
export type VenueOrderJson = z.infer<typeof VenueOrderJsonSchema>;

/** The view of a folded order. */
export function venueOrderJson(venueId: VenueId, o: OrderFold): VenueOrderJson {
  return { ...orderResponse(venueId, o), createdBy: o.createdBy ?? null };
}
