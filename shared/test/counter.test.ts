/**
 * The bounded counter: increments create rights where they happen; decrements and transfers stay
 * within the writer's rights and are refused (nothing written) beyond them.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ORIGINS, decrement, increment, rightsHeld, rightsOf, sellable, transfer, localRights, type VenueDoc } from '@fridgesync/shared';
import { C1, C2, F1, GW1, M1, M2, T, newDoc, syncAll, syncInto } from './support/fixtures.ts';

const written = (d: VenueDoc) => Y.encodeStateVector(d.ydoc).join(',');

describe('bounded counter', () => {
  it('S = Σ inc − Σ dec over replicas; rights = inc + xfer in − xfer out − dec', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 10));
    g.transact(T, (w) => transfer(w, F1, M1, C1, 4));
    g.transact(T, (w) => decrement(w, F1, M1, 3));
    const c = newDoc(C1, 1);
    syncInto(c, g);
    expect(c.transact(T, (w) => decrement(w, F1, M1, 1))).toEqual({ ok: true });
    syncAll(g, c);
    for (const d of [g, c]) {
      expect(sellable(d, F1, M1)).toBe(6);
      expect(rightsOf(d, GW1, F1, M1)).toBe(3);
      expect(rightsOf(d, C1, F1, M1)).toBe(3);
      expect(sellable(d, F1, M2)).toBe(0);
    }
  });

  it("lists every non-zero right a replica holds, those received by transfer included", () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 5));
    g.transact(T, (w) => increment(w, F1, M2, 2));
    g.transact(T, (w) => transfer(w, F1, M1, C1, 4));
    g.transact(T, (w) => decrement(w, F1, M2, 2));
    expect(rightsHeld(g, GW1)).toEqual({ [F1]: { [M1]: 1 } });
    // C1 has no counter entries of its own: its right comes from the transfer alone.
    expect(rightsHeld(g, C1)).toEqual({ [F1]: { [M1]: 4 } });
    expect(rightsHeld(g, C2)).toEqual({});
  });

  it('refuses a decrement beyond rights with INSUFFICIENT_RIGHTS and writes nothing', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 2));
    const before = written(g);
    expect(g.transact(T, (w) => decrement(w, F1, M1, 3))).toEqual({ ok: false, code: 'INSUFFICIENT_RIGHTS', fridge: F1, meal: M1, requested: 3, available: 2 });
    expect(written(g)).toBe(before);
    expect(sellable(g, F1, M1)).toBe(2);
  });

  it('a replica without rights cannot decrement even when S > 0 elsewhere', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 5));
    const c = newDoc(C1, 1);
    syncInto(c, g);
    expect(sellable(c, F1, M1)).toBe(5);
    expect(c.transact(T, (w) => decrement(w, F1, M1, 1))).toMatchObject({ ok: false, code: 'INSUFFICIENT_RIGHTS', available: 0 });
  });

  it('refuses a transfer beyond rights, to itself, and invalid amounts', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 2));
    const before = written(g);
    expect(g.transact(T, (w) => transfer(w, F1, M1, C1, 3))).toMatchObject({ ok: false, code: 'INSUFFICIENT_RIGHTS', requested: 3, available: 2 });
    expect(g.transact(T, (w) => transfer(w, F1, M1, GW1, 1))).toEqual({ ok: false, code: 'SELF_TRANSFER' });
    for (const n of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
      expect(g.transact(T, (w) => increment(w, F1, M1, n))).toEqual({ ok: false, code: 'INVALID_AMOUNT', amount: n });
      expect(g.transact(T, (w) => decrement(w, F1, M1, n))).toMatchObject({ ok: false, code: 'INVALID_AMOUNT' });
      if (n !== 0) expect(g.transact(T, (w) => transfer(w, F1, M1, C1, n))).toMatchObject({ ok: false, code: 'INVALID_AMOUNT' });
    }
    expect(written(g)).toBe(before);
  });

  it('counts writes earlier in the same transaction against the rights', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 3));
    const r = g.transact(T, (w) => [transfer(w, F1, M1, C1, 2), transfer(w, F1, M1, C2, 2), localRights(w, F1, M1)] as const);
    expect(r[0]).toEqual({ ok: true });
    expect(r[1]).toMatchObject({ ok: false, code: 'INSUFFICIENT_RIGHTS', available: 1 });
    expect(r[2]).toBe(1);
  });

  it('concurrent decrements within each side’s rights never drive S below 0 after merging', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => increment(w, F1, M1, 4));
    g.transact(T, (w) => transfer(w, F1, M1, C1, 2));
    const c = newDoc(C1, 1);
    syncInto(c, g);
    // Partitioned: each spends everything it holds, and tries one more.
    g.transact(T, (w) => decrement(w, F1, M1, 2));
    c.transact(T, (w) => decrement(w, F1, M1, 2));
    expect(g.transact(T, (w) => decrement(w, F1, M1, 1)).ok).toBe(false);
    expect(c.transact(T, (w) => decrement(w, F1, M1, 1)).ok).toBe(false);
    syncAll(g, c);
    expect(sellable(g, F1, M1)).toBe(0);
    expect(sellable(c, F1, M1)).toBe(0);
  });

  it('keeps the encoded document bounded by live state under many overwrites', () => {
    const g = newDoc(GW1, 11);
    for (let i = 0; i < 2000; i++) g.transact(T, (w) => increment(w, F1, M1, 1));
    expect(Y.encodeStateAsUpdate(g.ydoc).byteLength).toBeLessThan(120);
  });
});

describe('the entry writer', () => {
  it('a transaction nested in an open one shares its writer: one item per key, the outer origin', () => {
    const g = newDoc(GW1, 11);
    const origins: unknown[] = [];
    g.ydoc.on('afterTransaction', (tr: Y.Transaction) => origins.push(tr.origin));
    g.transact(T, (w) => {
      increment(w, F1, M1, 2);
      g.transact(ORIGINS.reconciler, (inner) => {
        expect(inner).toBe(w);
        increment(inner, F1, M1, 3);
        expect(localRights(inner, F1, M1)).toBe(5);
      });
    });
    expect(origins).toEqual([T]);
    expect(rightsOf(g, GW1, F1, M1)).toBe(5);
    // The keyed log holds one live item for the counter: the nested set deleted the outer one.
    expect(g.ydoc.getArray(`r:${GW1}`).toArray().filter((e) => (e as [string])[0] === `c/${F1}/${M1}`)).toHaveLength(1);
  });

  it('counts transfers made earlier in the same transaction, per cell', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => {
      increment(w, F1, M1, 10);
      increment(w, F1, M2, 10);
      transfer(w, F1, M1, C1, 4);
      transfer(w, F1, M2, C2, 1);
      transfer(w, F1, M1, C2, 2);
      expect([...w.pendingUnder(`x/${F1}/${M1}/`)].sort()).toEqual([`x/${F1}/${M1}/${C1}`, `x/${F1}/${M1}/${C2}`]);
      expect(localRights(w, F1, M1)).toBe(4);
      expect(localRights(w, F1, M2)).toBe(9);
    });
    expect(rightsOf(g, GW1, F1, M1)).toBe(4);
  });
});
