/** Kitchen and promotion routes: deliveries, refill plan, promotion imports. */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CitySchema, DeliveryBodySchema, DeliveryListJsonSchema, ERROR_CODES, VenueIdSchema } from '@fridgesync/shared';
import type { KitchenService } from '../kitchen.ts';
import type { PromotionService } from '../promotions.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import { roles } from './route-policy.ts';

/** Registers kitchen and promotion routes. */
export function registerKitchenRoutes(app: FastifyInstance, kitchen: KitchenService, promotions: PromotionService, rateLimit: RateLimitConfig): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/kitchen/deliveries',
    { schema: { tags: ['kitchen'], summary: 'Announce a restock (idempotent by deliveryId)', body: DeliveryBodySchema }, config: { access: roles('kitchen', 'admin'), errors: ['UNKNOWN_VENUE', 'UNKNOWN_FRIDGE', 'UNKNOWN_MEAL', 'ORDER_CONFLICT', 'NOT_READY', 'STORAGE_FAILED'], rateLimit } },
    async (req, reply) => {
      const res = await kitchen.announce(req.body);
      return reply.status(res.status).send(res.delivery);
    },
  );
  r.get(
    '/v1/kitchen/deliveries',
    { schema: { tags: ['kitchen'], summary: 'Announced deliveries: incoming, or observed with the discrepancy', querystring: z.object({ venueId: VenueIdSchema.optional() }), response: { 200: DeliveryListJsonSchema } }, config: { access: roles('kitchen', 'admin', 'viewer') } },
    async (req) => ({ deliveries: kitchen.list(req.query.venueId) }),
  );
  r.get(
    '/v1/kitchen/refill-plan',
    { schema: { tags: ['kitchen'], summary: 'What to bring next per fridge and meal', querystring: z.object({ city: CitySchema.optional() }) }, config: { access: roles('kitchen', 'admin', 'viewer') } },
    async (req) => kitchen.refillPlan(req.query.city),
  );

  // CSV uploads arrive as text; the import parses them itself to report row numbers.
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  r.post(
    '/v1/promotions',
    {
      schema: {
        tags: ['promotions'],
        summary: 'Import promotions (CSV with header venueId,mealId,fridgeId,priceCents,from,until, or JSON rows); all or nothing',
        querystring: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
        body: z.union([z.string(), z.array(z.unknown()), z.object({ rows: z.array(z.unknown()) })]),
      },
      config: { access: roles('admin'), errors: ['NOT_READY', 'STORAGE_FAILED'], rateLimit },
    },
    async (req, reply) => {
      const res = await promotions.import(req.body, req.query.dryRun === 'true');
      if (!res.valid && !res.dryRun) {
        const e = ERROR_CODES.VALIDATION_FAILED;
        return reply.status(e.statusCode).send({ statusCode: e.statusCode, code: 'VALIDATION_FAILED', message: `${res.errors.length} problem(s); nothing was applied`, errors: res.errors });
      }
      return reply.status(res.dryRun || res.applied === 0 ? 200 : 201).send(res);
    },
  );
  r.get(
    '/v1/promotions',
    {
      schema: { tags: ['promotions'], summary: 'Promotions, optionally one venue or only active ones', querystring: z.object({ venueId: VenueIdSchema.optional(), active: z.enum(['true', 'false']).optional() }) },
      config: { access: roles('admin', 'viewer', 'kitchen', 'app') },
    },
    async (req) => ({ promotions: promotions.list(req.query.venueId, req.query.active === 'true' ? Date.now() : undefined) }),
  );
}
