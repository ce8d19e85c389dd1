/**
 * The sync client's reconnect delay: exponential backoff with full jitter, a delay drawn uniformly
 * from `[min/2, min(max, min·2^attempt)]`, so gateways that lost central together do not all come
 * back in the same instant. The attempt
 * count grows with every failed or refused session and starts over only once central accepts this
 * gateway again (docs/sync-protocol.md "When central refuses a gateway"), so a gateway central
 * refuses after each welcome does not reconnect at the shortest delay forever.
 */

/** Options of {@link ReconnectBackoff}. */
export interface BackoffOptions {
  /** Smallest cap of the delay, ms (`central.backoffMinMs`); half of it is the shortest delay. */
  minMs: number;
  /** Largest cap of the delay, ms (`central.backoffMaxMs`). */
  maxMs: number;
  /** Uniform in [0, 1); default `Math.random` (tests pass 1 to get the cap itself). */
  random?: () => number;
}

/** Reconnect attempts and their delays. */
export class ReconnectBackoff {
  private attempts = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.minMs > 0) || !(options.maxMs >= options.minMs)) throw new RangeError(`backoff needs 0 < minMs ≤ maxMs (got ${options.minMs}, ${options.maxMs})`);
    this.random = options.random ?? Math.random;
  }

  /** Failed or refused sessions since central last accepted this gateway. */
  get attempt(): number {
    return this.attempts;
  }

  /** The delay before the next connection after one more failure, ms; counts the failure. */
  next(): number {
    const { minMs, maxMs } = this.options;
    // 2^30 already exceeds any sensible cap; the bound keeps the power finite.
    const cap = Math.min(maxMs, minMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    return Math.max(minMs / 2, this.random() * cap);
  }

  /** Central accepted this gateway: the next failure waits the shortest delay again. */
  reset(): void {
    this.attempts = 0;
  }
}
