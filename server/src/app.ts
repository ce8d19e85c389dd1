/**
 * `buildApp(config, deps)`: wires central from a validated config and injectable dependencies
 * (storage, logger, clock, dashboard directory), loads the known venue documents, and returns a
 * ready {@link Central}. `main.ts` reads files, env and signals; tests call this with port 0 and
 * temp dirs.
 */
import { resolve } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { centralLogger } from './logger.ts';
import { FridgesyncError, centralReplicaId, isLoopbackHost, type VenueId } from '@fridgesync/shared';
import type { CentralConfig } from './config-schema.ts';
import type { DocStorage } from './storage/storage-port.ts';
import { createLevelStorage } from './storage/level-storage.ts';
import { createMemoryStorage } from './storage/memory-storage.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { Authenticator } from './auth.ts';
import { GatewayTokens } from './gateway-tokens.ts';
import { DocRegistry } from './doc-registry.ts';
import { CentralWriter } from './central-writer.ts';
import { CENTRAL_VERSION } from './version.ts';
import { EventHub } from './event-hub.ts';
import { ReadModel } from './read-model.ts';
import { OrderService } from './order-service.ts';
import { KitchenService } from './kitchen.ts';
import { PromotionService } from './promotions.ts';
import { GatewayPresence } from './sync/gateway-presence.ts';
import { GatewayFeed } from './sync/gateway-feed.ts';
import { registerSyncRoute } from './sync/sync-route.ts';
import type { SyncSession } from './sync/sync-session.ts';
import { installErrorHandling } from './http/errors.ts';
import { installRoutePolicy, type RouteInfo } from './http/route-policy.ts';
import { SECURITY_HEADERS } from './http/security-headers.ts';
import { writeRateLimit } from './http/rate-limit.ts';
import { registerOrderRoutes } from './http/order-routes.ts';
import { registerReadRoutes } from './http/read-routes.ts';
import { registerEventsRoute } from './http/events-route.ts';
import { registerKitchenRoutes } from './http/kitchen-routes.ts';
import { registerAdminRoutes } from './http/admin-routes.ts';
import { registerOpsRoutes } from './http/ops-routes.ts';
import { registerDashboardRoute } from './http/dashboard-route.ts';
import { registerEventLogRoutes } from './http/event-log-routes.ts';
import { openEventLog, type AttachedEventLog } from './event-log/open-event-log.ts';
import { gatewayLinkFact } from './event-log/gateway-facts.ts';

/** Injectable dependencies of {@link buildApp}; everything has a production default. */
export interface CentralDeps {
  /** Storage; default from `config.storage` (LevelDB in `dataDir`, or memory). */
  storage?: DocStorage;
  /** Logger; default pino at `config.logLevel` to stdout. */
  logger?: Logger;
  /** Directory served at `/dashboard/`; default `server/dashboard` next to this package. */
  dashboardDir?: string;
  /** Called once when a synced write fails (main exits non-zero so a supervisor restarts it). */
  onFatal?: (e: Error) => void;
}

/** A built central: the fastify app plus its parts (tests reach into them). */
export interface Central {
  app: FastifyInstance;
  config: CentralConfig;
  registry: DocRegistry;
  model: ReadModel;
  hub: EventHub;
  metrics: Metrics;
  writer: CentralWriter;
  storage: DocStorage;
  /** The domain event log and its deriver (undefined when `eventLog.enabled` is false). */
  eventLog: AttachedEventLog | undefined;
  /** Every registered route with its access and documented errors (tests iterate it). */
  routes: readonly RouteInfo[];
  /** Listens on `config.http`; resolves to the base URL (`http://host:port`). */
  listen(): Promise<string>;
  /** Graceful shutdown: sockets closed with 1001, pending writes flushed, storage closed. */
  close(): Promise<void>;
}

