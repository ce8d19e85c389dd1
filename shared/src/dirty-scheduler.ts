/**
 * The one scheduler for work that follows document changes (docs/design.md "Scheduling work after
 * changes"). Observers mark keys dirty as transactions touch them (a fridge, a fold of central's
 * read model, a venue whose recalls changed); the scheduler runs each key later, once however often
 * it was marked, in time-bounded slices that yield to I/O between them. Central's read model,
 * central's answers to recalls and a gateway's reconciler use it with their own budgets:
 *
 * - `debounceMs`: a key runs no sooner than this after it was first marked, so a burst of changes
 *   to it merges into one run; it is also the least time between two runs of one key.
 * - `sliceMs`: one slice hands out entries while the time spent (or, for work the caller does after
 *   taking a batch, the measured cost per entry times the entries taken) stays within this; then the
 *   scheduler yields (`setImmediate`) and goes on with the next slice.
 * - `pacing`: a cycle (the slices that run until nothing is due) starts at most once per interval,
 *   chosen from the last cycle's cost so the work takes at most `maxShare` of the process, within
 *   `minIntervalMs`..`maxIntervalMs`. An isolated change still runs at once.
 *
 * No I/O: only the timers of an injectable {@link SchedulerClock}.
 */

/** Time and timers of a {@link DirtyScheduler}; tests pass a manual clock. */
export interface SchedulerClock {
  /** Monotonic time, ms. */
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Runs `fn` after the I/O that is due now (`setImmediate`); returns a function that cancels it. */
  soon(fn: () => void): () => void;
}

