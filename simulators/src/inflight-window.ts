/**
 * A bounded window of in-flight operations (a counting semaphore). mqtt.js keeps every QoS 1
 * publish in its outgoing store until PUBACK; handing it thousands at once makes each publish
 * about ten times slower, so each fridge client sends through a window of a few dozen.
 */
export class InflightWindow {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** Highest number of operations that were in flight at once (for tests and reports). */
  peak = 0;

  /** `size`: operations allowed in flight at once (≥ 1). */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`window size must be a positive integer, got ${size}`);
  }

  /** Operations in flight now. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Waits for a slot and returns its release function (call it exactly once; extra calls are ignored). */
  async acquire(): Promise<() => void> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // Hand the slot straight to the next waiter, so `active` never dips below what is running.
      if (next) next();
      else this.active--;
    };
  }

  /** Runs `op` once a slot is free; the slot is released when `op` settles (even on throw). */
  async run<T>(op: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await op();
    } finally {
      release();
    }
  }

  /** Resolves when nothing is in flight or waiting. */
  async drain(): Promise<void> {
    while (this.active > 0 || this.waiters.length > 0) await new Promise((r) => setTimeout(r, 5));
  }
}