/** Builds a ready central (storage open, known venues loaded). */
export async function buildApp(config: CentralConfig, deps: CentralDeps = {}): Promise<Central> {
  const log = centralLogger(config.logLevel, deps.logger);
  const metrics = createMetrics();
  const storage =
    deps.storage ??
    (config.storage.engine === 'memory'
      ? createMemoryStorage()
      : createLevelStorage({
          dir: config.storage.dataDir,
          onBatch: (n, seconds) => {
            metrics.storageBatchUpdates.observe(n);
            metrics.storageSyncSeconds.observe(seconds);
          },
        }));
  await storage.open();
  // What is opened from here on is closed again if a later step fails, so a failed start releases
  // the storage lock and leaves no handle that keeps the process alive.
  const opened: Array<() => Promise<unknown>> = [() => storage.close()];
  try {
    return await assemble(config, deps, log, metrics, storage, opened);
  } catch (e) {
    for (const c of opened.reverse()) await c().catch(() => undefined);
    throw e;
  }
}

/** The rest of {@link buildApp} once storage is open; registers what it opens in `opened`. */
async function assemble(
  config: CentralConfig,
  deps: CentralDeps,
  log: Logger,
  metrics: Metrics,
  storage: DocStorage,
  opened: Array<() => Promise<unknown>>,
): Promise<Central> {
  const replica = centralReplicaId(config.instanceId);
  const auth = new Authenticator(config.tokens);
  const gatewayTokens = new GatewayTokens(storage, auth);
  await gatewayTokens.load();
  const hub = new EventHub({ retainEvents: config.events.retainEvents, retainMs: config.events.retainMs });
  const model = new ReadModel(replica, hub, Date.now, (e, venueId) => log.error({ err: e, venueId }, 'read model update failed'));
  hub.subscribe((e) => metrics.events.inc({ type: e.data.type }));
  const writer = new CentralWriter(replica, config, log, metrics);
  const eventLog = await openEventLog({ config, log, metrics, deliveryBaseline: (v, id) => model.venues.get(v)?.deliveries.get(id)?.before });
  if (eventLog !== undefined) opened.push(() => eventLog.close());
  const presence = new GatewayPresence(Date.now);
  // A gateway's link is central's own observation (not in any document): noted as it happens, for
  // a connection that speaks for a replica (a joining one is online once its upgrade names it).
  if (eventLog !== undefined) {
    presence.watch((venue, gateway, change) => {
      const link = change === 'link' ? presence.get(venue, gateway) : undefined;
      if (link?.replica !== undefined) eventLog.deriver.note(gatewayLinkFact(venue, gateway, link));
    });
  }
  const sessions = new Set<SyncSession>();
  let fatal: Error | undefined;
  let closing = false;
  let initialLoad = false;

  const registry: DocRegistry = new DocRegistry({
    storage,
    replica,
    compactEvery: config.storage.compactEvery,
    idleUnloadMs: config.documents.idleUnloadMs,
    log,
    metrics,
    keepLoaded: (host) => writer.holdsOrders(host),
    onStorageFailure: (e) => {
      if (fatal !== undefined) return;
      fatal = e;
      // Stop acknowledging: every writer disconnects and must resync with a healthy central.
      for (const s of sessions) s.close('GOING_AWAY', 'storage failed');
      deps.onFatal?.(e);
    },
  });
  metrics.observeHosts(() => registry.hosts());
  const gatewayFeed = new GatewayFeed({ model, presence, registry, hub, maxClockSkewMs: config.sync.maxClockSkewMs });
  opened.push(async () => gatewayFeed.close());
  // The writer first: the read model builds from the records it seeds.
  registry.observe(writer);
  registry.observe(model);
  // After the read model: a delivery's discrepancy reads the baseline the model keeps.
  if (eventLog !== undefined) registry.observe(eventLog.deriver);

  const app: FastifyInstance = Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit: config.http.bodyLimitBytes, forceCloseConnections: true, return503OnClosing: true });
  opened.push(() => registry.close(), () => app.close());
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'fridgesync central', version: CENTRAL_VERSION, description: 'Catalog, orders, kitchen, promotions, live feed and sync of fridgesync.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(rateLimit, { global: false, errorResponseBuilder: () => new FridgesyncError('RATE_LIMITED') });
  await app.register(websocket, { options: { maxPayload: config.sync.maxFrameBytes } });
  // The route policy's authentication hook comes after the plugins' `onRequest` hooks (they run in
  // registration order): a 401 still carries helmet's headers, and a refused websocket upgrade is
  // still marked as one, so its socket is destroyed.
  await app.register(helmet, SECURITY_HEADERS);
  const routes = installRoutePolicy(app, {
    auth,
    metricsTokenHash: config.http.metricsTokenHash,
    maxAuthFailuresPerAddress: config.http.maxAuthFailuresPerAddress,
    authFailureWindowMs: config.http.authFailureWindowMs,
  });

  const knownVenues = new Set<string>(config.registry.venues.map((v) => v.id));
  for (const v of await storage.listVenues()) knownVenues.add(v);
  for (const v of knownVenues) model.expectVenue(v);
  const limit = writeRateLimit(config.http.writeRateLimitPerMinute);
  const orders = new OrderService(registry, model.orderVenue, metrics, (v) => knownVenues.has(v));
  const kitchen = new KitchenService(registry, model);
  const promotions = new PromotionService(registry, model, writer);

  registerOpsRoutes(app, metrics, {
    ready: () => {
      if (fatal !== undefined) return { ok: false, reason: 'durable storage failed' };
      if (closing) return { ok: false, reason: 'shutting down' };
      if (!initialLoad) return { ok: false, reason: 'loading venue documents' };
      return { ok: true };
    },
  });
  registerSyncRoute(app, { config, auth, registry, metrics, presence, sessions, venueKnown: (v) => knownVenues.has(v) });
  registerOrderRoutes(app, orders, limit);
  registerReadRoutes(app, model, hub, presence, registry, config.sync.maxClockSkewMs);
  const endStreams = registerEventsRoute(app, hub, model, metrics, config.events);
  if (eventLog !== undefined) registerEventLogRoutes(app, eventLog.log);
  registerKitchenRoutes(app, kitchen, promotions, limit);
  registerAdminRoutes(app, { registry, model, writer, rateLimit: limit, knownVenues, gatewayTokens });
  await registerDashboardRoute(app, deps.dashboardDir ?? resolve(import.meta.dirname, '..', 'dashboard'));
  await app.ready();

  // Load every known venue off the request path; a venue that fails stays unserved (and unwritten).
  const results = await Promise.allSettled([...knownVenues].map((v) => registry.acquire(v as VenueId)));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) log.error({ failed }, 'some venue documents could not be loaded; they are retried on use');
  initialLoad = true;

  const sweep = setInterval(() => {
    for (const host of registry.hosts()) {
      try {
        writer.sweepOrders(host);
      } catch (e) {
        log.error({ err: e, venueId: host.venueId }, 'order sweep failed');
      }
    }
  }, config.orders.sweepMs);
  const idle = setInterval(() => void registry.sweepIdle().catch((e: unknown) => log.error({ err: e }, 'idle sweep failed')), Math.min(60_000, config.documents.idleUnloadMs / 2));
  sweep.unref();
  idle.unref();

  return {
    app,
    config,
    registry,
    model,
    hub,
    metrics,
    writer,
    storage,
    eventLog,
    routes,
    async listen() {
      const url = await app.listen({ host: config.http.host, port: config.http.port });
      if (config.http.metricsTokenHash === undefined && !isLoopbackHost(config.http.host)) log.warn({ host: config.http.host }, '/metrics is open to the network: set http.metricsTokenHash');
      return url;
    },
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(sweep);
      clearInterval(idle);
      gatewayFeed.close();
      endStreams();
      for (const s of [...sessions]) s.close('GOING_AWAY', 'central is shutting down');
      await app.close();
      await registry.close();
      await eventLog?.close();
      await storage.close();
    },
  };
}

/** True for a listen address only this host can reach. */
