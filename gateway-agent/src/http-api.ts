/**
 * The agent's local HTTP port (fastify): the kiosk order API and the operator endpoints.
 *
 * Kiosk (issue 3): `POST /v1/orders`, `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`,
 * `POST /v1/orders/{id}/unlock` (sends `unlock` to the order's fridge), using
 * the shared `reserve`/`settle` within this gateway's own rights, online or offline. A reservation
 * answers only after its transaction is durable locally; lacking rights is `409 SOLD_OUT` at once
 * (and, when another replica reconciles the fridge, a request for more rights is recorded for next
 * time — the kiosk never waits on the network). Errors are `{statusCode, code, message}` from the
 * shared catalog.
 *
 * Operators: `/livez` (the process runs), `/readyz` (the replica writes and the broker is up),
 * `/status` (JSON), `/metrics` (Prometheus).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import {
  CreateOrderBodySchema,
  DEFAULT_HOLD_SECONDS,
  ERROR_CODES,
  FridgesyncError,
  ORIGINS,
  OrderIdSchema,
  configRecord,
  foldOrder,
  orderResponse,
  requestLackingRights,
  reserve,
  settle,
  type MealId,
  type OrderFold,
  type VenueId,
} from '@fridgesync/shared';
import { NotWritableError, type LocalReplica } from './local-replica.ts';
import { StoreFailedError } from './replica-store.ts';
import type { AgentMetrics } from './metrics.ts';
import type { FridgeBroker } from './fridge-broker.ts';

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
  now?: () => number;
}

/** Builds the fastify app (not listening). */
export function buildHttpApi(o: HttpApiOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: o.bodyLimitBytes });
  const now = o.now ?? Date.now;
  const { replica, metrics, venueId } = o;

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

  app.get('/livez', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const why = o.notReady();
    if (why.length === 0) return { ok: true };
    return reply.status(503).send(new FridgesyncError('NOT_READY', `not ready: ${why.join('; ')}`).toBody());
  });
  app.get('/status', async () => o.status());
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post('/v1/orders', async (req, reply) => {
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
      return reply.status(409).send({ ...new FridgesyncError('SOLD_OUT').toBody(), lacking: result.lacking });
    }
    if (!result.ok) {
      metrics.orders.inc({ result: 'conflict' });
      throw new FridgesyncError('ORDER_CONFLICT');
    }
    metrics.orders.inc({ result: result.status });
    return reply.status(result.status === 'created' ? 201 : 200).send(orderResponse(venueId, result.order));
  });

  app.get<{ Params: { id: string } }>('/v1/orders/:id', async (req) => {
    const id = OrderIdSchema.safeParse(req.params.id);
    const order = id.success ? foldOrder(replica.doc, id.data) : undefined;
    if (order === undefined) throw new FridgesyncError('UNKNOWN_ORDER');
    return orderResponse(venueId, order);
  });

  app.post<{ Params: { id: string } }>('/v1/orders/:id/cancel', async (req) => {
    const id = OrderIdSchema.safeParse(req.params.id);
    if (!id.success) throw new FridgesyncError('UNKNOWN_ORDER');
    const r = await replica.durably(() => settle(replica.doc, ORIGINS.kiosk, id.data, 'cancelled', now()));
    if (!r.ok) throw new FridgesyncError(r.code, r.code === 'ORDER_SETTLED' ? `${ERROR_CODES.ORDER_SETTLED.message} (${r.order.state})` : undefined);
    metrics.orders.inc({ result: 'cancelled' });
    return orderResponse(venueId, r.order);
  });

  // The customer at the fridge: open the door for a reserved order. The fridge reports what was
  // taken as a pickup, which settles the order (nothing is written here).
  app.post<{ Params: { id: string } }>('/v1/orders/:id/unlock', async (req, reply) => {
    const id = OrderIdSchema.safeParse(req.params.id);
    const order = id.success ? foldOrder(replica.doc, id.data) : undefined;
    if (order === undefined) throw new FridgesyncError('UNKNOWN_ORDER');
    if (order.state !== 'reserved') throw new FridgesyncError('ORDER_SETTLED', `${ERROR_CODES.ORDER_SETTLED.message} (${order.state})`);
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
