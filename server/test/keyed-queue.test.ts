import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../src/keyed-queue.ts';

describe('KeyedQueue', () => {
  it('runs tasks of one key in order, one at a time, and survives failures', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    let running = 0;
    const task = (name: string, ms: number, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, ms));
      log.push(name);
      running--;
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([q.run('a', task('1', 20)), q.run('a', task('2', 1, true)), q.run('a', task('3', 5))]);
    expect(log).toEqual(['1', '2', '3']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('runs different keys concurrently', async () => {
    const q = new KeyedQueue();
    const order: string[] = [];
    await Promise.all([q.run('a', async () => (await new Promise((r) => setTimeout(r, 30)), order.push('a'))), q.run('b', async () => order.push('b'))]);
    expect(order).toEqual(['b', 'a']);
  });
});
