import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ORIGINS,
  VenueDoc,
  centralReplicaId,
  foldOrder,
  gatewayReplicaId,
  increment,
  keys,
  observedSnapshot,
  reserve,
  type FridgeId,
  type GatewayId,
  type InstanceId,
  type MealId,
  type OrderId,
} from '@fridgesync/shared';
import { applySalvage, collectSalvage } from '../src/store-recovery.ts';

const F1 = 'f1' as FridgeId;
const M1 = 'm1' as MealId;
const OLD = gatewayReplicaId('gw1' as GatewayId, 1);
const NEW = gatewayReplicaId('gw1' as GatewayId, 2);

/** Central's document and a gateway's store of epoch 1 that took it and then wrote on its own. */
function setup() {
  const central = new VenueDoc({ replica: centralReplicaId('c1' as InstanceId) });
  const old = new VenueDoc({ replica: OLD });
  old.transact(ORIGINS.test, (w) => {
    w.set(keys.snapshot(F1), { b: 1, e: 0, q: 1, ts: 1, i: { m1: 5 } });
    increment(w, F1, M1, 5);
  });
  central.applyUpdate(Y.encodeStateAsUpdate(old.ydoc), ORIGINS.upstream);
  const atCentral = Y.decodeStateVector(Y.encodeStateVector(central.ydoc));
  return { central, old, atCentral };
}

/** A new epoch's document holding central's state. */
function rebuilt(central: VenueDoc): VenueDoc {
  const doc = new VenueDoc({ replica: NEW });
  doc.applyUpdate(Y.encodeStateAsUpdate(central.ydoc), ORIGINS.upstream);
  return doc;
}

describe('what a rebuilt store keeps', () => {
  it('keeps only facts and orders central lacks, and writes them again under the new epoch', () => {
    const { central, old, atCentral } = setup();
    old.transact(ORIGINS.test, (w) => w.set(keys.snapshot(F1), { b: 1, e: 0, q: 2, ts: 2, i: { m1: 4 } }));
    expect(reserve(old, ORIGINS.kiosk, { orderId: 'o1' as OrderId, fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: 10_000, now: 1 }).ok).toBe(true);
    const kept = collectSalvage(old, OLD, atCentral);
    // The counter moved too, but rights are the reconciler's to recompute: not kept.
    expect(kept.map(([k]) => k).sort()).toEqual(['o/o1', 's/f1']);

    const doc = rebuilt(central);
    doc.transact(ORIGINS.test, (w) => increment(w, F1, M1, 4)); // the new epoch holds rights
    const r = applySalvage(doc, ORIGINS.lifecycle, kept, 5);
    expect(r).toEqual({ reapplied: 2, problems: [] });
    expect(observedSnapshot(doc, F1)?.q).toBe(2);
    expect(foldOrder(doc, 'o1' as OrderId)).toMatchObject({ state: 'reserved', lines: [['m1', 1]] });
    expect(doc.get(NEW, 'o/o1')).toMatchObject({ s: 0 });
  });

  it('an order the new epoch holds no rights for is recorded without them and reported unbacked', () => {
    const { central, old, atCentral } = setup();
    expect(reserve(old, ORIGINS.kiosk, { orderId: 'o1' as OrderId, fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: 10_000, now: 1 }).ok).toBe(true);
    const doc = rebuilt(central);
    const r = applySalvage(doc, ORIGINS.lifecycle, collectSalvage(old, OLD, atCentral), 5);
    expect(r.problems).toEqual([{ key: 'o/o1', problem: 'unbacked', detail: expect.stringMatching(/m1: 2 wanted, 0 held/) }]);
    expect(foldOrder(doc, 'o1' as OrderId)).toMatchObject({ state: 'reserved', lines: [['m1', 2]] });
  });

  it('an order id central holds with other contents is a conflict and is not written', () => {
    const { central, old, atCentral } = setup();
    expect(reserve(old, ORIGINS.kiosk, { orderId: 'o1' as OrderId, fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: 10_000, now: 1 }).ok).toBe(true);
    // Central took an order with the same id and other contents meanwhile.
    central.transact(ORIGINS.test, (w) => w.set(keys.order('o1' as OrderId), { f: F1, s: 0, t: 2, l: [['m2', 3]], h: 10_000, c: 2 }));
    const doc = rebuilt(central);
    const r = applySalvage(doc, ORIGINS.lifecycle, collectSalvage(old, OLD, atCentral), 5);
    expect(r.problems).toEqual([{ key: 'o/o1', problem: 'conflict', detail: 'central holds order o1 with other contents' }]);
    expect(doc.get(NEW, 'o/o1')).toBeUndefined();
  });

  it('a settlement central lacks is carried over; an order cancelled before central saw it needs nothing', () => {
    const { central, old } = setup();
    // o1 reached central as reserved, then was picked up offline; o2 never reached central and was cancelled.
    expect(reserve(old, ORIGINS.kiosk, { orderId: 'o1' as OrderId, fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: 10_000, now: 1 }).ok).toBe(true);
    central.applyUpdate(Y.encodeStateAsUpdate(old.ydoc, Y.encodeStateVector(central.ydoc)), ORIGINS.upstream);
    const atCentral2 = Y.decodeStateVector(Y.encodeStateVector(central.ydoc));
    old.transact(ORIGINS.test, (w) => w.set(keys.order('o1' as OrderId), { ...(w.get(keys.order('o1' as OrderId)) as object), s: 3, t: 3 }));
    expect(reserve(old, ORIGINS.kiosk, { orderId: 'o2' as OrderId, fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: 10_000, now: 1 }).ok).toBe(true);
    old.transact(ORIGINS.test, (w) => w.set(keys.order('o2' as OrderId), { ...(w.get(keys.order('o2' as OrderId)) as object), s: 1, t: 4 }));
    const doc = rebuilt(central);
    const r = applySalvage(doc, ORIGINS.lifecycle, collectSalvage(old, OLD, atCentral2), 5);
    expect(r.problems).toEqual([]);
    expect(foldOrder(doc, 'o1' as OrderId)?.state).toBe('picked_up');
    expect(foldOrder(doc, 'o2' as OrderId)).toBeUndefined();
  });
});
