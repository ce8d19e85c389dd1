/**
 * `GET /sync/{venueId}`: authentication and limits before the upgrade (an unknown token never gets
 * a websocket), then one {@link SyncSession} per socket, attached once the venue document is
 * loaded. A load failure closes with 4500 and writes nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { CLOSE_CODES, FridgesyncError, GATEWAY_ID_HEADER, VenueIdSchema, type VenueId } from '@fridgesync/shared';
import type { Authenticator, Principal } from '../auth.ts';
import type { DocRegistry } from '../doc-registry.ts';
import type { Metrics } from '../metrics.ts';
import type { CentralConfig } from '../config-schema.ts';
import { CENTRAL_VERSION } from '../version.ts';
import { SyncSession } from './sync-session.ts';
import type { GatewayPresence } from './gateway-presence.ts';

/** What the sync route needs. */
export interface SyncRouteDeps {
  config: CentralConfig;
  auth: Authenticator;
  registry: DocRegistry;
  metrics: Metrics;
  presence: GatewayPresence;
  /** True when the venue exists (seeded, stored or created by an admin). */
  venueKnown: (venue: VenueId) => boolean;
  /** Live sessions, for shutdown. */
  sessions: Set<SyncSession>;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** Registers the sync endpoint. */
export function registerSyncRoute(app: FastifyInstance, deps: SyncRouteDeps): void {
  const perToken = new Map<string, number>();
  let nextId = 0;

  const preValidation = async (req: FastifyRequest, _reply: FastifyReply) => {
    const p = deps.auth.fromRequest(req);
    if (p === undefined) throw new FridgesyncError('UNAUTHENTICATED');
    const parsed = VenueIdSchema.safeParse((req.params as { venueId?: string }).venueId);
    if (!parsed.success) throw new FridgesyncError('VALIDATION_FAILED', 'invalid venue id');
    if (!['gateway', 'viewer', 'admin'].includes(p.role)) throw new FridgesyncError('FORBIDDEN', `role ${p.role} may not sync`);
    if (p.role === 'gateway' && p.venueId !== parsed.data) throw new FridgesyncError('FORBIDDEN', `this gateway token is bound to venue ${p.venueId ?? '(none)'}, not ${parsed.data}`);
    // A gateway names the id it runs as: a token bound to another id is refused here, before the
    // upgrade, so a misconfigured gateway learns why at once (docs/sync-protocol.md, Authentication).
    const claimed = req.headers[GATEWAY_ID_HEADER] ?? (req.query as { gateway?: string } | undefined)?.gateway;
    if (p.role === 'gateway' && claimed !== undefined && claimed !== p.gatewayId) {
      throw new FridgesyncError('FORBIDDEN', `this gateway token is bound to gateway ${p.gatewayId ?? '(none)'}, not ${String(claimed).slice(0, 64)}`);
    }
    if (!deps.venueKnown(parsed.data)) throw new FridgesyncError('UNKNOWN_VENUE');
    if ((perToken.get(p.tokenKey) ?? 0) >= deps.config.sync.maxConnectionsPerToken) throw new FridgesyncError('RATE_LIMITED', 'too many sync connections for this token');
    req.principal = p;
  };

  app.get('/sync/:venueId', { websocket: true, preValidation, config: { access: { roles: ['gateway', 'viewer', 'admin'] }, errors: ['UNKNOWN_VENUE', 'VALIDATION_FAILED', 'RATE_LIMITED'] }, schema: { hide: true } }, (socket: WebSocket, req: FastifyRequest) => {
    const principal = req.principal as Principal;
    const venueId = (req.params as { venueId: VenueId }).venueId;
    const id = `${principal.role}:${principal.name}:${++nextId}`;
    const log = req.log.child({ venueId, peer: id }) as unknown as Logger;
    perToken.set(principal.tokenKey, (perToken.get(principal.tokenKey) ?? 0) + 1);
    deps.metrics.syncConnections.inc({ role: principal.role });
    const session = new SyncSession(
      id,
      socket,
      principal,
      venueId,
      { preAuthMs: deps.config.sync.preAuthMs, maxBufferedBytes: deps.config.sync.maxBufferedBytes, instanceId: deps.config.instanceId, version: CENTRAL_VERSION, maxClockSkewMs: deps.config.sync.maxClockSkewMs },
      log,
      deps.metrics,
      deps.presence,
    );
    deps.sessions.add(session);
    socket.on('message', (data: RawData) => {
      try {
        session.receive(toBytes(data));
      } catch (e) {
        // Peer input is untrusted: one bad message closes this socket, never the process.
        log.error({ err: e }, 'sync message handling failed');
        session.close('UPDATE_REJECTED', 'message could not be processed');
      }
    });
    socket.on('error', (e) => log.warn({ err: e }, 'sync socket error'));
    // Heartbeat: a half-open socket would otherwise hold its replica (4409) and its gateway (4412)
    // for as long as the OS keeps it, locking the real gateway out after it reconnects.
    let missedPongs = 0;
    socket.on('pong', () => (missedPongs = 0));
    const heartbeat = setInterval(() => {
      if (missedPongs >= 2) {
        log.warn({ missedPongs }, 'sync peer stopped answering pings; terminating the socket');
        deps.metrics.syncCloses.inc({ reason: 'PING_TIMEOUT' });
        socket.terminate();
        return;
      }
      missedPongs++;
      socket.ping();
    }, deps.config.sync.pingIntervalMs);
    heartbeat.unref();
    socket.on('close', (code: number) => {
      clearInterval(heartbeat);
      if (code === CLOSE_CODES.MESSAGE_TOO_BIG) deps.metrics.syncCloses.inc({ reason: 'MESSAGE_TOO_BIG' });
      session.closedBySocket();
      deps.sessions.delete(session);
      perToken.set(principal.tokenKey, Math.max(0, (perToken.get(principal.tokenKey) ?? 1) - 1));
      deps.metrics.syncConnections.dec({ role: principal.role });
    });
    deps.registry.acquire(venueId).then(
      (host) => session.ready(host),
      () => session.close('LOAD_FAILED', 'the venue document could not be loaded'),
    );
  });
}
