/**
 * The agent's local HTTP port (fastify): the kiosk order API and the operator endpoints.
 *
 * Kiosk: `POST /v1/orders`, `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`,
 * `POST /v1/orders/{id}/unlock` (sends `unlock` to the order's fridge), using
 * the shared `reserve`/`settle` within this gateway's own rights, online or offline. A reservation
 * answers only after its transaction is durable locally; lacking rights is `409 SOLD_OUT` at once
 * (and, when another replica reconciles the fridge, a request for more rights is recorded for next
 * time — the kiosk never waits on the network). Errors are `{statusCode, code, message}` from the
 * shared catalog.
 *
 * Operators: `/livez` (the process runs), `/readyz` (the replica writes and the broker is up),
 * `/status` (JSON), `/metrics` (Prometheus), and the API's OpenAPI description at
 * `/documentation/json` with a page that renders it at `/documentation`.
 *
 * Access (http-access.ts): the kiosk routes need `http.kioskToken` when one is set, else they answer
 * only requests from this host; `/metrics` needs `http.metricsToken` when one is set.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  API_DOC_CSS,
  API_DOC_JS,
  CreateOrderBodySchema,
  LIVEZ_BODY,
  OrderResponseSchema,
  READYZ_BODY,
  SoldOutError,
  apiDocHtml,
  DEFAULT_HOLD_SECONDS,
  ERROR_CODES,
  FridgesyncError,
  ORIGINS,
  OrderIdSchema,
  configRecord,
  foldOrder,
  needsResolution,
  orderResponse,
  requestLackingRights,
  reserve,
  settle,
  type MealId,
  type OrderFold,
  type ErrorCode,
  type VenueId,
} from '@fridgesync/shared';
import { NotWritableError, type LocalReplica } from './local-replica.ts';
import { StoreFailedError } from './replica-store.ts';
import type { AgentMetrics } from './metrics.ts';
import type { FridgeBroker } from './fridge-broker.ts';
import { installGatewayAccess } from './http-access.ts';

/** Options of {@link buildHttpApi}. */
export interface HttpApiOptions {
  venueId: VenueId;
  replica: LocalReplica;
  metrics: AgentMetrics;
  bodyLimitBytes: number;
  /** The `/status` document. */
  status: () => unknown;
  /** Why the agent cannot take fridge messages and orders now (empty: ready). */
  notReady: () => string[];
  /** Commands to fridges (the unlock of a reserved order). */
  commands: Pick<FridgeBroker, 'sendCommand' | 'fridgeConnected'>;
  /** Bearer token the kiosk routes require (`http.kioskToken`); unset: loopback callers only. */
  kioskToken?: string | undefined;
  /** Bearer token `/metrics` requires (`http.metricsToken`); unset: open. */
  metricsToken?: string | undefined;
  /** Version shown in the OpenAPI description. */
  version?: string;
  now?: () => number;
}

const OrderParams = z.object({ id: z.string() });
const ordered = { 200: OrderResponseSchema, 201: OrderResponseSchema };

