/**
 * Central as a replica: seeded operator data, the taker declaration, answering recalls, and the
 * round trip SOLD_OUT → rights request → the reconciler grants → the order succeeds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  DEFAULT_RIGHTS_POLICY,
  ORIGINS,
  activeTakers,
  centralReplicaId,
  configRecord,
  keys,
  reconcileFridge,
  rightsOf,
  type FridgeId,
  type InstanceId,
  type MealId,
  type VenueId,
  type VenueDoc,
} from '@fridgesync/shared';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from './helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

let t: TestCentral;
beforeEach(async () => {
  t = await startCentral();
});
afterEach(async () => t.close());

const central = centralReplicaId('c1' as InstanceId);
const f1 = 'f1' as FridgeId;
const m1 = 'm1' as MealId;
const host = () => t.central.registry.peek('v1' as VenueId)!;

/** Applies the gateway replica's new writes to central, as sync would. */
function push(gw: VenueDoc, fn: () => void): void {
  gw.applyUpdate(Y.encodeStateAsUpdate(host().doc.ydoc), ORIGINS.upstream);
  const before = Y.encodeStateVector(gw.ydoc);
  fn();
  host().doc.applyUpdate(Y.encodeStateAsUpdate(gw.ydoc, before), { kind: 'upstream', peer: 'test-gateway' });
}

describe('central replica', () => {
  it('seeds operator data and declares itself an order taker', () => {
    const doc = host().doc;
    expect(configRecord(doc, 'venue', 'v1')).toEqual({ name: 'Berlin HQ', city: 'Berlin', timezone: 'Europe/Berlin' });
    expect(configRecord(doc, 'fridge', 'f1')).toMatchObject({ venueId: 'v1', reconciler: 'g1', par: { m1: 8, m2: 5 } });
    expect(configRecord(doc, 'meal', 'm2')).toMatchObject({ name: 'Chicken wrap', priceCents: 750 });
    expect(configRecord(doc, 'gateway', 'g2')).toEqual({ venueId: 'v1' });
    expect(activeTakers(doc)).toEqual([central]);
    // Meals go to every venue; fridges only to their own.
    expect(configRecord(t.central.registry.peek('v2' as VenueId)!.doc, 'meal', 'm1')).toBeDefined();
    expect(configRecord(t.central.registry.peek('v2' as VenueId)!.doc, 'fridge', 'f1')).toBeUndefined();
  });

  it('answers a recall from the reconciler with the rights it still holds', async () => {
    const gw = stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    expect(rightsOf(host().doc, central, f1, m1)).toBe(8);
    push(gw, () => gw.transact(ORIGINS.reconciler, (w) => w.set(keys.recall(f1, m1, central), [1, 5])));
    await waitFor(() => rightsOf(host().doc, central, f1, m1) === 3, 3000, 'recall answered');
    expect(host().doc.index.xfers.get('f1')?.get('m1')?.get(central)?.get('gw:g1:1')).toEqual([5, 1]);
  });

  it('SOLD_OUT writes a rights request; once the reconciler grants it the order succeeds', async () => {
    const gw = stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    const order = (id: string, qty: number) => t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: id, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty }] } });
    expect((await order('big', 9)).json().code).toBe('SOLD_OUT');
    push(gw, () => reconcileFridge(gw, ORIGINS.reconciler, f1, DEFAULT_RIGHTS_POLICY, Date.now()));
    expect(rightsOf(host().doc, central, f1, m1)).toBeGreaterThanOrEqual(9);
    expect((await order('big', 9)).statusCode).toBe(201);
  });

  it('prunes settled orders and old deliveries after the retention', async () => {
    await t.close();
    t = await startCentral({ over: { orders: { sweepMs: 20, retentionMs: 100 } } });
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    const o = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'pr-1', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
    expect(o.statusCode).toBe(201);
    await t.central.app.inject({ method: 'POST', url: '/v1/orders/pr-1/cancel', headers: bearer(TOKENS.app) });
    const d = await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: 'old-1', venueId: 'v1', fridgeId: 'f1', items: { m1: 1 } } });
    expect(d.statusCode).toBe(201);
    await waitFor(() => !host().doc.index.orders.has('pr-1') && !host().doc.index.deliveries.has('old-1'), 3000, 'pruning');
  });
});
