/** GroupCommit: batching, in-order reporting and failure with several synced writes in flight. */
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/group-commit.ts';

/** A store whose writes finish when the test says so. */
function manualStore() {
  const writes: Array<{ items: number[]; finish: (error?: Error) => void }> = [];
  const flush = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ items, finish: (error) => (error ? reject(error) : resolve()) });
    });
  return { writes, flush };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('writes the first append at once and batches what arrives while it is written', async () => {
    const s = manualStore();
    const gc = new GroupCommit<number>(s.flush, 100);
    const done: number[] = [];
    const add = (n: number) => gc.add(n).then(() => done.push(n));
    void add(1);
    await tick();
    expect(s.writes.map((w) => w.items)).toEqual([[1]]);
    void add(2);
    void add(3);
    await tick();
    expect(s.writes).toHaveLength(1); // depth 1: waits for the write in progress
    expect(gc.pending).toBe(3);
    s.writes[0]!.finish();
    await tick();
    expect(done).toEqual([1]);
    expect(s.writes.map((w) => w.items)).toEqual([[1], [2, 3]]);
    s.writes[1]!.finish();
    await gc.idle();
    expect(done).toEqual([1, 2, 3]);
    expect(gc.pending).toBe(0);
  });

  it('with depth 2 hands the next batch over during a write and still reports batches in order', async () => {
    const s = manualStore();
    const gc = new GroupCommit<number>(s.flush, 100, { depth: 2 });
    const done: number[] = [];
    const add = (n: number) => gc.add(n).then(() => done.push(n));
    void add(1);
    await tick();
    void add(2);
    await tick();
    void add(3);
    void add(4);
    await tick();
    expect(s.writes.map((w) => w.items)).toEqual([[1], [2]]); // two in flight, 3 and 4 wait
    s.writes[1]!.finish(); // the later write ends first: nothing may be reported yet
    await tick();
    expect(done).toEqual([]);
    s.writes[0]!.finish();
    await tick();
    expect(done).toEqual([1, 2]);
    expect(s.writes.map((w) => w.items)).toEqual([[1], [2], [3, 4]]);
    s.writes[2]!.finish();
    await gc.idle();
    expect(done).toEqual([1, 2, 3, 4]);
  });

  it('fails a failed batch, every batch after it (even one whose own write succeeded) and every later append', async () => {
    const s = manualStore();
    const abandoned: number[][] = [];
    const gc = new GroupCommit<number>(s.flush, 100, { depth: 2, abandon: async (items) => void abandoned.push(items) });
    const outcome = new Map<number, string>();
    const add = (n: number) => gc.add(n).then(
      () => outcome.set(n, 'ok'),
      (e: Error) => outcome.set(n, e.message),
    );
    void add(1);
    await tick();
    void add(2);
    await tick();
    void add(3);
    await tick();
    s.writes[1]!.finish(); // batch 2 is on disk...
    s.writes[0]!.finish(new Error('disk full')); // ...but batch 1 failed before it
    await gc.idle();
    expect([...outcome].sort()).toEqual([
      [1, 'disk full'],
      [2, 'disk full'],
      [3, 'disk full'],
    ]);
    await expect(gc.add(4)).rejects.toThrow('disk full');
    expect(gc.failed).toBeInstanceOf(Error);
    expect(s.writes).toHaveLength(2);
    expect(abandoned).toEqual([[2]]); // written, never acknowledged: handed back to the store
  });

  it('writes a batch holding an exclusive item alone', async () => {
    const s = manualStore();
    const gc = new GroupCommit<number>(s.flush, 100, { depth: 2, exclusive: (n) => n >= 100 });
    const all = [gc.add(1)];
    await tick();
    all.push(gc.add(100));
    await tick();
    expect(s.writes.map((w) => w.items)).toEqual([[1]]); // waits for the batch in progress
    all.push(gc.add(2));
    s.writes[0]!.finish();
    await tick();
    expect(s.writes.map((w) => w.items)).toEqual([[1], [100, 2]]);
    all.push(gc.add(3));
    await tick();
    expect(s.writes).toHaveLength(2); // nothing overlaps it
    s.writes[1]!.finish();
    await tick();
    expect(s.writes.map((w) => w.items)).toEqual([[1], [100, 2], [3]]);
    s.writes[2]!.finish();
    await Promise.all(all);
  });

  it('splits a long queue into batches of at most maxBatch', async () => {
    const s = manualStore();
    const gc = new GroupCommit<number>(s.flush, 2);
    const all = [1, 2, 3, 4, 5].map((n) => gc.add(n));
    for (let i = 0; i < 3; i++) {
      await tick();
      s.writes[i]!.finish();
    }
    await Promise.all(all);
    expect(s.writes.map((w) => w.items)).toEqual([[1, 2], [3, 4], [5]]);
  });
});
