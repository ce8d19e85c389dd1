import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { VenueDoc, gatewayReplicaId, FridgeIdSchema, MealIdSchema, GatewayIdSchema, increment, decrement, sellable, ORIGINS, rightsOf } from '@fridgesync/shared';

describe('smoke', () => {
  it('increments and decrements', () => {
    const r = gatewayReplicaId(GatewayIdSchema.parse('g1'), 1);
    const d = new VenueDoc({ replica: r });
    const f = FridgeIdSchema.parse('f1');
    const m = MealIdSchema.parse('m1');
    d.transact(ORIGINS.test, (w) => increment(w, f, m, 5));
    expect(sellable(d, f, m)).toBe(5);
    const res = d.transact(ORIGINS.test, (w) => decrement(w, f, m, 7));
    expect(res.ok).toBe(false);
    d.transact(ORIGINS.test, (w) => decrement(w, f, m, 2));
    expect(sellable(d, f, m)).toBe(3);
    expect(rightsOf(d, r, f, m)).toBe(3);
    for (let i = 0; i < 1000; i++) d.transact(ORIGINS.test, (w) => increment(w, f, m, 1));
    const u = Y.encodeStateAsUpdate(d.ydoc);
    const d2 = new VenueDoc();
    Y.applyUpdate(d2.ydoc, u);
    expect(sellable(d2, f, m)).toBe(1003);
    expect(u.byteLength).toBeLessThan(200);
  });
});
