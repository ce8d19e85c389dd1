/**
 * Who may call each route, checked first. Every route declares `config.access` (which roles, the
 * metrics token, or public) and `config.errors` (the catalog codes its handler answers); a route
 * that declares no access fails at registration, so a new route cannot forget it.
 *
 * Authentication runs in an `onRequest` hook, before the body is parsed and validated: a caller
 * without a valid token learns `401`, a token of another role `403`, and nothing about the schema.
 * The same declarations write the OpenAPI description: the roles per route (`x-roles`, `security`)
 * and every error response (`errorResponses`, from the one catalog). Failed authentications are
 * counted per source address (auth-failures.ts): past the bound, the address gets 429 on every
 * route that needs a token until its window ends.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { FridgesyncError, errorResponses, type ErrorCode } from '@fridgesync/shared';
import { bearerToken, type Authenticator } from '../auth.ts';
import { AuthFailures } from './auth-failures.ts';
import type { Role } from '../config-schema.ts';

/** Who may call a route. */
export type Access =
  /** Anyone (health, documentation, dashboard files). */
  | { public: true }
  /** A bearer token of one of these roles. */
  | { roles: readonly Role[] }
  /** `/metrics`: the metrics token when `http.metricsTokenHash` is set, else anyone. */
  | { metrics: true };

/** Shorthands for route configs. */
export const PUBLIC: Access = { public: true };
export const roles = (...r: Role[]): Access => ({ roles: r });

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (required on every route; see route-policy.ts). */
    access?: Access;
    /** Catalog codes the handler itself answers (auth, validation, size and rate errors are added). */
    errors?: readonly ErrorCode[];
  }
}

/** A registered route as the policy saw it (tests iterate these). */
export interface RouteInfo {
  method: string;
  url: string;
  access: Access;
  /** Every error code the route may answer, as documented. */
  errors: ErrorCode[];
  /** True when the route declares a request body schema. */
  hasBody: boolean;
  rateLimited: boolean;
}

/** Options of {@link installRoutePolicy}. */
export interface RoutePolicyOptions {
  auth: Authenticator;
  /** `sha256:<hex>` of the metrics token; unset leaves `/metrics` open. */
  metricsTokenHash: string | undefined;
  /** Failed authentications per address and window before 429 (`http.maxAuthFailuresPerAddress`). */
  maxAuthFailuresPerAddress: number;
  /** `http.authFailureWindowMs`. */
  authFailureWindowMs: number;
}

/**
 * Installs the registration check, the OpenAPI annotations and the authentication hook. Call
 * before registering any route; returns the table of registered routes.
 */
export function installRoutePolicy(app: FastifyInstance, o: RoutePolicyOptions): readonly RouteInfo[] {
  const table: RouteInfo[] = [];
  const failures = new AuthFailures({ windowMs: o.authFailureWindowMs, maxFailures: o.maxAuthFailuresPerAddress });
  const metricsDigest = o.metricsTokenHash === undefined ? undefined : Buffer.from(o.metricsTokenHash.slice('sha256:'.length), 'hex');

  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access;
    const methods = ([] as string[]).concat(route.method);
    if (access === undefined) throw new Error(`route ${methods.join(',')} ${route.url} declares no config.access`);
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    const errors = new Set<ErrorCode>(route.config?.errors ?? []);
    if ('roles' in access) errors.add('UNAUTHENTICATED').add('FORBIDDEN').add('RATE_LIMITED');
    if ('metrics' in access && metricsDigest !== undefined) errors.add('UNAUTHENTICATED').add('RATE_LIMITED');
    if (schema.body !== undefined || schema.params !== undefined || schema.querystring !== undefined) errors.add('VALIDATION_FAILED');
    if (schema.body !== undefined) errors.add('PAYLOAD_TOO_LARGE');
    const rateLimited = route.config?.rateLimit !== undefined && route.config.rateLimit !== false;
    if (rateLimited) errors.add('RATE_LIMITED');
    if (!methods.includes('HEAD')) {
      for (const method of methods) table.push({ method, url: route.url, access, errors: [...errors].sort(), hasBody: schema.body !== undefined, rateLimited });
    }
    if (schema.hide === true) return;
    const roleList = 'roles' in access ? [...access.roles] : [];
    const who = 'roles' in access ? `Roles: ${roleList.join(', ')}.` : 'metrics' in access ? 'The metrics token when one is configured (`http.metricsTokenHash`), else public.' : 'Public.';
    const annotated: Record<string, unknown> = {
      ...schema,
      description: [who, schema.description].filter((s) => s !== undefined).join('\n\n'),
      security: 'public' in access || ('metrics' in access && metricsDigest === undefined) ? [] : [{ bearer: [] }],
      'x-roles': roleList,
      response: { ...errorResponses(errors), ...((schema.response as object | undefined) ?? {}) },
    };
    route.schema = annotated;
  });

  // App-level onRequest hooks run before every route-level hook (the rate limit keys on the
  // principal found here) and before the body is read.
  app.addHook('onRequest', async (req) => {
    const access = req.routeOptions.config.access;
    if (access === undefined || 'public' in access) return; // unmatched routes answer 404
    if ('metrics' in access && metricsDigest === undefined) return;
    if (failures.blocked(req.ip)) throw new FridgesyncError('RATE_LIMITED', 'too many failed authentications from this address; try again later');
    const unauthenticated = () => {
      failures.failed(req.ip);
      return new FridgesyncError('UNAUTHENTICATED');
    };
    if ('metrics' in access) {
      const token = bearerToken(req.headers.authorization) ?? '';
      const digest = createHash('sha256').update(token, 'utf8').digest();
      if (token.length === 0 || !timingSafeEqual(digest, metricsDigest!)) throw unauthenticated();
      return;
    }
    const p = o.auth.fromRequest(req);
    if (p === undefined) throw unauthenticated();
    if (!access.roles.includes(p.role)) throw new FridgesyncError('FORBIDDEN', `role ${p.role} may not use this route`);
    req.principal = p;
  });
  return table;
}
