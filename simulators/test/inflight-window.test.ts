import { describe, expect, it } from 'vitest';
import { InflightWindow } from '../src/inflight-window.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('InflightWindow', () => {
  it('never runs more than `size` operations at once and runs waiters in order', async () => {
    const w = new InflightWindow(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        w.run(async () => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          await tick(2);
          running--;
        }),
      ),
    );
    expect(most).toBe(3);
    expect(w.peak).toBe(3);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect([w.inFlight, w.waiting]).toEqual([0, 0]);
  });

  it('frees the slot when an operation throws', async () => {
    const w = new InflightWindow(1);
    await expect(w.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(w.run(async () => 'next')).resolves.toBe('next');
    expect(w.inFlight).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const w = new InflightWindow(2);
    const release = await w.acquire();
    release();
    release();
    expect(w.inFlight).toBe(0);
    await w.acquire();
    await w.acquire();
    expect(w.inFlight).toBe(2);
  });

  it('refuses a window smaller than one', () => {
    expect(() => new InflightWindow(0)).toThrow(RangeError);
  });
});
