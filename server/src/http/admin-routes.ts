/**
 * Admin registry API: venues, fridges (reconciler gateway, par levels), gateways and meals. Every
 * change lands in central-owned `cfg/…` entries of the venue document(s), HLC-versioned, so gateways
 * see it through sync and concurrent central edits converge.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  FridgeIdSchema,
  FridgeRecordSchema,
  FridgesyncError,
  ORIGINS,
  GatewayIdSchema,
  GatewayRecordSchema,
  MealIdSchema,
  MealRecordSchema,
  ReplicaIdSchema,
  allocateEpoch,
  epochAllocated,
  hasRetirement,
  isRetired,
  retire,
  VenueIdSchema,
  VenueRecordSchema,
  type ErrorCode,
  type VenueId,
} from '@fridgesync/shared';
import type { DocRegistry } from '../doc-registry.ts';
import type { ReadModel } from '../read-model.ts';
import type { CentralWriter } from '../central-writer.ts';
import type { ConfigWrite } from '../seed-records.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import type { GatewayTokens } from '../gateway-tokens.ts';
import { TimeZoneSchema, TokenHashSchema } from '../config-schema.ts';
import { roles } from './route-policy.ts';

/** What the admin routes need. */
export interface AdminDeps {
  registry: DocRegistry;
  model: ReadModel;
  writer: CentralWriter;
  rateLimit: RateLimitConfig;
  /** Venues central knows (seeded, stored, created here). */
  knownVenues: Set<string>;
  gatewayTokens: GatewayTokens;
}

