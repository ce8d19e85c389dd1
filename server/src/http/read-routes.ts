/**
 * `GET /v1/venues`, `GET /v1/venues/{venueId}`, `GET /v1/catalog?city=`: answered from the read model,
 * in the view schemas of `@fridgesync/shared` (README "Contracts", "Read views and live events").
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CatalogJsonSchema, CitySchema, VenueDetailJsonSchema, VenueIdSchema, VenueListJsonSchema } from '@fridgesync/shared';
import type { ReadModel } from '../read-model.ts';
import type { EventHub } from '../event-hub.ts';
import type { GatewayPresence } from '../sync/gateway-presence.ts';
import type { DocRegistry } from '../doc-registry.ts';
import { catalogJson, venueDetailJson, venueListJson } from '../venue-views.ts';
import { roles } from './route-policy.ts';

/** Registers the read routes. */
export function registerReadRoutes(app: FastifyInstance, model: ReadModel, hub: EventHub, presence: GatewayPresence, registry: DocRegistry, maxClockSkewMs = 30_000): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const readers = roles('viewer', 'admin', 'kitchen');
  r.get('/v1/venues', { schema: { tags: ['venues'], summary: 'Every venue with totals', response: { 200: VenueListJsonSchema } }, config: { access: readers } }, async () => venueListJson(model));
  r.get(
    '/v1/venues/:venueId',
    {
      schema: { tags: ['venues'], summary: 'Merged state of a venue: per fridge and meal T, T_eff, R, S, drift, rights, shortages; open orders (contents conflicts with their variants); gateway links with sync lag and clock skew', params: z.object({ venueId: VenueIdSchema }), response: { 200: VenueDetailJsonSchema } },
      config: { access: readers, errors: ['UNKNOWN_VENUE', 'NOT_READY'] },
    },
    async (req) => {
      // `require` flushes the model, publishing the events of what it folds: the id after it is one
      // the view reflects.
      const vm = model.require(req.params.venueId);
      return venueDetailJson(model, vm, presence, registry, hub.lastId(), Date.now(), maxClockSkewMs);
    },
  );
  r.get(
    '/v1/catalog',
    {
      schema: { tags: ['catalog'], summary: 'What a customer can order now, by venue and fridge, promotion prices applied', querystring: z.object({ city: CitySchema.optional() }), response: { 200: CatalogJsonSchema } },
      config: { access: roles('app', 'viewer', 'admin', 'kitchen') },
    },
    async (req) => catalogJson(model, req.query.city),
  );
}
