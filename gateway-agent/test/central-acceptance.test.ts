import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionAcceptance, RefusalSettling } from '../src/central-acceptance.ts';

describe('ConnectionAcceptance', () => {
  it('accepts a connection once the hello naming the replica is welcomed and the own diff acknowledged, in either order', () => {
    const a = new ConnectionAcceptance();
    a.helloSent('gw:g1:1');
    a.ownDiffSent(new Map([[7, 4]]));
    expect(a.durableAck(new Map([[7, 3]]))).toBe(false); // does not cover the diff
    expect(a.durableAck(new Map([[7, 4]]))).toBe(false); // not welcomed yet
    expect(a.welcomed()).toBe(true);

    const b = new ConnectionAcceptance();
    b.helloSent('gw:g1:1');
    expect(b.welcomed()).toBe(false); // the welcome alone is not acceptance
    b.ownDiffSent(new Map([[7, 4]]));
    expect(b.durableAck(new Map([[7, 4], [9, 1]]))).toBe(true);
  });

  it('never accepts a joining connection, and waits for the welcome of its upgrade', () => {
    const a = new ConnectionAcceptance();
    a.helloSent(undefined);
    a.ownDiffSent(new Map());
    expect(a.durableAck(new Map())).toBe(false);
    expect(a.welcomed()).toBe(false);
    a.helloSent('gw:g1:2');
    expect(a.replica).toBe('gw:g1:2');
    expect(a.durableAck(new Map())).toBe(false); // the upgrade hello is not welcomed yet
    expect(a.welcomed()).toBe(true);
  });
});

describe('RefusalSettling', () => {
  afterEach(() => vi.useRealTimers());

  it('settles at once without a refusal, after the hold with one, and not at all when cancelled', () => {
    vi.useFakeTimers();
    let refused = false;
    let settled = 0;
    const s = new RefusalSettling(1_000, () => refused, () => {
      settled++;
      refused = false;
    });
    s.accepted();
    expect(settled).toBe(1);
    refused = true;
    s.accepted();
    s.accepted(); // one wait per session
    vi.advanceTimersByTime(999);
    expect(settled).toBe(1);
    vi.advanceTimersByTime(1);
    expect(settled).toBe(2);
    refused = true;
    s.accepted();
    s.cancel(); // the session closed or was refused again
    vi.advanceTimersByTime(5_000);
    expect(settled).toBe(2);
  });
});
