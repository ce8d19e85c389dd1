/** Typed transaction origins: what counts as one, and narrowing without casts. */
import { describe, expect, it } from 'vitest';
import { ORIGINS, isOrigin, isTxOrigin, type TxOrigin } from '../src/origins.ts';

describe('transaction origins', () => {
  it('every shared constant and a peer-tagged origin are origins', () => {
    for (const o of Object.values(ORIGINS)) expect(isTxOrigin(o)).toBe(true);
    expect(isTxOrigin({ kind: 'upstream', peer: 'gw:g1:1' })).toBe(true);
  });

  it('what Yjs may carry otherwise is not: nothing, strings, foreign objects, unknown kinds, a non-string peer', () => {
    for (const o of [undefined, null, 'api', 42, {}, { kind: 'sync' }, { kind: 'toString' }, { kind: 'upstream', peer: 7 }]) expect(isTxOrigin(o)).toBe(false);
  });

  it('isOrigin matches the kind and types the origin', () => {
    const o: unknown = { kind: 'upstream', peer: 'conn-1' };
    expect(isOrigin(o, 'api')).toBe(false);
    if (!isOrigin(o, 'upstream')) throw new Error('expected an upstream origin');
    const peer: string | undefined = o.peer;
    const typed: TxOrigin = o;
    expect([peer, typed.kind]).toEqual(['conn-1', 'upstream']);
  });
});
