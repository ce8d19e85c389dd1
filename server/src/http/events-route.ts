/**
 * `GET /v1/events`: server-sent events of merged-state changes, one union discriminated by `type`
 * (`LiveEventSchema`: `fridge`, `order`, `delivery`, `gateway`, `venue`, `refetch`) carrying the REST views
 * (README "Read views and live events"). Each event carries an id; a client that reconnects with `Last-Event-ID` (header, or `?lastEventId=` for
 * clients that cannot set it) gets every event after it while they are retained, or one `refetch`
 * event telling it to reload state through the REST routes. `?venueId=` narrows the stream.
 *
 * Bounds: at most `events.maxStreamsPerToken` open streams per token (the viewer token is shared by
 * every dashboard, so this bounds what anyone holding it can open; beyond it 429 `RATE_LIMITED`),
 * and {@link MAX_STREAM_BUFFER} bytes queued per stream; a stream past it is destroyed, not ended
 * (ending would queue the end behind the very bytes the client does not read).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { FridgesyncError, LiveEventSchema, VenueIdSchema, type LiveEvent } from '@fridgesync/shared';
import type { ChangeEvent, EventHub } from '../event-hub.ts';
import type { ReadModel } from '../read-model.ts';
import type { Metrics } from '../metrics.ts';
import { roles } from './route-policy.ts';

/** Bytes queued for one stream before it is dropped (a stalled client must not hold memory). */
const MAX_STREAM_BUFFER = 4 * 1024 * 1024;

/** Options of {@link registerEventsRoute} (the `events` section of the config). */
export interface EventsRouteOptions {
  heartbeatMs: number;
  maxStreamsPerToken: number;
}

/** Registers the change feed; returns a function that ends every open stream (shutdown). */
export function registerEventsRoute(app: FastifyInstance, hub: EventHub, model: ReadModel, metrics: Metrics, o: EventsRouteOptions): () => void {
  const open = new Set<() => void>();
  /** Open streams per token (its hash); an entry leaves with its last stream. */
  const perToken = new Map<string, number>();
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-sent events of merged-state changes, resumable with Last-Event-ID',
        description: 'Each event is `id: <boot>-<seq>`, `event: <type>` and `data: <JSON>`; the data is one member of the union below, discriminated by `type`, carrying the views of the REST routes.',
        querystring: z.object({ venueId: VenueIdSchema.optional(), lastEventId: z.string().max(64).optional(), token: z.string().optional() }),
        // Documents the stream (the handler writes it itself, past the serializer).
        response: { 200: { description: 'A text/event-stream of live events', content: { 'text/event-stream': { schema: LiveEventSchema } } } },
      },
      config: { access: roles('viewer', 'admin', 'kitchen'), errors: ['RATE_LIMITED'] },
    },
    async (req, reply) => {
      // The route policy authenticated the request (onRequest) before this handler runs.
      const tokenKey = req.principal!.tokenKey;
      const streams = perToken.get(tokenKey) ?? 0;
      if (streams >= o.maxStreamsPerToken) throw new FridgesyncError('RATE_LIMITED', 'too many event streams for this token');
      perToken.set(tokenKey, streams + 1);
      const venue = req.query.venueId;
      const last = (req.headers['last-event-id'] as string | undefined) ?? req.query.lastEventId;
      model.flush();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const write = (chunk: string) => {
        if (res.writableLength > MAX_STREAM_BUFFER) return end(true);
        res.write(chunk);
      };
      const send = (e: ChangeEvent) => {
        if (venue !== undefined && e.data.venueId !== venue) return;
        write(`id: ${e.id}\nevent: ${e.data.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
      };
      write(`retry: 2000\n: connected ${hub.lastId()}\n\n`);
      if (last !== undefined) {
        const resume = hub.since(last);
        if (resume.ok) for (const e of resume.events) send(e);
        else {
          const refetch: LiveEvent = { type: 'refetch', reason: 'the events after this id are no longer retained' };
          write(`id: ${hub.lastId()}\nevent: refetch\ndata: ${JSON.stringify(refetch)}\n\n`);
        }
      }
      const unsubscribe = hub.subscribe(send);
      const heartbeat = setInterval(() => write(': ping\n\n'), o.heartbeatMs);
      metrics.sseClients.inc();
      let ended = false;
      function end(overflow = false) {
        if (ended) return;
        ended = true;
        const n = (perToken.get(tokenKey) ?? 1) - 1;
        if (n <= 0) perToken.delete(tokenKey);
        else perToken.set(tokenKey, n);
        unsubscribe();
        clearInterval(heartbeat);
        metrics.sseClients.dec();
        open.delete(end);
        if (overflow) res.destroy();
        else res.end();
      }
      open.add(end);
      req.raw.on('close', () => end());
    },
  );
  return () => {
    for (const end of [...open]) end();
  };
}
