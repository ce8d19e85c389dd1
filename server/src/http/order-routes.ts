/** `POST /v1/orders`, `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`, `POST /v1/orders/{id}/pickup`. */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CreateOrderBodySchema, OrderIdSchema, OrderResponseSchema } from '@fridgesync/shared';
import { requireRole, type Authenticator } from '../auth.ts';
import type { OrderService } from '../order-service.ts';
import type { RateLimitConfig } from './rate-limit.ts';

const OrderParams = z.object({ orderId: OrderIdSchema });
/** Error bodies (documentation; the error handler writes them). */
const ErrorSchema = z.object({ statusCode: z.number(), code: z.string(), message: z.string() });
const created = { 200: OrderResponseSchema, 201: OrderResponseSchema, 409: ErrorSchema, 404: ErrorSchema };
const one = { 200: OrderResponseSchema, 404: ErrorSchema, 409: ErrorSchema };

/** Registers the order routes. */
export function registerOrderRoutes(app: FastifyInstance, auth: Authenticator, orders: OrderService, rateLimit: RateLimitConfig): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'Reserve meals at a fridge (idempotent by orderId: a replay answers 200 with the same order)',
        body: CreateOrderBodySchema,
        response: created,
      },
      preHandler: requireRole(auth, 'app', 'admin'),
      config: { rateLimit },
    },
    async (req, reply) => {
      const res = await orders.create(req.body);
      return reply.status(res.status).send(res.order);
    },
  );
  r.get(
    '/v1/orders/:orderId',
    { schema: { tags: ['orders'], summary: 'The folded state of an order', params: OrderParams, response: one }, preHandler: requireRole(auth, 'app', 'admin', 'kitchen', 'viewer') },
    async (req) => orders.get(req.params.orderId),
  );
  r.post(
    '/v1/orders/:orderId/cancel',
    { schema: { tags: ['orders'], summary: 'Cancel a reserved order', params: OrderParams, response: one }, preHandler: requireRole(auth, 'app', 'admin'), config: { rateLimit } },
    async (req) => orders.transition(req.params.orderId, 'cancelled'),
  );
  r.post(
    '/v1/orders/:orderId/pickup',
    {
      schema: { tags: ['orders'], summary: 'Staff confirmation of a pickup (when the fridge cannot report it)', params: OrderParams, response: one },
      preHandler: requireRole(auth, 'kitchen', 'admin'),
      config: { rateLimit },
    },
    async (req) => orders.transition(req.params.orderId, 'picked_up'),
  );
}
