/** The customer catalog of `GET /v1/catalog` (README "Contracts", "Read views and live events"). */
import { z } from 'zod';

/** What a customer can order now, by venue and fridge, promotion prices applied. */
export const CatalogJsonSchema = z.object({
  city: z.string().nullable(),
  at: z.string(),
  venues: z.array(
    z.object({
      venueId: z.string(),
      name: z.string(),
      city: z.string(),
      fridges: z.array(
        z.object({
          fridgeId: z.string(),
          name: z.string().nullable(),
          online: z.boolean(),
          meals: z.array(
            z.object({
              mealId: z.string(),
              name: z.string(),
              allergens: z.array(z.string()),
              available: z.number().int().describe('Sellable units over every order taker.'),
              priceCents: z.number().int(),
              listPriceCents: z.number().int(),
              promotionId: z.string().nullable(),
            }),
          ),
        }),
      ),
    }),
  ),
});
export type CatalogJson = z.infer<typeof CatalogJsonSchema>;
