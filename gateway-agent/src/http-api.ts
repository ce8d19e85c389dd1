/**
 * The agent's local HTTP port (fastify): the kiosk order API and the operator endpoints.
 *
 * Kiosk: `POST /v1/orders`, `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`,
 * `POST /v1/orders/{id}/unlock` (sends `unlock` to the order's fridge). Orders are decided by the
 * shared order taker (`takeOrder`, the same as central's) within this gateway's own rights, online
 * or offline. An answer waits only until the local store holds what it wrote or read; lacking
 * rights is `409 SOLD_OUT` at once (and, when another replica reconciles the fridge, a request for
 * more rights is written for next time — the kiosk never waits on the network). Errors are the
 * shared catalog's one body (`errorBodyOf`), as central's.
 *
 * Operators: `/livez` (the process runs), `/readyz` (the replica writes and the broker is up),
 * `/status` (JSON), `/metrics` (Prometheus), and the API's OpenAPI description at
 * `/documentation/json` with a page that renders it at `/documentation`.
 *
 * Access (http-access.ts): the kiosk routes need `http.kioskToken` when one is set, else they answer
 * only requests from this host; `/metrics` needs `http.metricsToken` when one is set.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
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
  apiDocHtml,
  ERROR_CODES,
  FridgesyncError,
  ORIGINS,
  OrderIdSchema,
  errorBody,
  errorBodyOf,
  foldOrder,
  needsResolution,
  orderAnswer,
  orderResponse,
  settle,
  takeOrder,
  transitionAnswer,
  transitionResult,
  type CreateOrderBody,
  type ErrorCode,
  type VenueId,
} from '@fridgesync/shared';
import { NotWritableError, type LocalReplica } from './local-replica.ts';
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
  /** Where an internal error (an answer of 500 and above) is logged with its cause; the agent's logger. */
  logger: Logger;
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

  // The one error body of central and the kiosk (errorBodyOf): the replica's NotWritableError and
  // the store's StoreFailedError carry their catalog codes (NOT_READY, STORAGE_FAILED).
  // An internal error is answered with the catalog's body, which names no cause: the log does.
  app.setErrorHandler((err, req, reply) => {
    const body = errorBodyOf(err);
    if (body.statusCode >= 500) o.logger.error({ err, method: req.method, url: req.routeOptions.url ?? req.url, code: body.code }, 'request failed');
    void reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((_req, reply) => void reply.status(404).send(errorBody('NOT_FOUND')));

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
    ...kiosk('UNKNOWN_VENUE', 'UNKNOWN_FRIDGE', 'UNKNOWN_MEAL', 'SOLD_OUT', 'ORDER_CONFLICT', 'NOT_READY', 'STORAGE_FAILED'),
    // The handler sees a body that fails the schema, to count it as `invalid` (as central does).
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
    if (req.validationError !== undefined) {
      metrics.orders.inc({ result: 'invalid' });
      throw req.validationError;
    }
    if (!replica.writable) throw new NotWritableError(replica.state);
    // The shared order taker decides and writes (a reservation, or a rights request for the
    // reconciler); the answer waits until the store holds it, a replay's order included.
    const outcome = takeOrder(replica.doc, ORIGINS.kiosk, { venueId, capToStock: false }, req.body as CreateOrderBody, now());
    await replica.whenDurable();
    metrics.orders.inc({ result: outcome.result });
    const answer = orderAnswer(venueId, outcome);
    return reply.status(answer.status).send(answer.order);
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
    if (!replica.writable) throw new NotWritableError(replica.state);
    const r = settle(replica.doc, ORIGINS.kiosk, id.data, 'cancelled', now(), { customer: true });
    await replica.whenDurable();
    const order = transitionAnswer(venueId, r);
    metrics.orders.inc({ result: transitionResult('cancelled') });
    return order;
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
