/**
 * The domain event log over HTTP (docs/design.md "Domain event log", docs/operations.md "Event
 * log"): `GET /v1/events/log` pages through the ordered log; the consumer-group routes hand it out
 * with acknowledgement, redelivery after a visibility timeout and a dead-letter list. Viewer and
 * admin tokens, like the live feed; removing a group is for admins.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  AckBodySchema,
  AckJsonSchema,
  ClaimBodySchema,
  ClaimJsonSchema,
  DeadLetterJsonSchema,
  EventLogPageJsonSchema,
  FridgesyncError,
  VenueIdSchema,
  type LoggedEventJson,
} from '@fridgesync/shared';
import type { DomainEventLog, LoggedEvent } from '../event-log/event-log-port.ts';
import { roles } from './route-policy.ts';

/** Most events one page of `GET /v1/events/log` returns. */
export const MAX_PAGE = 1_000;

/**
 * A consumer group's name: what the key layout of the log allows (level-event-log.ts), and not a
 * property every JavaScript object has (`constructor`, `toString`, …): names become keys in
 * consumers' own maps and in metric labels, where such a name would alias a built-in.
 */
const GroupParams = z.object({
  group: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a group name is 1–64 letters, digits, `_`, `.` or `-`')
    .refine((g) => !(g in Object.prototype), 'a group name may not be a property name every JavaScript object has (such as `constructor`)'),
});

const json = (e: LoggedEvent): LoggedEventJson => ({ id: e.id, position: e.position, venueId: e.venueId, at: new Date(e.at).toISOString(), fact: e.fact });

/** Registers the event log routes. */
export function registerEventLogRoutes(app: FastifyInstance, log: DomainEventLog, now: () => number = Date.now): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const access = roles('viewer', 'admin');
  r.get(
    '/v1/events/log',
    {
      schema: {
        tags: ['events'],
        summary: 'Domain facts in log order, after a position (paged, resumable)',
        description: 'Pass the `next` of a page as `after` to read on. A fact has a deterministic id: one observed twice is logged once.',
        querystring: z.strictObject({
          after: z.string().regex(/^(0|[1-9][0-9]{0,14})$/, 'after is a position: a non-negative integer').default('0'),
          limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
          venueId: VenueIdSchema.optional(),
        }),
        response: { 200: EventLogPageJsonSchema },
      },
      config: { access },
    },
    async (req) => {
      const after = Number(req.query.after);
      const page = await log.read(after, req.query.limit, req.query.venueId);
      // A cursor past the head was never handed out: reading on from it would skip what comes next.
      if (after > page.latest) throw new FridgesyncError('VALIDATION_FAILED', `after ${after} is beyond the newest position ${page.latest}: pass a next this route answered`);
      const last = page.events.at(-1);
      return { events: page.events.map(json), next: String(last?.position ?? after), oldest: page.oldest, latest: page.latest, gap: page.gap };
    },
  );
  r.post(
    '/v1/events/groups/:group/claim',
    {
      schema: {
        tags: ['events'],
        summary: "The group's next batch: timed-out events again, then new ones",
        description: 'Creates the group on first use (it starts at the oldest retained event). Events not acknowledged within `visibilityMs` are handed out again; after `eventLog.maxAttempts` deliveries they move to the dead-letter list.',
        params: GroupParams,
        body: ClaimBodySchema,
        response: { 200: ClaimJsonSchema },
      },
      config: { access, errors: ['TOO_MANY_GROUPS'] },
    },
    async (req) => {
      const at = now();
      const events = await log.claim(req.params.group, req.body.limit, req.body.visibilityMs, at);
      return { group: req.params.group, events: events.map((e) => ({ ...json(e), attempts: e.attempts })), visibleUntil: new Date(at + req.body.visibilityMs).toISOString() };
    },
  );
  r.post(
    '/v1/events/groups/:group/ack',
    {
      schema: { tags: ['events'], summary: 'Acknowledges claimed events by id', params: GroupParams, body: AckBodySchema, response: { 200: AckJsonSchema } },
      config: { access, errors: ['UNKNOWN_GROUP'] },
    },
    async (req) => log.ack(req.params.group, req.body.ids),
  );
  r.get(
    '/v1/events/groups/:group/dead',
    {
      schema: {
        tags: ['events'],
        summary: "The group's dead-letter list, oldest first",
        params: GroupParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100) }),
        response: { 200: DeadLetterJsonSchema },
      },
      config: { access, errors: ['UNKNOWN_GROUP'] },
    },
    async (req) => {
      const dead = await log.dead(req.params.group, req.query.limit);
      return { group: req.params.group, events: dead.map((e) => ({ ...json(e), attempts: e.attempts, deadAt: new Date(e.deadAt).toISOString() })) };
    },
  );
  r.delete(
    '/v1/events/groups/:group',
    {
      schema: { tags: ['events'], summary: 'Removes a consumer group with its pending and dead-letter entries', params: GroupParams, response: { 204: z.null() } },
      config: { access: roles('admin'), errors: ['UNKNOWN_GROUP'] },
    },
    async (req, reply) => {
      await log.deleteGroup(req.params.group);
      return reply.status(204).send(null);
    },
  );
}
