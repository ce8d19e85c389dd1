/**
 * Group commit: appends that arrive while a synced write is in progress wait and are written
 * together in the next one, so N concurrent publishes cost about two fsyncs, not N. The first
 * append after an idle period is written at once (no timer: latency stays one fsync when idle).
 */

/** One queued item and its waiter. */
interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Batches items into `flush` calls; at most one flush runs at a time. */
export class GroupCommit<T> {
  private queue: Array<Waiter<T>> = [];
  private running: Promise<void> | undefined;
  private failure: unknown;

  /**
   * @param flush writes a batch durably; a rejection fails that batch and every later one.
   * @param maxBatch most items per flush; a longer queue is written in several flushes.
   */
  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  /** Items queued or being written. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }
  private inFlight = 0;

  /** The error that stopped this committer, if any. */
  get failed(): unknown {
    return this.failure;
  }

  /** Queues `item`; resolves when it is durable. */
  add(item: T): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves when everything queued so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
  }

  /** Stops accepting; later `add` calls reject with `reason`. */
  stop(reason: Error): void {
    this.failure ??= reason;
  }

  private async drain(): Promise<void> {
    // Let the current tick's appends (one socket read may carry many publishes) join the batch.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        this.inFlight = batch.length;
        try {
          if (this.failure !== undefined) throw this.failure;
          await this.flush(batch.map((w) => w.item));
        } catch (e) {
          this.failure ??= e;
          for (const w of batch) w.reject(this.failure);
          for (const w of this.queue.splice(0)) w.reject(this.failure);
          return;
        } finally {
          this.inFlight = 0;
        }
        for (const w of batch) w.resolve();
      }
    } finally {
      this.running = undefined;
    }
  }
}
