/**
 * Gateway tokens registered through the admin API (gateways have a venue and a token
 * hash in central's registry). They are central-private: kept in the storage's meta area, never in
 * a venue document (venue documents sync to gateways). Config-file tokens always apply as well.
 */
import type { GatewayId, VenueId } from '@fridgesync/shared';
import type { DocStorage } from './storage/storage-port.ts';
import type { Authenticator } from './auth.ts';
import { RegisteredTokensSchema, type TokenEntry } from './config-schema.ts';

const META_KEY = 'gateway-tokens';

/** Loads, changes and persists registered gateway tokens, keeping the authenticator in step. */
export class GatewayTokens {
  private tokens: TokenEntry[] = [];
  constructor(
    private readonly storage: DocStorage,
    private readonly auth: Authenticator,
  ) {}

  /** Reads the stored tokens (an unreadable value is an error: tokens must not silently vanish). */
  async load(): Promise<void> {
    const raw = await this.storage.getMeta(META_KEY);
    this.tokens = raw === undefined ? [] : RegisteredTokensSchema.parse(JSON.parse(new TextDecoder().decode(raw)));
    this.auth.setRegistered(this.tokens);
  }

  /** Sets (or replaces) the token hash of one gateway; durable before it takes effect. */
  async set(venueId: VenueId, gatewayId: GatewayId, hash: string, name: string): Promise<void> {
    const next = this.tokens.filter((t) => !(t.role === 'gateway' && t.venueId === venueId && t.gatewayId === gatewayId));
    next.push({ role: 'gateway', name, hash, venueId, gatewayId });
    await this.storage.putMeta(META_KEY, new TextEncoder().encode(JSON.stringify(next)));
    this.tokens = next;
    this.auth.setRegistered(next);
  }
}
