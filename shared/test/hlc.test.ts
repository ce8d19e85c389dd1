/** The hybrid logical clock that orders central's operator-data edits. */
import { describe, expect, it } from 'vitest';
import { Hlc, isHlcTimestamp } from '@fridgesync/shared';

describe('Hlc', () => {
  it('issues strictly increasing, string-ordered timestamps even when wall time stalls or goes back', () => {
    let now = 1000;
    const c = new Hlc('c1', () => now);
    const a = c.tick();
    const b = c.tick();
    now = 500;
    const d = c.tick();
    now = 2000;
    const e = c.tick();
    expect([a, b, d, e].every(isHlcTimestamp)).toBe(true);
    expect([a, b, d, e]).toEqual([...[a, b, d, e]].sort());
    expect(new Set([a, b, d, e]).size).toBe(4);
  });

  it('moves past timestamps received from another node and ignores malformed ones', () => {
    const c1 = new Hlc('c1', () => 1000);
    const c2 = new Hlc('c2', () => 5000);
    const far = c2.tick();
    c1.receive('garbage');
    c1.receive(far);
    expect(c1.tick() > far).toBe(true);
  });
});