/** Registers `/v1/admin/…`. */
export function registerAdminRoutes(app: FastifyInstance, d: AdminDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // Every admin route writes a venue document: it may find it unloadable or fail the synced write.
  const opts = (...errors: ErrorCode[]) => ({ config: { access: roles('admin'), errors: [...errors, 'NOT_READY', 'STORAGE_FAILED'] as ErrorCode[], rateLimit: d.rateLimit } });
  const write = async (venue: VenueId, writes: ConfigWrite[]) => {
    const host = await d.registry.acquire(venue);
    d.writer.writeConfig(host, writes);
    await host.whenDurable();
  };
  const venueOf = (id: VenueId) => {
    return d.model.require(id);
  };

  r.put(
    '/v1/admin/venues/:venueId',
    {
      ...opts(),
      schema: {
        tags: ['admin'],
        summary: 'Create or change a venue',
        // The time zone is checked here, at the edge, not in the stored record's schema: a record
        // already in a document must keep folding on a replica whose time zone data differs.
        params: z.object({ venueId: VenueIdSchema }),
        body: VenueRecordSchema.extend({ timezone: TimeZoneSchema }),
      },
    },
    async (req) => {
      const id = req.params.venueId;
      const isNew = d.model.get(id) === undefined;
      const writes: ConfigWrite[] = [{ section: 'venue', id, record: req.body }];
      if (isNew) {
        // A new venue document gets the whole meal catalog.
        const meals = new Map<string, unknown>();
        for (const vm of d.model.venuesIn()) for (const [m, rec] of vm.meals) meals.set(m, rec);
        for (const [m, rec] of meals) writes.push({ section: 'meal', id: m, record: rec as never });
      }
      d.knownVenues.add(id);
      await write(id, writes);
      return { venueId: id, ...req.body };
    },
  );
  r.put(
    '/v1/admin/venues/:venueId/fridges/:fridgeId',
    {
      ...opts('UNKNOWN_VENUE'),
      schema: { tags: ['admin'], summary: 'Create or change a fridge (reconciler gateway, par levels)', params: z.object({ venueId: VenueIdSchema, fridgeId: FridgeIdSchema }), body: FridgeRecordSchema.omit({ venueId: true }) },
    },
    async (req) => {
      venueOf(req.params.venueId);
      const record = { ...req.body, venueId: req.params.venueId };
      await write(req.params.venueId, [{ section: 'fridge', id: req.params.fridgeId, record }]);
      return { fridgeId: req.params.fridgeId, ...record };
    },
  );
  r.delete(
    '/v1/admin/venues/:venueId/fridges/:fridgeId',
    { ...opts('UNKNOWN_VENUE', 'UNKNOWN_FRIDGE'), schema: { tags: ['admin'], summary: 'Remove a fridge from the registry', params: z.object({ venueId: VenueIdSchema, fridgeId: FridgeIdSchema }) } },
    async (req) => {
      const vm = venueOf(req.params.venueId);
      if (vm.fridges.get(req.params.fridgeId)?.view.config === undefined) throw new FridgesyncError('UNKNOWN_FRIDGE');
      await write(req.params.venueId, [{ section: 'fridge', id: req.params.fridgeId, record: null }]);
      return { deleted: req.params.fridgeId };
    },
  );
  r.put(
    '/v1/admin/venues/:venueId/gateways/:gatewayId',
    {
      ...opts('UNKNOWN_VENUE'),
      schema: {
        tags: ['admin'],
        summary: 'Register or change a gateway; `tokenHash` (sha256:…, see `central hash-token`) sets its sync token',
        params: z.object({ venueId: VenueIdSchema, gatewayId: GatewayIdSchema }),
        body: GatewayRecordSchema.omit({ venueId: true }).extend({ tokenHash: TokenHashSchema.optional() }),
      },
    },
    async (req) => {
      venueOf(req.params.venueId);
      const { tokenHash, ...rest } = req.body;
      const record = { ...rest, venueId: req.params.venueId };
      await write(req.params.venueId, [{ section: 'gateway', id: req.params.gatewayId, record }]);
      // The hash stays central-private: never in the venue document.
      if (tokenHash !== undefined) await d.gatewayTokens.set(req.params.venueId, req.params.gatewayId, tokenHash, `gw-${req.params.gatewayId}`);
      return { gatewayId: req.params.gatewayId, ...record, tokenRegistered: tokenHash !== undefined };
    },
  );
  r.post(
    '/v1/admin/venues/:venueId/replicas/:replicaId/retire',
    {
      ...opts('UNKNOWN_VENUE'),
      schema: {
        tags: ['admin'],
        summary: 'Declare a gateway replica dead: retire it (its rights flow back to the reconciler) and close its connection',
        params: z.object({ venueId: VenueIdSchema, replicaId: ReplicaIdSchema }),
      },
    },
    async (req) => {
      venueOf(req.params.venueId);
      const replica = req.params.replicaId;
      if (!replica.startsWith('gw:')) throw new FridgesyncError('FORBIDDEN', 'only gateway replicas are retired here');
      const host = await d.registry.acquire(req.params.venueId);
      if (!hasRetirement(host.doc, replica)) host.doc.transact(ORIGINS.api, (w) => retire(w, replica, Date.now()));
      const peer = host.replicaPeers.get(replica);
      if (peer !== undefined) host.peers.get(peer)?.close('REPLICA_RETIRED', `${replica} was retired by an operator`);
      await host.whenDurable();
      return { retired: replica, venueId: req.params.venueId };
    },
  );
  r.post(
    '/v1/admin/venues/:venueId/gateways/:gatewayId/epochs/:epoch',
    {
      ...opts('UNKNOWN_VENUE', 'FORBIDDEN'),
      schema: {
        tags: ['admin'],
        summary:
          'Record that central allocated an epoch to a gateway (docs/sync-protocol.md, "Epoch allocation"): for a gateway whose intact store is at an epoch central lost, e.g. after central was restored from an older backup',
        params: z.object({ venueId: VenueIdSchema, gatewayId: GatewayIdSchema, epoch: z.coerce.number().int().min(1).max(999_999_999) }),
      },
    },
    async (req) => {
      venueOf(req.params.venueId);
      const { gatewayId, epoch } = req.params;
      const host = await d.registry.acquire(req.params.venueId);
      const replica = ReplicaIdSchema.parse(`gw:${gatewayId}:${epoch}`);
      // A retired replica is never revived: its rights already flowed to the reconciler.
      if (isRetired(host.doc, replica)) throw new FridgesyncError('FORBIDDEN', `${replica} is retired; the gateway must join under a new epoch`);
      if (!epochAllocated(host.doc, gatewayId, epoch)) host.doc.transact(ORIGINS.api, (w) => allocateEpoch(w, gatewayId, epoch, Date.now()));
      await host.whenDurable();
      return { allocated: replica, venueId: req.params.venueId };
    },
  );
  r.put(
    '/v1/admin/meals/:mealId',
    { ...opts(), schema: { tags: ['admin'], summary: 'Create or change a meal in every venue', params: z.object({ mealId: MealIdSchema }), body: MealRecordSchema } },
    async (req) => {
      const venues = d.model.venuesIn().map((v) => v.venueId);
      await Promise.all(venues.map((v) => write(v, [{ section: 'meal', id: req.params.mealId, record: req.body }])));
      return { mealId: req.params.mealId, ...req.body, venues: venues.length };
    },
  );
}
