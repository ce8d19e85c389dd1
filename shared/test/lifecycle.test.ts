/**
 * Replica lifecycle: epochs, the first-full-sync guard, retirement by itself, its successor or
 * central, and the fold rule sending a retired replica's rights to the reconciler — only once all
 * of the retired replica's writes are present.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ReplicaLifecycle,
  currentReconciler,
  fridgeCells,
  hasRetirement,
  increment,
  isRetired,
  mayRetire,
  nextEpoch,
  allocateEpoch,
  epochAllocated,
  retire,
  retiredPool,
  rightsFold,
  rightsOf,
  sellable,
  transfer,
  writeMeta,
} from '@fridgesync/shared';
import { C1, C2, F1, G1, G2, GW1, GW1B, GW2, M1, T, configureFridge, newDoc, syncAll, syncInto } from './support/fixtures.ts';

function venue() {
  const c1 = newDoc(C1, 1);
  configureFridge(c1, F1, 'g1');
  const g1 = newDoc(GW1, 11);
  syncInto(g1, c1);
  g1.transact(T, (w) => {
    increment(w, F1, M1, 10);
    transfer(w, F1, M1, C1, 3);
  });
  syncAll(c1, g1);
  return { c1, g1 };
}

describe('epochs', () => {
  it('nextEpoch is one above every epoch the document mentions (writer, retirement, transfer target)', () => {
    const { c1 } = venue();
    expect(nextEpoch(c1, G1)).toBe(2);
    expect(nextEpoch(c1, G2)).toBe(1);
    c1.transact(T, (w) => transfer(w, F1, M1, 'gw:g2:4' as typeof GW2, 1));
    expect(nextEpoch(c1, G2)).toBe(5);
    c1.transact(T, (w) => retire(w, 'gw:g1:7' as typeof GW1, 1));
    expect(nextEpoch(c1, G1)).toBe(8);
  });

  it('an epoch central allocated counts for nextEpoch, and only a central replica allocates', () => {
    const { c1, g1 } = venue();
    expect(epochAllocated(c1, G2, 3)).toBe(false);
    c1.transact(T, (w) => allocateEpoch(w, G2, 3, 1));
    expect(epochAllocated(c1, G2, 3)).toBe(true);
    expect(epochAllocated(c1, G2, 2)).toBe(false);
    expect(nextEpoch(c1, G2)).toBe(4);
    // The same entry written by a gateway (the validator refuses it; a fold would ignore it).
    g1.transact(T, (w) => allocateEpoch(w, G2, 9, 1));
    expect(epochAllocated(g1, G2, 9)).toBe(false);
  });

  it('a fresh replica may not write before its first full sync; a retired one never again', () => {
    const l = new ReplicaLifecycle(GW1B, true);
    expect([l.state, l.writable]).toEqual(['awaiting-first-sync', false]);
    l.synced();
    expect([l.state, l.writable]).toEqual(['active', true]);
    l.retired();
    l.synced();
    expect([l.state, l.writable]).toEqual(['retired', false]);
    expect(new ReplicaLifecycle(GW1, false).writable).toBe(true);
  });

  it('who may retire whom', () => {
    expect(mayRetire(GW1, GW1)).toBe(true);
    expect(mayRetire(GW1B, GW1)).toBe(true);
    expect(mayRetire(GW1, GW1B)).toBe(false);
    expect(mayRetire(GW2, GW1)).toBe(false);
    expect(mayRetire(C2, GW1)).toBe(true);
  });
});

describe('retirement folds rights to the reconciler', () => {
  it('the successor becomes reconciler and inherits the retired rights; the sum of rights stays S', () => {
    const { c1 } = venue();
    const g1b = newDoc(GW1B, 12);
    syncInto(g1b, c1);
    g1b.transact(T, (w) => {
      retire(w, GW1, 5);
      writeMeta(w, 'x', 5);
    });
    syncAll(c1, g1b);
    for (const d of [c1, g1b]) {
      expect(isRetired(d, GW1)).toBe(true);
      expect(currentReconciler(d, F1)).toBe(GW1B);
      expect(rightsOf(d, GW1, F1, M1)).toBe(0);
      expect(rightsOf(d, GW1B, F1, M1)).toBe(7);
      expect(rightsFold(d, F1, M1)).toEqual({ rights: new Map([[C1, 3], [GW1B, 7]]), unassigned: 0 });
      expect(sellable(d, F1, M1)).toBe(10);
      expect(retiredPool(d, F1, M1)).toBe(7);
      // The reconciler's cells (no per-replica rights) agree with the full ones on every total.
      expect(fridgeCells(d, F1, undefined, false)).toEqual(fridgeCells(d, F1).map((c) => ({ ...c, rights: {}, unassigned: 0 })));
    }
  });

  it('does not fold until every write of the retired replica up to its retirement is present', () => {
    const { c1, g1 } = venue();
    const early = Y.encodeStateAsUpdate(g1.ydoc);
    const fromG1: Uint8Array[] = [];
    g1.ydoc.on('update', (u: Uint8Array) => fromG1.push(u));
    g1.transact(T, (w) => transfer(w, F1, M1, C2, 2)); // a late grant
    c1.applyUpdate(fromG1[0]!, { kind: 'test' });
    const fromC1: Uint8Array[] = [];
    c1.ydoc.on('update', (u: Uint8Array) => fromC1.push(u));
    c1.transact(T, (w) => retire(w, GW1, 9)); // central's registry declares g1:1 dead
    // A reader that has the retirement but not yet the late grant.
    const reader = newDoc(undefined, undefined, early);
    reader.applyUpdate(fromC1[0]!, { kind: 'test' });
    expect(hasRetirement(reader, GW1)).toBe(true);
    expect(isRetired(reader, GW1)).toBe(false);
    expect(retiredPool(reader, F1, M1)).toBe(0);
    expect(rightsOf(reader, GW1, F1, M1)).toBe(7);
    expect(rightsFold(reader, F1, M1).unassigned).toBe(0);
    reader.applyUpdate(fromG1[0]!, { kind: 'test' });
    expect(isRetired(reader, GW1)).toBe(true);
    expect(retiredPool(reader, F1, M1)).toBe(5); // recomputed: the late grant changed the document
    expect(rightsOf(reader, GW1, F1, M1)).toBe(0);
    // No successor yet: what g1:1 held waits, unassigned, for the gateway's next epoch.
    const f = rightsFold(reader, F1, M1);
    expect(f).toEqual({ rights: new Map([[C1, 3], [C2, 2]]), unassigned: 5 });
    expect(3 + 2 + f.unassigned).toBe(sellable(reader, F1, M1));
    expect(currentReconciler(reader, F1)).toBeUndefined();
  });

  it('a replica retiring itself on graceful shutdown hands its rights to its successor', () => {
    const { c1, g1 } = venue();
    g1.transact(T, (w) => retire(w, GW1, 5));
    syncAll(c1, g1);
    expect(isRetired(c1, GW1)).toBe(true);
    const g1b = newDoc(GW1B, 12);
    syncInto(g1b, c1);
    g1b.transact(T, (w) => writeMeta(w, 'x', 6));
    expect(rightsOf(g1b, GW1B, F1, M1)).toBe(7);
  });
});
