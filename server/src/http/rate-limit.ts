/**
 * Rate limiting of write routes (@fastify/rate-limit, registered with `global: false`; each write
 * route opts in). The key is the authenticated principal (its token's hash, set by the route policy's
 * `onRequest` hook, which runs first), so every spelling of one token's `Authorization` header
 * shares one budget and one noisy app key cannot starve the others behind the same proxy. A request
 * without a principal (none reaches a write route) is keyed by its address.
 */
import type { FastifyRequest } from 'fastify';

/** The per-route config object of @fastify/rate-limit. */
export interface RateLimitConfig {
  max: number;
  timeWindow: number;
  keyGenerator: (req: FastifyRequest) => string;
}

/** Write-route limit: `perMinute` requests per token (or IP) per minute. */
export function writeRateLimit(perMinute: number): RateLimitConfig {
  return {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.principal !== undefined ? 't:' + req.principal.tokenKey : 'ip:' + req.ip),
  };
}
