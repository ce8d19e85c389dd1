/**
 * Central's logger: pino with a request serializer that never writes bearer tokens. Tokens may
 * arrive in the query string (`?token=`, for EventSource and WebsocketProvider), and fastify logs
 * each request's URL, so the value is replaced before it reaches any log line.
 */
import { pino, type Logger } from 'pino';

/** Replaces the value of every `token` query parameter in a URL. */
export function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]');
}

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** Serializer for fastify's `req` log field. */
export function serializeRequest(req: LoggedRequest) {
  return { method: req.method, url: redactToken(req.url ?? ''), remoteAddress: req.ip ?? req.socket?.remoteAddress };
}

/** Wraps `base` (or a new pino at `level`) so request URLs are logged without tokens. */
export function centralLogger(level: string, base?: Logger): Logger {
  const root = base ?? pino({ level, name: 'central' });
  return root.child({}, { serializers: { req: serializeRequest } });
}
