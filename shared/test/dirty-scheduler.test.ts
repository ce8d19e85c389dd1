/**
 * The dirty-key scheduler on a manual clock: coalescing, per-key debounce, time-bounded slices
 * (per entry and per batch), pacing of cycles by their cost, flushes, errors and clearing.
 */
import { describe, expect, it } from 'vitest';
import { DirtyScheduler, type DirtySchedulerOptions, type SchedulerClock, type Slice } from '../src/dirty-scheduler.ts';

/** A clock whose time moves only when the test (or the work it schedules) moves it. */
class ManualClock implements SchedulerClock {
  t = 0;
  private seq = 0;
  private queue: Array<{ at: number; seq: number; fn: () => void; live: boolean }> = [];
  now = (): number => this.t;
  after(ms: number, fn: () => void): () => void {
    const e = { at: this.t + ms, seq: this.seq++, fn, live: true };
    this.queue.push(e);
    return () => {
      e.live = false;
    };
  }
  soon(fn: () => void): () => void {
    return this.after(0, fn);
  }
  /**
   * Runs every callback due up to `t` in time order, then sets the time to `t`. Callbacks may add
   * more, and work may move the time past `t`: what is due by then runs too.
   */
  advanceTo(t: number): void {
    for (;;) {
      this.queue = this.queue.filter((e) => e.live);
      const until = Math.max(t, this.t);
      const due = this.queue.filter((e) => e.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = Math.max(this.t, t);
  }
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }
  /** Callbacks still armed. */
  get armed(): number {
    return this.queue.filter((e) => e.live).length;
  }
}

/** Takes every entry the slice hands out, each costing `costMs` of the clock's time. */
function perEntry<K, V>(clock: ManualClock, costMs: number, slices: Array<Array<[K, V]>>) {
  return (slice: Slice<K, V>) => {
    const got: Array<[K, V]> = [];
    for (let e = slice.next(); e !== undefined; e = slice.next()) {
      got.push(e);
      clock.t += costMs;
    }
    slices.push(got);
  };
}

function scheduler<K, V>(clock: ManualClock, o: Omit<DirtySchedulerOptions<K, V>, 'clock'>) {
  return new DirtyScheduler<K, V>({ ...o, clock });
}

const keysOf = <K, V>(slices: Array<Array<[K, V]>>) => slices.map((s) => s.map(([k]) => k));

describe('DirtyScheduler', () => {
  it('runs a key once however often it was marked, with the merged value, on the next turn', () => {
    const clock = new ManualClock();
    const slices: Array<Array<[string, string[]]>> = [];
    const s = scheduler<string, string[]>(clock, { sliceMs: 4, run: perEntry(clock, 0, slices) });
    for (const m of ['m1', 'm2', 'm1']) s.mark('f1', (p = []) => [...p, m]);
    s.mark('f2', () => ['m3']);
    expect(slices).toEqual([]); // nothing runs inside the marking transaction
    clock.advance(0);
    expect(slices).toEqual([
      [
        ['f1', ['m1', 'm2', 'm1']],
        ['f2', ['m3']],
      ],
    ]);
    expect(s.size).toBe(0);
    expect(clock.armed).toBe(0);
  });

  it('debounces per key from its first mark, which is also the least time between two runs of a key', () => {
    const clock = new ManualClock();
    const runs: Array<[number, string]> = [];
    const s = scheduler<string, null>(clock, {
      sliceMs: 4,
      debounceMs: 500,
      run: (slice) => {
        for (let e = slice.next(); e !== undefined; e = slice.next()) runs.push([clock.t, e[0]]);
      },
    });
    s.mark('a', () => null);
    clock.advance(100);
    s.mark('b', () => null);
    clock.advance(300);
    s.mark('a', () => null); // within a's debounce: merged
    clock.advance(100);
    expect(runs).toEqual([[500, 'a']]);
    s.mark('a', () => null); // right after its run: waits a whole debounce again
    clock.advance(100);
    expect(runs).toEqual([
      [500, 'a'],
      [600, 'b'],
    ]);
    clock.advance(400);
    expect(runs).toEqual([
      [500, 'a'],
      [600, 'b'],
      [1000, 'a'],
    ]);
  });

  it('a mark with a shorter delay brings a pending key forward', () => {
    const clock = new ManualClock();
    const runs: Array<[number, string]> = [];
    const s = scheduler<string, null>(clock, {
      sliceMs: 4,
      debounceMs: 500,
      run: (slice) => {
        for (let e = slice.next(); e !== undefined; e = slice.next()) runs.push([clock.t, e[0]]);
      },
    });
    s.mark('a', () => null);
    s.mark('b', () => null);
    clock.advance(50);
    s.mark('b', () => null, 0);
    clock.advance(0);
    expect(runs).toEqual([[50, 'b']]);
    clock.advance(450);
    expect(runs).toEqual([
      [50, 'b'],
      [500, 'a'],
    ]);
  });

  it('runs entries in slices of at most sliceMs, yielding between them', () => {
    const clock = new ManualClock();
    const slices: Array<Array<[number, null]>> = [];
    const s = scheduler<number, null>(clock, { sliceMs: 3, run: perEntry(clock, 1, slices) });
    for (let i = 0; i < 10; i++) s.mark(i, () => null);
    clock.advance(0);
    expect(keysOf(slices)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  });

  it('a slice that takes a batch first gets as many entries as their measured cost fits', () => {
    const clock = new ManualClock();
    const batches: number[][] = [];
    const s = scheduler<number, null>(clock, {
      sliceMs: 3,
      run: (slice) => {
        const batch: number[] = [];
        for (let e = slice.next(); e !== undefined; e = slice.next()) batch.push(e[0]);
        batches.push(batch);
        clock.t += batch.length; // the batch's work: 1 ms per entry, after taking them all
      },
    });
    for (let i = 0; i < 12; i++) s.mark(i, () => null);
    clock.advance(0);
    // Estimated at 0.5 ms each, six fit in 3 ms; they cost 1 ms each, so the next batches hold three.
    expect(batches.map((b) => b.length)).toEqual([6, 3, 3]);
  });

  it('with no time to spare, a slice still takes one entry', () => {
    const clock = new ManualClock();
    const slices: Array<Array<[number, null]>> = [];
    const s = scheduler<number, null>(clock, { sliceMs: 0, run: perEntry(clock, 0, slices) });
    for (let i = 0; i < 3; i++) s.mark(i, () => null);
    clock.advance(0);
    expect(keysOf(slices)).toEqual([[0], [1], [2]]);
  });

  describe('pacing', () => {
    const pacing = { minIntervalMs: 250, maxIntervalMs: 2_000, maxShare: 0.1 };

    it('an isolated change runs at once; under a stream of changes cycles start at most every minIntervalMs', () => {
      const clock = new ManualClock();
      const runs: number[] = [];
      const s = scheduler<string, null>(clock, {
        sliceMs: 4,
        pacing,
        run: (slice) => {
          if (slice.next() !== undefined) runs.push(clock.t);
        },
      });
      s.mark('f1', () => null);
      clock.advance(0);
      expect(runs).toEqual([0]);
      for (let t = 10; t <= 600; t += 10) {
        clock.advanceTo(t);
        s.mark('f1', () => null);
      }
      clock.advance(0);
      expect(runs).toEqual([0, 250, 500]);
      clock.advance(250);
      expect(runs).toEqual([0, 250, 500, 750]);
    });

    it('a costly cycle spaces the next ones so the work takes at most maxShare, up to maxIntervalMs', () => {
      const clock = new ManualClock();
      const runs: number[] = [];
      let cost = 60;
      const s = scheduler<number, null>(clock, {
        sliceMs: 4,
        pacing,
        run: (slice) => {
          // Each entry costs more than a slice: a cycle over three keys spans three slices.
          for (let e = slice.next(); e !== undefined; e = slice.next()) {
            runs.push(clock.t);
            clock.t += cost / 3;
          }
        },
      });
      for (let i = 0; i < 3; i++) s.mark(i, () => null);
      clock.advance(0);
      expect(runs).toEqual([0, 20, 40]);
      s.mark(0, () => null);
      clock.advanceTo(599);
      expect(runs).toHaveLength(3); // 60 ms of work / 0.1: the next cycle starts 600 ms after this one
      clock.advanceTo(600);
      expect(runs).toEqual([0, 20, 40, 600]);
      // Dearer work is capped at maxIntervalMs between cycle starts.
      cost = 300;
      for (let i = 0; i < 3; i++) s.mark(i, () => null);
      clock.advanceTo(850);
      expect(runs.slice(4)).toEqual([850, 950, 1050]);
      s.mark(0, () => null);
      clock.advanceTo(850 + 2_000 - 1);
      expect(runs).toHaveLength(7);
      clock.advanceTo(850 + 2_000);
      expect(runs).toEqual([0, 20, 40, 600, 850, 950, 1050, 2850]);
    });

    it('a stream of marks costlier than a slice still ends each cycle and keeps the work within maxShare', () => {
      const clock = new ManualClock();
      let busy = 0;
      const runsOf = new Map<number, number>();
      const markAll = () => {
        for (let k = 0; k < 20; k++) s.mark(k, () => null);
      };
      const s: DirtyScheduler<number, null> = scheduler<number, null>(clock, {
        sliceMs: 4,
        pacing,
        run: (slice) => {
          for (let e = slice.next(); e !== undefined; e = slice.next()) {
            runsOf.set(e[0], (runsOf.get(e[0]) ?? 0) + 1);
            clock.t += 0.25;
            busy += 0.25;
          }
          // The I/O between two slices marks every key again (a fridge per key, each reporting).
          if (clock.t < 10_000) markAll();
        },
      });
      // 20 keys marked every millisecond for 10 s: more due work than a slice holds.
      for (let t = 0; t < 10_000; t++) {
        clock.advanceTo(t);
        markAll();
      }
      clock.advance(0);
      expect(busy / clock.t).toBeLessThanOrEqual(pacing.maxShare * 1.1);
      // Each key runs about once per cycle, a few times a second, not on every slice.
      for (const n of runsOf.values()) expect(n).toBeLessThanOrEqual(10_000 / pacing.minIntervalMs + 2);
    });

    it('a flush runs everything now, due or not, and the next cycle waits the interval from it', () => {
      const clock = new ManualClock();
      const runs: Array<[number, string]> = [];
      const s = scheduler<string, null>(clock, {
        sliceMs: 4,
        debounceMs: 1_000,
        pacing,
        run: (slice) => {
          for (let e = slice.next(); e !== undefined; e = slice.next()) runs.push([clock.t, e[0]]);
        },
      });
      s.mark('a', () => null);
      clock.advance(10);
      s.flush();
      expect(runs).toEqual([[10, 'a']]);
      s.mark('b', () => null, 0);
      clock.advance(200);
      expect(runs).toHaveLength(1);
      clock.advance(50);
      expect(runs).toEqual([
        [10, 'a'],
        [260, 'b'],
      ]);
    });
  });

  it('a run that throws is reported; entries it did not take run later', () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const done: string[] = [];
    const s = scheduler<string, null>(clock, {
      sliceMs: 4,
      onError: (e) => errors.push(e),
      run: (slice) => {
        const e = slice.next();
        if (e?.[0] === 'bad') throw new Error('fold failed');
        if (e !== undefined) done.push(e[0]);
        // One entry per slice: the rest wait for the next.
      },
    });
    for (const k of ['bad', 'x', 'y']) s.mark(k, () => null);
    clock.advance(0);
    expect(errors).toEqual([new Error('fold failed')]);
    expect(done).toEqual(['x', 'y']);
  });

  it('a flush from inside a run does nothing; clear drops everything pending and its wake-up', () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const s: DirtyScheduler<string, null> = scheduler<string, null>(clock, {
      sliceMs: 4,
      debounceMs: 100,
      run: (slice) => {
        const e = slice.next();
        if (e === undefined) return;
        seen.push(e[0]);
        s.flush();
      },
    });
    s.mark('a', () => null);
    s.mark('b', () => null);
    s.flush(); // runs one per slice: the nested flush must not take 'b' from under it
    expect(seen).toEqual(['a']);
    expect(s.size).toBe(1);
    s.mark('c', () => null);
    s.clear();
    expect(s.size).toBe(0);
    expect(clock.armed).toBe(0);
    clock.advance(1_000);
    expect(seen).toEqual(['a']);
  });
});
