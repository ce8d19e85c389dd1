/**
 * Bearer-token authentication. The config stores only `sha256:<hex>` hashes; a presented token is
 * hashed and compared against every configured hash in constant time (`timingSafeEqual`), so
 * neither the token nor which entry almost matched leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { GatewayId, VenueId } from '@fridgesync/shared';
import type { Role, TokenEntry } from './config-schema.ts';

/** Who is calling. */
export interface Principal {
  role: Role;
  /** Token name from the config (for logs). */
  name: string;
  /** Stable key of the token (its hash), for per-token limits. Never a secret. */
  tokenKey: string;
  venueId?: VenueId;
  gatewayId?: GatewayId;
}

/** The config form of a token's hash. */
export function hashToken(token: string): string {
  return 'sha256:' + createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The token of an `Authorization: Bearer <token>` header, or `undefined`. The scheme name is
 * matched case-insensitively (RFC 7235 §2.1), so `bearer` and `BEARER` work as well.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^bearer[ \t]+(\S.*)$/i.exec(header);
  return m === null ? undefined : m[1]!.trim();
}

/** Resolves tokens to principals. */
export class Authenticator {
  private readonly configured: Array<{ digest: Buffer; entry: TokenEntry }>;
  /** Gateway tokens registered through the admin API (persisted by the caller). */
  private registered: Array<{ digest: Buffer; entry: TokenEntry }> = [];
  constructor(tokens: readonly TokenEntry[]) {
    this.configured = tokens.map((entry) => ({ digest: Buffer.from(entry.hash.slice('sha256:'.length), 'hex'), entry }));
  }

  /** Replaces the admin-registered tokens. */
  setRegistered(tokens: readonly TokenEntry[]): void {
    this.registered = tokens.map((entry) => ({ digest: Buffer.from(entry.hash.slice('sha256:'.length), 'hex'), entry }));
  }

  private get entries() {
    return [...this.configured, ...this.registered];
  }

  /** The principal of a raw token, or `undefined`. */
  resolve(token: string | undefined): Principal | undefined {
    if (token === undefined || token.length === 0 || token.length > 4096) return undefined;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: TokenEntry | undefined;
    // No early exit: every entry is compared.
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest) && found === undefined) found = e.entry;
    if (found === undefined) return undefined;
    const p: Principal = { role: found.role, name: found.name, tokenKey: found.hash };
    if (found.role === 'gateway') {
      p.venueId = found.venueId;
      p.gatewayId = found.gatewayId;
    }
    return p;
  }

  /** The principal of a request: `Authorization: Bearer …`, or `?token=` (websocket clients, EventSource). */
  fromRequest(req: FastifyRequest): Principal | undefined {
    const bearer = bearerToken(req.headers.authorization);
    if (bearer !== undefined) return this.resolve(bearer);
    // From the raw URL: route schemas may strip query keys they do not declare.
    const url = req.raw.url ?? '';
    const i = url.indexOf('?');
    const q = i < 0 ? null : new URLSearchParams(url.slice(i + 1)).get('token');
    return q === null ? undefined : this.resolve(q);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}
