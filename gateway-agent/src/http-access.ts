/**
 * Who may call the gateway's HTTP port, checked in an `onRequest` hook before anything is parsed.
 * Every route declares `config.access`:
 *
 * - `kiosk` (`/v1/orders…`): with `http.kioskToken` set, `Authorization: Bearer <kioskToken>`
 *   (401 without it). Without a token the port must listen on loopback (the config refuses
 *   anything else), and a request must come from this host's kiosk, not from a web page a browser
 *   on this host happens to show: its `Host` must be a loopback name (a DNS-rebinding page sends its
 *   own name) and a browser's `Origin`, when sent, must be that same loopback origin (a cross-site
 *   page sends its own). Either refusal is `403 FORBIDDEN`.
 * - `metrics` (`/metrics`, and `/status`, which names central's URL, fridge ids and rights held):
 *   `Authorization: Bearer <http.metricsToken>` when set, else open.
 * - `public`: health and the API documentation.
 *
 * Tokens are compared as SHA-256 digests in constant time, so timing tells nothing about them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { FridgesyncError, errorResponses, isLoopbackHost, type ErrorCode } from '@fridgesync/shared';

/** Who may call a route of the gateway. */
export type GatewayAccess = 'kiosk' | 'metrics' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (required on every route; see http-access.ts). */
    gatewayAccess?: GatewayAccess;
    /** Catalog codes the handler answers (access, validation and size errors are added). */
    gatewayErrors?: readonly ErrorCode[];
  }
}

/** Options of {@link installGatewayAccess}. */
export interface GatewayAccessOptions {
  kioskToken: string | undefined;
  metricsToken: string | undefined;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when `req` carries `Authorization: Bearer <expected>` (scheme in any case, RFC 7235 §2.1). */
function bearerMatches(req: FastifyRequest, expected: Buffer): boolean {
  const m = /^bearer[ \t]+(\S.*)$/i.exec(req.headers.authorization ?? '');
  const token = m?.[1]?.trim() ?? '';
  return token.length > 0 && timingSafeEqual(digest(token), expected);
}

/** The host name of a `Host` header (`127.0.0.1:8081`, `[::1]:8081`, `localhost`). */
function hostName(host: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(host);
  return m?.[1] ?? host;
}

/** Installs the registration check, the OpenAPI annotations and the access hook; before any route. */
export function installGatewayAccess(app: FastifyInstance, o: GatewayAccessOptions): void {
  const kiosk = o.kioskToken === undefined ? undefined : digest(o.kioskToken);
  const metrics = o.metricsToken === undefined ? undefined : digest(o.metricsToken);

  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.gatewayAccess;
    if (access === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no config.gatewayAccess`);
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    if (schema.hide === true) return;
    const errors = new Set<ErrorCode>(route.config?.gatewayErrors ?? []);
    if (access === 'kiosk') errors.add(kiosk === undefined ? 'FORBIDDEN' : 'UNAUTHENTICATED');
    if (access === 'metrics' && metrics !== undefined) errors.add('UNAUTHENTICATED');
    if (schema.body !== undefined) errors.add('VALIDATION_FAILED').add('PAYLOAD_TOO_LARGE');
    const secured = (access === 'kiosk' && kiosk !== undefined) || (access === 'metrics' && metrics !== undefined);
    const who =
      access === 'kiosk'
        ? kiosk === undefined
          ? 'Kiosk: from this host only (loopback Host; a browser Origin must be the same loopback origin).'
          : 'Kiosk: bearer `http.kioskToken`.'
        : access === 'metrics'
          ? metrics === undefined
            ? 'Public (set `http.metricsToken` to require a bearer token).'
            : 'Bearer `http.metricsToken`.'
          : 'Public.';
    route.schema = {
      ...schema,
      description: [who, schema.description].filter((s) => s !== undefined).join('\n\n'),
      security: secured ? [{ bearer: [] }] : [],
      response: { ...errorResponses(errors), ...((schema.response as object | undefined) ?? {}) },
    } as RouteOptions['schema'];
  });

  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.gatewayAccess;
    if (access === 'metrics' && metrics !== undefined && !bearerMatches(req, metrics)) throw new FridgesyncError('UNAUTHENTICATED');
    if (access !== 'kiosk') return;
    if (kiosk !== undefined) {
      if (!bearerMatches(req, kiosk)) throw new FridgesyncError('UNAUTHENTICATED', 'A valid kiosk token is required.');
      return;
    }
    const host = req.headers.host ?? '';
    if (!isLoopbackHost(hostName(host))) throw new FridgesyncError('FORBIDDEN', 'the kiosk API answers only requests to a loopback address');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) throw new FridgesyncError('FORBIDDEN', 'cross-origin requests to the kiosk API are refused');
  });
}
