/**
 * When central counts as having accepted this gateway (docs/sync-protocol.md "When central refuses
 * a gateway"): it welcomed the hello naming the gateway's replica *and* sent a durable-ack covering
 * the connection's own diff. Not at the welcome alone: central validates the full-state diff after
 * it and may still close with 4403, and a gateway refused after every welcome would otherwise
 * reconnect at the shortest delay forever. After refusals, the session must also last
 * {@link ACCEPTED_AFTER_REFUSAL_MS} without another one, so a session accepted and then refused
 * again (a refused update streamed after the diff) still backs off and is never reported ready in
 * between.
 */

/**
 * After refusals, how long a session central accepted must last before the gateway counts as
 * accepted again (ready, backoff reset), ms; at most `backoffMaxMs`.
 */
export const ACCEPTED_AFTER_REFUSAL_MS = 5_000;

/** One connection's way to acceptance: hellos and welcomes, the own diff and its durable-ack. */
export class ConnectionAcceptance {
  /** Hellos on this connection central has not welcomed yet. */
  private unwelcomed = 0;
  /** The replica the last hello spoke for (undefined: joining, read-only). */
  private announced: string | undefined;
  /** Our own clients' clocks when the own diff went out; undefined before it and once acknowledged. */
  private diffClocks: ReadonlyMap<number, number> | undefined;
  private diffAcked = false;

  /** The replica this connection's last hello spoke for (undefined: none yet, or joining). */
  get replica(): string | undefined {
    return this.announced;
  }

  /** A hello for `replica` (undefined: joining) went out. */
  helloSent(replica: string | undefined): void {
    this.announced = replica;
    this.unwelcomed++;
  }

  /** Central welcomed the oldest unwelcomed hello. True when the connection is now accepted. */
  welcomed(): boolean {
    this.unwelcomed = Math.max(0, this.unwelcomed - 1);
    return this.accepted();
  }

  /** The own diff went out while our clients stood at `clocks` (client → clock). */
  ownDiffSent(clocks: ReadonlyMap<number, number>): void {
    this.diffClocks = clocks;
    this.diffAcked = false;
  }

  /**
   * Central acknowledged `acked` (a decoded state vector) as durable. True when the connection is
   * accepted: the ack of the own diff may overtake the welcome of the hello it followed (central
   * sends both once the allocation is durable), so acceptance waits for both.
   */
  durableAck(acked: ReadonlyMap<number, number>): boolean {
    if (!this.diffAcked && this.diffClocks !== undefined && [...this.diffClocks].every(([c, clock]) => (acked.get(c) ?? 0) >= clock)) {
      this.diffClocks = undefined;
      this.diffAcked = true;
    }
    return this.accepted();
  }

  private accepted(): boolean {
    return this.diffAcked && this.unwelcomed === 0 && this.announced !== undefined;
  }
}

/** Settles a refusal once an accepted session has lasted; settles at once when nothing was refused. */
export class RefusalSettling {
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param holdMs how long an accepted session must last after refusals, ms
   * @param refused whether a refusal is in force
   * @param settle resets the backoff and clears the refusal
   */
  constructor(
    private readonly holdMs: number,
    private readonly refused: () => boolean,
    private readonly settle: () => void,
  ) {}

  /** Central accepted the current session. */
  accepted(): void {
    if (!this.refused()) return this.settle();
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.refused()) this.settle();
    }, this.holdMs);
    this.timer.unref();
  }

  /**
   * The session ended or was refused: its wait ends with it (the next session starts its own).
   * The sync client cancels at every close and refusal, so a running wait always belongs to the
   * session that is still open.
   */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
