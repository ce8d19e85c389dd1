/** `POST /v1/orders`, `GET /v1/orders/{id}`, `POST /v1/orders/{id}/cancel`, `POST /v1/orders/{id}/pickup`, `POST /v1/orders/{id}/resolve`. */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CreateOrderBodySchema, crashPoint, OrderIdSchema, OrderResponseSchema } from '@fridgesync/shared';
import type { OrderService } from '../order-service.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import { roles } from './route-policy.ts';

const OrderParams = z.object({ orderId: OrderIdSchema });
/** An operator's resolution of an order: what became of every customer's claim under the id. */
const ResolveBodySchema = z.strictObject({ outcome: z.enum(['cancelled', 'picked_up']) });
const created = { 200: OrderResponseSchema, 201: OrderResponseSchema };
const one = { 200: OrderResponseSchema };

/** Registers the order routes. */
export function registerOrderRoutes(app: FastifyInstance, orders: OrderService, rateLimit: RateLimitConfig): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/v1/orders',
    {
      // The handler sees a body that fails the schema, to count it as `invalid` (as the kiosk does).
      attachValidation: true,
      schema: {
        tags: ['orders'],
        summary: 'Reserve meals at a fridge (idempotent by orderId: a replay answers 200 with the same order)',
        body: CreateOrderBodySchema,
        response: created,
      },
      config: { access: roles('app', 'admin'), errors: ['UNKNOWN_VENUE', 'UNKNOWN_FRIDGE', 'UNKNOWN_MEAL', 'SOLD_OUT', 'ORDER_CONFLICT', 'NOT_READY', 'STORAGE_FAILED'], rateLimit },
    },
    async (req, reply) => {
      if (req.validationError !== undefined) orders.invalid(req.validationError);
      const res = await orders.create(req.body);
      if (res.status === 201) crashPoint('central-before-order-reply');
      return reply.status(res.status).send(res.order);
    },
  );
  r.get(
    '/v1/orders/:orderId',
    { schema: { tags: ['orders'], summary: 'The folded state of an order', params: OrderParams, response: one }, config: { access: roles('app', 'admin', 'kitchen', 'viewer'), errors: ['UNKNOWN_ORDER', 'NOT_READY'] } },
    async (req) => orders.get(req.params.orderId),
  );
  r.post(
    '/v1/orders/:orderId/cancel',
    {
      schema: { tags: ['orders'], summary: 'Cancel a reserved order (a contents conflict answers ORDER_NEEDS_RESOLUTION: staff resolve it)', params: OrderParams, response: one },
      config: { access: roles('app', 'admin'), errors: ['UNKNOWN_ORDER', 'ORDER_SETTLED', 'ORDER_NEEDS_RESOLUTION', 'NOT_READY', 'STORAGE_FAILED'], rateLimit },
    },
    async (req) => orders.transition(req.params.orderId, 'cancelled'),
  );
  r.post(
    '/v1/orders/:orderId/pickup',
    {
      schema: { tags: ['orders'], summary: 'Staff confirmation of a pickup (when the fridge cannot report it; a contents conflict answers ORDER_NEEDS_RESOLUTION)', params: OrderParams, response: one },
      config: { access: roles('kitchen', 'admin'), errors: ['UNKNOWN_ORDER', 'ORDER_SETTLED', 'ORDER_NEEDS_RESOLUTION', 'NOT_READY', 'STORAGE_FAILED'], rateLimit },
    },
    async (req) => orders.transition(req.params.orderId, 'picked_up'),
  );
  r.post(
    '/v1/orders/:orderId/resolve',
    {
      schema: {
        tags: ['orders'],
        summary: 'Operator resolution: settle every customer claim under the id at once (`cancelled`: the units go back to stock; `picked_up`: staff handed the meals out). For contents conflicts, after staff spoke with the customers.',
        params: OrderParams,
        body: ResolveBodySchema,
        response: one,
      },
      config: { access: roles('admin'), errors: ['UNKNOWN_ORDER', 'ORDER_SETTLED', 'NOT_READY', 'STORAGE_FAILED'], rateLimit },
    },
    async (req) => orders.transition(req.params.orderId, req.body.outcome, { resolve: true }),
  );
}