/** Builds the fastify app (not listening). */
export async function buildHttpApi(o: HttpApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimitBytes });
  const now = o.now ?? Date.now;
  const { replica, metrics, venueId } = o;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installGatewayAccess(app, { kioskToken: o.kioskToken, metricsToken: o.metricsToken });
  // Awaited before the routes: swagger collects them as they are registered.
  await app.register(swagger, {
    openapi: {
      info: { title: 'fridgesync gateway kiosk API', version: o.version ?? '0.0.0', description: `Orders at venue ${venueId}, taken within this gateway's own rights, online or offline; health and metrics.` },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });
  const open = { config: { gatewayAccess: 'public' as const } };
  const kiosk = (...gatewayErrors: ErrorCode[]) => ({ config: { gatewayAccess: 'kiosk' as const, gatewayErrors } });

  app.setErrorHandler((err, _req, reply) => {
    let e: FridgesyncError;
    if (err instanceof FridgesyncError) e = err;
    else if (err instanceof NotWritableError) e = new FridgesyncError('NOT_READY', err.message);
    else if (err instanceof StoreFailedError) e = new FridgesyncError('STORAGE_FAILED');
    else if ((err as { statusCode?: number }).statusCode === 413) e = new FridgesyncError('PAYLOAD_TOO_LARGE');
    else if ((err as { statusCode?: number }).statusCode === 400) e = new FridgesyncError('VALIDATION_FAILED', (err as Error).message);
    else e = new FridgesyncError('INTERNAL');
    void reply.status(e.statusCode).send(e.toBody());
  });
  app.setNotFoundHandler((_req, reply) => void reply.status(404).send(new FridgesyncError('NOT_FOUND').toBody()));

  app.get('/livez', { ...open, schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => LIVEZ_BODY);
  app.get('/readyz', { config: { gatewayAccess: 'public', gatewayErrors: ['NOT_READY'] }, schema: { tags: ['ops'], summary: 'Readiness: the replica writes and the broker is up' } }, async (_req, reply) => {
    const why = o.notReady();
    if (why.length === 0) return READYZ_BODY;
    return reply.status(503).send(new FridgesyncError('NOT_READY', `not ready: ${why.join('; ')}`).toBody());
  });
  // /status names central's URL, fridge ids and rights held: guarded like /metrics (http-access.ts).
  app.get('/status', { config: { gatewayAccess: 'metrics' }, schema: { tags: ['ops'], summary: 'Lifecycle, broker, sync, store and rights held (JSON)' } }, async () => o.status());
  app.get('/metrics', { config: { gatewayAccess: 'metrics' }, schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  // The documentation page's script and style are files, so its CSP allows no inline code.
  const docCsp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  const page = apiDocHtml(`fridgesync gateway kiosk API (venue ${venueId})`);
  app.get('/documentation', { ...open, schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', docCsp).send(page));
  app.get('/documentation/page.js', { ...open, schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(API_DOC_JS));
  app.get('/documentation/page.css', { ...open, schema: { hide: true } }, async (_req, reply) => reply.type('text/css; charset=utf-8').send(API_DOC_CSS));
  app.get('/documentation/json', { ...open, schema: { hide: true } }, async () => (app as unknown as { swagger(): unknown }).swagger());

  const createOpts = {
    ...kiosk('UNKNOWN_VENUE', 'UNKNOWN_FRIDGE', 'SOLD_OUT', 'ORDER_CONFLICT', 'NOT_READY', 'STORAGE_FAILED'),
    // Validated in the handler, where an invalid body is counted; the schema documents it.
    attachValidation: true,
    schema: { tags: ['kiosk'], summary: "Reserve meals within this gateway's rights (idempotent by orderId; a replay answers 200)", body: CreateOrderBodySchema, response: ordered },
  };
  const readOpts = { ...kiosk('UNKNOWN_ORDER'), schema: { tags: ['kiosk'], summary: 'The folded state of an order', params: OrderParams, response: { 200: OrderResponseSchema } } };
  const cancelOpts = {
    ...kiosk('UNKNOWN_ORDER', 'ORDER_SETTLED', 'ORDER_NEEDS_RESOLUTION', 'NOT_READY', 'STORAGE_FAILED'),
    schema: { tags: ['kiosk'], summary: 'Cancel a reserved order (a contents conflict answers ORDER_NEEDS_RESOLUTION: staff resolve it at central)', params: OrderParams, response: { 200: OrderResponseSchema } },
  };
  const unlockOpts = {
    ...kiosk('UNKNOWN_ORDER', 'ORDER_SETTLED', 'ORDER_NEEDS_RESOLUTION', 'FRIDGE_OFFLINE'),
    schema: {
      tags: ['kiosk'],
      summary: 'Open the fridge of a reserved order (sends `unlock`; the fridge reports the pickup)',
      params: OrderParams,
      response: { 202: z.object({ orderId: z.string(), fridgeId: z.string(), command: z.literal('unlock') }) },
    },
  };

  app.post('/v1/orders', createOpts, async (req, reply) => {
    const parsed = CreateOrderBodySchema.safeParse(req.body);
    if (!parsed.success) {
      metrics.orders.inc({ result: 'invalid' });
      throw new FridgesyncError('VALIDATION_FAILED', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const b = parsed.data;
    if (b.venueId !== venueId) throw new FridgesyncError('UNKNOWN_VENUE', `this gateway serves venue ${venueId}`);
    if (!replica.writable) throw new NotWritableError(replica.state);
    if (configRecord(replica.doc, 'fridge', b.fridgeId) === undefined) throw new FridgesyncError('UNKNOWN_FRIDGE');
    const t = now();
    const result = await replica.durably(() =>
      reserve(replica.doc, ORIGINS.kiosk, {
        orderId: b.orderId,
        fridgeId: b.fridgeId,
        lines: b.items,
        holdUntil: t + (b.holdSeconds ?? DEFAULT_HOLD_SECONDS) * 1000,
        now: t,
      }),
    );
    if (!result.ok && result.code === 'SOLD_OUT') {
      metrics.orders.inc({ result: 'sold-out' });
      askForRights(replica, b.fridgeId, result.lacking);
      throw new SoldOutError(result.lacking);
    }
    if (!result.ok) {
      metrics.orders.inc({ result: 'conflict' });
      throw new FridgesyncError('ORDER_CONFLICT');
    }
    metrics.orders.inc({ result: result.status });
    return reply.status(result.status === 'created' ? 201 : 200).send(orderResponse(venueId, result.order));
  });

  app.get<{ Params: { id: string } }>('/v1/orders/:id', readOpts, async (req) => {
    const id = OrderIdSchema.safeParse(req.params.id);
    const order = id.success ? foldOrder(replica.doc, id.data) : undefined;
    if (order === undefined) throw new FridgesyncError('UNKNOWN_ORDER');
    return orderResponse(venueId, order);
  });

  app.post<{ Params: { id: string } }>('/v1/orders/:id/cancel', cancelOpts, async (req) => {
    const id = OrderIdSchema.safeParse(req.params.id);
    if (!id.success) throw new FridgesyncError('UNKNOWN_ORDER');
    const r = await replica.durably(() => settle(replica.doc, ORIGINS.kiosk, id.data, 'cancelled', now(), { customer: true }));
    if (!r.ok) throw new FridgesyncError(r.code, r.code === 'ORDER_SETTLED' ? `${ERROR_CODES.ORDER_SETTLED.message} (${r.order.state})` : undefined);
    metrics.orders.inc({ result: 'cancelled' });
    return orderResponse(venueId, r.order);
  });

  // The customer at the fridge: open the door for a reserved order. The fridge reports what was
  // taken as a pickup, which settles the order (nothing is written here).
  app.post<{ Params: { id: string } }>('/v1/orders/:id/unlock', unlockOpts, async (req, reply) => {
    const id = OrderIdSchema.safeParse(req.params.id);
    const order = id.success ? foldOrder(replica.doc, id.data) : undefined;
    if (order === undefined) throw new FridgesyncError('UNKNOWN_ORDER');
    if (order.state !== 'reserved') throw new FridgesyncError('ORDER_SETTLED', `${ERROR_CODES.ORDER_SETTLED.message} (${order.state})`);
    // Which customer stands at the fridge is unknown: the door would hand out either claim's meals.
    if (needsResolution(order)) throw new FridgesyncError('ORDER_NEEDS_RESOLUTION');
    if (o.commands.fridgeConnected(order.fridge) === false) throw new FridgesyncError('FRIDGE_OFFLINE');
    await o.commands.sendCommand(order.fridge, { type: 'unlock', orderId: order.orderId });
    metrics.commands.inc({ type: 'unlock' });
    return reply.status(202).send({ orderId: order.orderId, fridgeId: order.fridge, command: 'unlock' });
  });

  return app;
}

/**
 * Records a request for more rights (`requestLackingRights`: only when another replica reconciles
 * the fridge). Fire and forget: the 409 is already decided.
 */
function askForRights(replica: LocalReplica, fridge: OrderFold['fridge'], lacking: Array<{ mealId: MealId; requested: number }>): void {
  if (!replica.writable) return;
  void replica.write(ORIGINS.kiosk, (w) => requestLackingRights(w, fridge, lacking)).catch(() => undefined);
}
