/**
 * The domain event log as clients read it (docs/design.md "Domain event log"): durable facts derived
 * from the merged state of a venue, each with a deterministic id and a position in one ordered log.
 * `GET /v1/events/log` pages through it; the consumer-group routes hand it out with acknowledgement.
 */
import { z } from 'zod';

const fridgeId = z.string();
const lines = z.array(z.tuple([z.string(), z.number().int()])).describe('`[mealId, quantity]` pairs.');

/** What each kind of fact carries, discriminated by `kind`. */
export const DomainFactDataSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('order.reserved'), orderId: z.string(), fridgeId, lines }),
  z.object({ kind: z.literal('order.picked_up'), orderId: z.string(), fridgeId, lines }),
  z.object({ kind: z.literal('order.cancelled'), orderId: z.string(), fridgeId, lines }),
  z.object({ kind: z.literal('order.expired'), orderId: z.string(), fridgeId, lines }),
  z.object({
    kind: z.literal('snapshot.applied'),
    fridgeId,
    boot: z.number().int(),
    era: z.number().int(),
    seq: z.number().int(),
    items: z.record(z.string(), z.number().int()).describe('Observed totals per meal.'),
  }),
  z.object({ kind: z.literal('shortage.raised'), fridgeId, mealId: z.string(), units: z.number().int(), orders: z.array(z.string()) }),
  z.object({ kind: z.literal('shortage.cleared'), fridgeId, mealId: z.string() }),
  z.object({ kind: z.literal('delivery.announced'), deliveryId: z.string(), fridgeId, items: z.record(z.string(), z.number().int()) }),
  z.object({
    kind: z.literal('delivery.discrepancy'),
    deliveryId: z.string(),
    fridgeId,
    items: z.array(z.object({ mealId: z.string(), announced: z.number().int(), discrepancy: z.number().int() })).describe('Meals whose observed arrival differs from the announcement.'),
  }),
  z.object({ kind: z.literal('gateway.online'), gatewayId: z.string(), replica: z.string().nullable() }),
  z.object({ kind: z.literal('gateway.offline'), gatewayId: z.string() }),
]);
export type DomainFactData = z.infer<typeof DomainFactDataSchema>;
/** The kinds of domain facts. */
export type FactKind = DomainFactData['kind'];

/** One fact as the log holds it. */
export const LoggedEventJsonSchema = z.object({
  id: z.string().describe('Deterministic id: the same fact observed twice (by several replicas, or after a restart) has the same id and is logged once.'),
  position: z.number().int().min(1).describe('Place in the one ordered log; a venue\'s facts are in the order of their positions.'),
  venueId: z.string(),
  at: z.string().describe('When central appended it (ISO 8601).'),
  fact: DomainFactDataSchema,
});
export type LoggedEventJson = z.infer<typeof LoggedEventJsonSchema>;

/** `GET /v1/events/log`: one page. */
export const EventLogPageJsonSchema = z.object({
  events: z.array(LoggedEventJsonSchema),
  next: z.string().describe('Cursor for the next page (`after=`): the position of the last event read, or the `after` given when nothing was read.'),
  oldest: z.number().int().describe('Position of the oldest retained event (0 when the log is empty).'),
  latest: z.number().int().describe('Position of the newest event (0 when the log is empty).'),
  gap: z.boolean().describe('True when events after `after` were dropped by retention before this read: rebuild from the current state, then read on.'),
});

/** `POST /v1/events/groups/{group}/claim`: what the consumer asks for. */
export const ClaimBodySchema = z.strictObject({
  limit: z.number().int().min(1).max(500).default(50).describe('Most events handed out by this claim.'),
  visibilityMs: z.number().int().min(1_000).max(3_600_000).default(30_000).describe('Events of this claim not acknowledged within it are handed out again, ms.'),
});

/** One claimed event: redelivered ones carry `attempts` > 1. */
export const ClaimedEventJsonSchema = LoggedEventJsonSchema.extend({
  attempts: z.number().int().min(1).describe('How many times this group has been handed this event, this claim included.'),
});

/** `POST /v1/events/groups/{group}/claim`: the batch. */
export const ClaimJsonSchema = z.object({
  group: z.string(),
  events: z.array(ClaimedEventJsonSchema).describe('Ordered by position: redeliveries and new events alike.'),
  visibleUntil: z.string().describe('Acknowledge before this time (ISO 8601) or the events are handed out again.'),
});

/** `POST /v1/events/groups/{group}/ack`. */
export const AckBodySchema = z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(500) });
export const AckJsonSchema = z.object({
  acked: z.array(z.string()).describe('Ids this call acknowledged.'),
  notPending: z.array(z.string()).describe('Ids not awaiting acknowledgement in this group (already acknowledged, dead-lettered, never claimed, or unknown): nothing changed for them.'),
});

/** `GET /v1/events/groups/{group}/dead`. */
export const DeadLetterJsonSchema = z.object({
  group: z.string(),
  events: z.array(LoggedEventJsonSchema.extend({ attempts: z.number().int(), deadAt: z.string() })),
});
