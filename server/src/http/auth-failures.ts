/**
 * Failed authentications (401) counted per source address in fixed windows. Authentication runs
 * before the write-route rate limit (route-policy.ts), so without this bound an address could try
 * tokens as fast as central answers. An address with `maxFailures` failures in its current window
 * gets 429 `RATE_LIMITED` for every request that needs a token, valid or not, until the window ends;
 * public routes (health, dashboard files) stay open to it. The map holds at most
 * {@link MAX_TRACKED_ADDRESSES} addresses, oldest dropped first, so a flood from ever new addresses
 * cannot grow it.
 */

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
  private readonly m = new Map<string, { since: number; count: number }>();
  private readonly now: () => number;

  constructor(private readonly o: AuthFailuresOptions) {
    this.now = o.now ?? Date.now;
  }

  private current(address: string): { since: number; count: number } | undefined {
    const e = this.m.get(address);
    if (e !== undefined && this.now() - e.since >= this.o.windowMs) {
      this.m.delete(address);
      return undefined;
    }
    return e;
  }

  /** Whether `address` has used up its failures for the current window. */
  blocked(address: string): boolean {
    return (this.current(address)?.count ?? 0) >= this.o.maxFailures;
  }

  /** Counts one failed authentication from `address`. */
  failed(address: string): void {
    const e = this.current(address);
    if (e !== undefined) {
      e.count++;
      return;
    }
    if (this.m.size >= MAX_TRACKED_ADDRESSES) this.m.delete(this.m.keys().next().value!);
    this.m.set(address, { since: this.now(), count: 1 });
  }

  /** Addresses with failures in their current window. */
  get size(): number {
    return this.m.size;
  }
}
