import { describe, expect, it } from 'vitest';
import { AuthThrottle, MAX_TRACKED, addressKey } from '../src/auth-throttle.ts';
import { PendingConnections } from '../src/pending-connections.ts';

function throttle(over: Partial<ConstructorParameters<typeof AuthThrottle>[0]> = {}) {
  let now = 0;
  const t = new AuthThrottle({ windowMs: 1_000, maxFailuresPerAddress: 3, maxFailuresPerFridge: 5, now: () => now, ...over });
  return { t, advance: (ms: number) => (now += ms) };
}

describe('AuthThrottle', () => {
  it('blocks an address at its limit until the window ends', () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 2; i++) t.failed('10.0.0.1', 'f1');
    expect(t.blocked('10.0.0.1')).toBe(false);
    expect(t.admit('f1', '10.0.0.1')).toBeUndefined();
    t.failed('10.0.0.1', 'f1');
    expect(t.blocked('10.0.0.1')).toBe(true);
    expect(t.admit('f2', '10.0.0.1')).toBe('throttled-address');
    expect(t.blocked('10.0.0.2')).toBe(false);
    advance(999);
    expect(t.blocked('10.0.0.1')).toBe(true);
    advance(1);
    expect(t.blocked('10.0.0.1')).toBe(false);
  });

  it('verifies a guessed-at fridge id only for addresses without failures', () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.failed(`10.0.1.${i}`, 'f1');
    expect(t.admit('f1', '10.0.1.0')).toBe('throttled-fridge');
    expect(t.admit('f1', '10.0.9.9')).toBeUndefined();
    expect(t.admit('f2', '10.0.1.0')).toBeUndefined();
  });

  it('counts IPv4-mapped addresses as IPv4 and IPv6 by the whole address unless a prefix is configured', () => {
    expect(addressKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2:3:4:5:6/128');
    expect(addressKey('2001:0DB8::1')).toBe('2001:db8:0:0:0:0:0:1/128');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1/128');
    expect(addressKey('2001:db8:1:2::9', 64)).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(addressKey('2001:db8:1:2ff::9', 56)).toBe('2001:db8:1:200:0:0:0:0/56');
    // One host on the venue /64 (or link-local fe80::/64) failing does not block its neighbours.
    const { t } = throttle();
    for (let i = 0; i < 3; i++) t.failed('2001:db8:1:2::1', undefined);
    for (let i = 0; i < 3; i++) t.failed('fe80::1', undefined);
    expect(t.blocked('2001:db8:1:2::1')).toBe(true);
    expect(t.blocked('2001:db8:1:2::2')).toBe(false);
    expect(t.blocked('fe80::2')).toBe(false);
    // With a configured /64 the whole prefix counts together.
    const p = throttle({ ipv6PrefixLength: 64 }).t;
    for (let i = 0; i < 3; i++) p.failed(`2001:db8:1:2::${i + 1}`, undefined);
    expect(p.blocked('2001:db8:1:2:ffff::1')).toBe(true);
    expect(p.blocked('2001:db8:1:3::1')).toBe(false);
  });

  it('bounds pending connections per whole IPv6 address by default', () => {
    const refused: string[] = [];
    const pending = new PendingConnections({ maxPending: 100, maxPerAddress: 2, onRefused: (r) => refused.push(r) });
    const conn = () => ({ destroy: () => {} });
    expect(pending.admit(conn(), 'fe80::1')).toBe(true);
    expect(pending.admit(conn(), 'fe80::1')).toBe(true);
    expect(pending.admit(conn(), 'fe80::1')).toBe(false);
    expect(pending.admit(conn(), 'fe80::2')).toBe(true);
    expect(refused).toEqual(['pending-per-address']);
  });

  it('tracks at most MAX_TRACKED addresses, dropping the oldest', () => {
    const { t } = throttle({ maxFailuresPerAddress: 1 });
    t.failed('first', undefined);
    for (let i = 0; i < MAX_TRACKED; i++) t.failed(`a${i}`, undefined);
    expect(t.trackedAddresses).toBe(MAX_TRACKED);
    expect(t.blocked('first')).toBe(false);
    expect(t.blocked(`a${MAX_TRACKED - 1}`)).toBe(true);
  });
});
