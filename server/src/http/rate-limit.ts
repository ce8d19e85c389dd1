/**
 * Rate limiting of write routes (@fastify/rate-limit, registered with `global: false`; each write
 * route opts in). The key is the bearer token's hash when present, else the client address, so one
 * noisy app key cannot starve the others behind the same proxy.
 */
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';

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
    keyGenerator: (req) => {
      const h = req.headers.authorization;
      return typeof h === 'string' ? 't:' + createHash('sha256').update(h).digest('hex').slice(0, 32) : 'ip:' + req.ip;
    },
  };
}
