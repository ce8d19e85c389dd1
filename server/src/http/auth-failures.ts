/**
 * Failed authentications (401) counted per source address in fixed windows. Authentication runs
 * before the write-route rate limit (route-policy.ts), so without this bound an address could try
 * tokens as fast as central answers. An address with `maxFailures` failures in its current window
 * gets 429 `RATE_LIMITED` for every request that needs a token, valid or not, until the window ends;
 * public routes (health, dashboard files) stay open to it. The map holds at most
 * {@link MAX_TRACKED_ADDRESSES} addresses, oldest dropped first, so a flood from ever new addresses
 * cannot grow it.
 */
import { WindowedCounts } from '@fridgesync/shared';

/** Most addresses tracked at once. */
export const MAX_TRACKED_ADDRESSES = 10_000;

/** Options of {@link AuthFailures}. */
export interface AuthFailuresOptions {
  /** Length of a counting window, ms. */
  windowMs: number;
  /** Failures an address may have in a window before it is refused for the rest of it. */
  maxFailures: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

/** The failed-authentication counts of one central. */
export class AuthFailures {
  private readonly counts: WindowedCounts;

  constructor(private readonly opts: AuthFailuresOptions) {
    this.counts = new WindowedCounts(opts.windowMs, MAX_TRACKED_ADDRESSES, opts.now ?? Date.now);
  }

  /** Whether `address` has used up its failures for the current window. */
  blocked(address: string): boolean {
    return this.counts.get(address) >= this.opts.maxFailures;
  }

  /** Counts one failed authentication from `address`. */
  failed(address: string): void {
    this.counts.add(address);
  }

  /** Addresses with failures in their current window. */
  get size(): number {
    return this.counts.size;
  }
}
