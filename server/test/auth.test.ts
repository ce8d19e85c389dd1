import { describe, expect, it } from 'vitest';
import { Authenticator, hashToken } from '../src/auth.ts';

describe('Authenticator', () => {
  const auth = new Authenticator([
    { role: 'gateway', name: 'g', hash: hashToken('gw-secret'), venueId: 'v1' as never, gatewayId: 'g1' as never },
    { role: 'viewer', name: 'v', hash: hashToken('view-secret') },
  ]);
  it('resolves tokens by hash, binding gateways to their venue and gateway', () => {
    expect(auth.resolve('gw-secret')).toMatchObject({ role: 'gateway', venueId: 'v1', gatewayId: 'g1', tokenKey: hashToken('gw-secret') });
    expect(auth.resolve('view-secret')).toMatchObject({ role: 'viewer' });
    expect(auth.resolve('view-secreT')).toBeUndefined();
    expect(auth.resolve('')).toBeUndefined();
    expect(auth.resolve(undefined)).toBeUndefined();
    expect(auth.resolve('x'.repeat(10_000))).toBeUndefined();
  });
  it('stores only hashes', () => {
    expect(hashToken('abc')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(auth)).not.toContain('gw-secret');
  });
});
