/**
 * Group commit: appends that arrive while synced writes are in progress wait and are written
 * together in the next one, so N concurrent publishes cost about two fsyncs, not N. The first
 * append after an idle period is written at once (no timer: latency stays one fsync when idle).
 *
 * With `depth` > 1 the next batch is handed to the store while the previous one is still being
 * synced, so the store starts its next fsync as soon as the last one ends instead of a round trip
 * through a busy event loop later. Batches are still reported in order: a batch resolves only
 * after every earlier one did, and once one fails, it and every later batch reject whatever their
 * own write did; such a batch, written but never acknowledged, is handed to `abandon` (in order,
 * before its waiters hear of the failure) so the store can take it back. A batch holding an
 * `exclusive` item never overlaps another one.
 */

/** One queued item and its waiter. */
interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Batches items into `flush` calls; at most `depth` flushes run at a time. */
export class GroupCommit<T> {
  private queue: Array<Waiter<T>> = [];
  /** Settles when the last batch handed to `flush` has been reported. */
  private tail: Promise<void> = Promise.resolve();
  private flights = 0;
  private inFlight = 0;
  private scheduled = false;
  private exclusiveInFlight = false;
  private failure: unknown;
  private readonly depth: number;
  private readonly exclusive: ((item: T) => boolean) | undefined;
  private readonly abandon: ((items: T[]) => Promise<void>) | undefined;

  /**
   * @param flush writes a batch durably; a rejection fails that batch and every later one.
   * @param maxBatch most items per flush; a longer queue is written in several flushes.
   * @param opts.depth most flushes in progress at once (default 1).
   * @param opts.exclusive items whose batch is written alone, with no other batch in progress.
   * @param opts.abandon takes back a batch that was written after an earlier one failed (best effort).
   */
  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly maxBatch: number,
    opts: { depth?: number; exclusive?: (item: T) => boolean; abandon?: (items: T[]) => Promise<void> } = {},
  ) {
    this.depth = opts.depth ?? 1;
    this.exclusive = opts.exclusive;
    this.abandon = opts.abandon;
  }

  /** Items queued or being written. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** The error that stopped this committer, if any. */
  get failed(): unknown {
    return this.failure;
  }

  /** Queues `item`; resolves when it is durable. */
  add(item: T): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything queued so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.flights > 0 || this.queue.length > 0) await this.tail;
  }

  /** Stops accepting; later `add` calls reject with `reason`. */
  stop(reason: Error): void {
    this.failure ??= reason;
  }

  private schedule(): void {
    if (this.scheduled || this.flights >= this.depth) return;
    this.scheduled = true;
    // Let the current tick's appends (one socket read may carry many publishes) join the batch.
    queueMicrotask(() => {
      this.scheduled = false;
      this.issue();
    });
  }

  private issue(): void {
    while (this.queue.length > 0 && this.flights < this.depth && !this.exclusiveInFlight) {
      const exclusive = this.exclusive !== undefined && this.queue.slice(0, this.maxBatch).some((w) => this.exclusive!(w.item));
      if (exclusive && this.flights > 0) return; // issued when the batches in progress are done
      const batch = this.queue.splice(0, this.maxBatch);
      this.exclusiveInFlight = exclusive;
      this.flights++;
      this.inFlight += batch.length;
      let written: Promise<void>;
      try {
        written = this.failure !== undefined ? Promise.reject(this.failure) : this.flush(batch.map((w) => w.item));
      } catch (e) {
        written = Promise.reject(e);
      }
      const before = this.tail;
      this.tail = Promise.allSettled([written, before]).then(async ([w]) => {
        this.flights--;
        this.inFlight -= batch.length;
        if (exclusive) this.exclusiveInFlight = false;
        if (w.status === 'rejected') this.failure ??= w.reason;
        if (this.failure !== undefined) {
          if (w.status === 'fulfilled' && this.abandon !== undefined) await this.abandon(batch.map((x) => x.item)).catch(() => undefined);
          for (const x of batch) x.reject(this.failure);
          for (const x of this.queue.splice(0)) x.reject(this.failure);
          return;
        }
        for (const x of batch) x.resolve();
        this.schedule();
      });
    }
  }
}
