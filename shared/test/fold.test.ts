/**
 * Folds over operator data and the read model: central's HLC-ordered config records, the
 * reconciler assignment, and replicas that saw the same updates in different orders folding alike.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ORIGINS,
  configRecord,
  currentReconciler,
  fridgeView,
  increment,
  keys,
  recordSnapshot,
  reserve,
  settle,
  totalsOf,
  transfer,
} from '@fridgesync/shared';
import { C1, C2, F1, GW1, GW2, M1, M2, T, configureFridge, hlc, inv, newDoc, oid, syncInto } from './support/fixtures.ts';

describe('operator data', () => {
  it('keeps the record with the greatest HLC among central replicas; a null value deletes it', () => {
    const c1 = newDoc(C1, 1);
    const c2 = newDoc(C2, 2);
    c1.transact(T, (w) => w.set(keys.config('fridge', F1), { h: hlc(100, 'c1'), v: { venueId: 'v1', reconciler: 'g1' } }));
    c2.transact(T, (w) => w.set(keys.config('fridge', F1), { h: hlc(200, 'c2'), v: { venueId: 'v1', reconciler: 'g2' } }));
    syncInto(c1, c2);
    syncInto(c2, c1);
    for (const d of [c1, c2]) expect(configRecord(d, 'fridge', F1)?.reconciler).toBe('g2');
    c1.transact(T, (w) => w.set(keys.config('fridge', F1), { h: hlc(300, 'c1'), v: null }));
    expect(configRecord(c1, 'fridge', F1)).toBeUndefined();
    expect(currentReconciler(c1, F1)).toBeUndefined();
  });

  it('ignores config entries written by a gateway', () => {
    const g = newDoc(GW1, 11);
    g.transact(T, (w) => w.set(keys.config('fridge', F1), { h: hlc(999, 'g'), v: { venueId: 'v1', reconciler: 'g1' } }));
    expect(configRecord(g, 'fridge', F1)).toBeUndefined();
  });

  it('the reconciler is the current replica of the assigned gateway, and follows reassignment', () => {
    const c1 = newDoc(C1, 1);
    configureFridge(c1, F1, 'g1', 10);
    const g1 = newDoc(GW1, 11);
    const g2 = newDoc(GW2, 21);
    g1.transact(T, (w) => increment(w, F1, M1, 1));
    g2.transact(T, (w) => increment(w, F1, M2, 1));
    syncInto(c1, g1);
    syncInto(c1, g2);
    expect(currentReconciler(c1, F1)).toBe(GW1);
    configureFridge(c1, F1, 'g2', 20);
    expect(currentReconciler(c1, F1)).toBe(GW2);
  });
});

describe('the read model', () => {
  it('replicas that saw the same updates in any order fold identically', () => {
    const c1 = newDoc(C1, 1);
    configureFridge(c1, F1, 'g1');
    const g = newDoc(GW1, 11);
    syncInto(g, c1);
    const updates: Uint8Array[] = [];
    g.ydoc.on('update', (u: Uint8Array) => updates.push(u));
    c1.ydoc.on('update', (u: Uint8Array, o: unknown) => {
      if ((o as { kind?: string })?.kind !== 'upstream') updates.push(u);
    });
    g.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 6, m2: 2 })));
    g.transact(T, (w) => {
      increment(w, F1, M1, 6);
      increment(w, F1, M2, 2);
      transfer(w, F1, M1, C1, 3);
    });
    syncInto(c1, g, ORIGINS.upstream);
    reserve(c1, ORIGINS.api, { orderId: oid('a'), fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: 9e12, now: 2000 });
    settle(c1, ORIGINS.api, oid('a'), 'cancelled', 3000);
    const base = Y.encodeStateAsUpdate(newDoc(undefined).ydoc);
    const views = new Set<string>();
    for (const order of [updates.map((_, i) => i), updates.map((_, i) => updates.length - 1 - i)]) {
      const d = newDoc(undefined, undefined, base);
      syncInto(d, c1); // config first
      for (const i of order) d.applyUpdate(updates[i]!, ORIGINS.upstream);
      for (const i of order) d.applyUpdate(updates[i]!, ORIGINS.upstream); // duplicates
      views.add(JSON.stringify(fridgeView(d, F1)));
    }
    expect(views.size).toBe(1);
    const v = fridgeView(c1, F1);
    expect(JSON.stringify(v)).toBe([...views][0]);
    // The cancelled reservation's units wait for the reconciler (drift 2), they are not in S yet.
    expect(totalsOf([v])).toEqual({ T: 8, Teff: 8, R: 0, S: 6, shortage: 0 });
    expect(v.cells.find((c) => c.meal === M1)?.drift).toBe(2);
  });
});
