import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from '../src/reconnect-backoff.ts';

describe('ReconnectBackoff', () => {
  it('doubles the cap per attempt up to the maximum, never below half the minimum', () => {
    const top = new ReconnectBackoff({ minMs: 40, maxMs: 160, random: () => 1 });
    expect([top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([40, 80, 160, 160, 160]);
    expect(top.attempt).toBe(5);
    const bottom = new ReconnectBackoff({ minMs: 40, maxMs: 160, random: () => 0 });
    expect([bottom.next(), bottom.next(), bottom.next()]).toEqual([20, 20, 20]);
  });

  it('draws uniformly below the cap (full jitter)', () => {
    const b = new ReconnectBackoff({ minMs: 100, maxMs: 10_000, random: () => 0.5 });
    for (let i = 0; i < 3; i++) b.next();
    expect(b.next()).toBe(400); // cap 800 at the fourth attempt
  });

  it('starts over after a reset and stays finite after very many attempts', () => {
    const b = new ReconnectBackoff({ minMs: 10, maxMs: 1_000, random: () => 1 });
    for (let i = 0; i < 2_000; i++) expect(b.next()).toBeLessThanOrEqual(1_000);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(10);
  });

  it('refuses bounds that cannot work', () => {
    expect(() => new ReconnectBackoff({ minMs: 0, maxMs: 10 })).toThrow(/0 < minMs ≤ maxMs/);
    expect(() => new ReconnectBackoff({ minMs: 50, maxMs: 10 })).toThrow(/0 < minMs ≤ maxMs/);
  });
});