/** The process's clock: `performance.now()`, `setTimeout`, `setImmediate`. */
export const SYSTEM_SCHEDULER_CLOCK: SchedulerClock = {
  now: () => performance.now(),
  after: (ms, fn) => {
    // Pending folds do not keep a process alive that is otherwise done (shutdown clears them).
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
  soon: (fn) => {
    const i = setImmediate(fn);
    return () => clearImmediate(i);
  },
};

/** How often cycles may start (see the file comment). */
export interface Pacing {
  /** Least time between the starts of two cycles, ms. */
  minIntervalMs: number;
  /** Most time between the starts of two cycles however costly they get, ms. */
  maxIntervalMs: number;
  /** Share of the process (0–1] the cycles may take under a stream of changes. */
  maxShare: number;
}

/** The entries one slice may take. */
export interface Slice<K, V> {
  /**
   * The next due entry, removed from the pending set (a later mark of its key starts a new entry),
   * or `undefined` once nothing more is due or the slice's time is spent. The first call of a
   * slice always hands out a due entry if there is one, so every slice makes progress.
   */
  next(): [K, V] | undefined;
}

/** Options of a {@link DirtyScheduler}. */
export interface DirtySchedulerOptions<K, V> {
  /**
   * Runs one slice: takes entries with `slice.next()` and does their work, one by one or as one
   * batch. Entries it takes and does not finish are gone; it may mark them again.
   */
  run: (slice: Slice<K, V>) => void;
  /** Time one slice may take before the scheduler yields to I/O, ms. */
  sliceMs: number;
  /** Least time from a key's first mark to its run, ms (default 0: the next slice). */
  debounceMs?: number;
  /** Limits how often cycles start (default: none). */
  pacing?: Pacing;
  clock?: SchedulerClock;
  /** Told when `run` throws; the scheduler carries on with what is still pending. */
  onError?: (e: unknown) => void;
}

/** Estimated cost of one entry before any was measured, ms. */
const INITIAL_ENTRY_MS = 0.5;
/** Lower bound of the estimate, ms: a slice given a batch to take stays finite. */
const MIN_ENTRY_MS = 0.02;

interface Pending<V> {
  value: V;
  /** When the key may run (clock time). */
  dueAt: number;
}

/** Coalesces dirty keys and runs them in paced, time-bounded slices (see the file comment). */
export class DirtyScheduler<K, V> {
  /** Key → pending value, in the order first marked; bounded by the keys callers mark (fridges, folds). */
  private readonly pending = new Map<K, Pending<V>>();
  private readonly clock: SchedulerClock;
  private readonly debounceMs: number;
  /** When the armed wake-up fires (`Infinity`: none armed). */
  private wakeAt = Infinity;
  private cancelWake: (() => void) | undefined;
  /** True from the first slice of a cycle until a slice finds nothing more due. */
  private inCycle = false;
  /** True while `run` runs (a flush from inside it returns at once). */
  private running = false;
  /** Start of the current or last cycle; with {@link interval}, the earliest start of the next. */
  private cycleStart = -Infinity;
  /** Time spent in the slices of the current cycle, ms. */
  private cycleMs = 0;
  /** Least time between the starts of two cycles, ms (from {@link Pacing}; 0 without it). */
  private interval: number;
  /** Measured cost of one entry, ms: follows a rise at once and a fall slowly. */
  private entryMs = INITIAL_ENTRY_MS;

  constructor(private readonly opts: DirtySchedulerOptions<K, V>) {
    this.clock = opts.clock ?? SYSTEM_SCHEDULER_CLOCK;
    this.debounceMs = opts.debounceMs ?? 0;
    this.interval = opts.pacing?.minIntervalMs ?? 0;
  }

  /**
   * Marks `key` dirty. `update` gets its pending value (`undefined` when the key is not pending)
   * and returns the new one. The key is due `delayMs` after its first mark (default `debounceMs`);
   * a shorter delay brings a pending key forward.
   */
  mark(key: K, update: (pending: V | undefined) => V, delayMs = this.debounceMs): void {
    let dueAt = this.clock.now() + delayMs;
    const p = this.pending.get(key);
    // A key newly marked while a cycle runs belongs to the next cycle: a cycle ends once what was
    // due at its start is done, so a stream of marks cannot keep it going past its pacing.
    if (p === undefined && this.inCycle) dueAt = Math.max(dueAt, this.cycleStart + this.interval);
    if (p === undefined) this.pending.set(key, { value: update(undefined), dueAt });
    else {
      p.value = update(p.value);
      if (dueAt < p.dueAt) p.dueAt = dueAt;
    }
    // During a cycle the next slice finds the key if it is due; the cycle's end arms what is not.
    if (!this.inCycle) this.arm(Math.max(p?.dueAt ?? dueAt, this.cycleStart + this.interval));
  }

  /** Keys pending (due or not). */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Runs every pending entry now, due or not, with no time budget (a read that must see
   * everything). Counts as the start of a cycle for the pacing. From inside `run` it does nothing:
   * the running slice goes on.
   */
  flush(): void {
    if (this.running || this.pending.size === 0) return;
    const started = this.clock.now();
    const { taken } = this.runSlice(Infinity, true);
    if (!this.inCycle && taken > 0) this.cycleStart = started;
  }

  /** Drops everything pending and the armed wake-up. */
  clear(): void {
    this.pending.clear();
    this.disarm();
    this.inCycle = false;
  }

  private arm(at: number): void {
    if (at >= this.wakeAt) return;
    this.disarm();
    this.wakeAt = at;
    const delay = at - this.clock.now();
    this.cancelWake = delay <= 0 ? this.clock.soon(() => this.wake()) : this.clock.after(delay, () => this.wake());
  }

  private disarm(): void {
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.wakeAt = Infinity;
  }

  /** Arms the wake-up for the earliest pending key (once per cycle: a scan of the pending keys). */
  private armNext(): void {
    let earliest = Infinity;
    for (const p of this.pending.values()) earliest = Math.min(earliest, p.dueAt);
    if (earliest !== Infinity) this.arm(Math.max(earliest, this.cycleStart + this.interval));
  }

  private wake(): void {
    this.cancelWake = undefined;
    this.wakeAt = Infinity;
    const started = this.clock.now();
    // A flush since this wake-up was armed started a cycle of its own: wait out its interval.
    if (!this.inCycle && started < this.cycleStart + this.interval) return this.armNext();
    // The cycle starts with this slice (marks made during it already belong to the next one).
    const starting = !this.inCycle;
    const previousStart = this.cycleStart;
    if (starting) {
      this.inCycle = true;
      this.cycleStart = started;
      this.cycleMs = 0;
    }
    const { taken, spent, more } = this.runSlice(this.opts.sliceMs, false);
    if (starting && taken === 0) {
      // Nothing was due after all: no cycle.
      this.inCycle = false;
      this.cycleStart = previousStart;
      return this.armNext();
    }
    this.cycleMs += spent;
    if (more && this.pending.size > 0) {
      this.wakeAt = started;
      this.cancelWake = this.clock.soon(() => this.wake());
      return;
    }
    this.inCycle = false;
    const pacing = this.opts.pacing;
    if (pacing !== undefined) this.interval = Math.min(pacing.maxIntervalMs, Math.max(pacing.minIntervalMs, this.cycleMs / pacing.maxShare));
    this.armNext();
  }

  /** Runs one slice; `more` when it stopped for time while entries may still be due. */
  private runSlice(budgetMs: number, all: boolean): { taken: number; spent: number; more: boolean } {
    const started = this.clock.now();
    const entries = this.pending.entries();
    let taken = 0;
    let more = false;
    const slice: Slice<K, V> = {
      next: () => {
        if (more) return undefined;
        if (taken > 0 && budgetMs !== Infinity && Math.max(this.clock.now() - started, taken * this.entryMs) + this.entryMs > budgetMs) {
          more = true;
          return undefined;
        }
        // Entries marked during the slice are visited too (a Map iterates what is added meanwhile).
        for (let r = entries.next(); r.done !== true; r = entries.next()) {
          const [key, p] = r.value;
          if (!all && p.dueAt > started) continue;
          this.pending.delete(key);
          taken++;
          return [key, p.value];
        }
        return undefined;
      },
    };
    this.running = true;
    try {
      this.opts.run(slice);
    } catch (e) {
      this.opts.onError?.(e);
    } finally {
      this.running = false;
    }
    const spent = this.clock.now() - started;
    if (taken > 0) {
      const last = spent / taken;
      this.entryMs = Math.max(MIN_ENTRY_MS, last, 0.8 * this.entryMs + 0.2 * last);
    }
    return { taken, spent, more };
  }
}
