/** Kitchen deliveries (idempotent, incoming → observed with discrepancy) and the refill plan. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral;
beforeEach(async () => {
  t = await startCentral();
});
afterEach(async () => t.close());

const deliver = (payload: object, token: string = TOKENS.kitchen) => t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(token), payload });
const d1 = { deliveryId: 'd-1', venueId: 'v1', fridgeId: 'f1', items: { m1: 6, m2: 2 } };

describe('POST /v1/kitchen/deliveries', () => {
  it('is idempotent and shows incoming until a newer snapshot, then the discrepancy', async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    stockViaGateway(t.central, 'v1', 'f1', { m1: 2 }, { ts: past });
    const a = await deliver(d1);
    expect(a.statusCode).toBe(201);
    expect(a.json()).toMatchObject({ deliveryId: 'd-1', status: 'incoming', items: [{ mealId: 'm1', announced: 6, before: 2 }, { mealId: 'm2', announced: 2, before: 0 }] });
    const b = await deliver(d1);
    expect(b.statusCode).toBe(200);
    expect(b.json().deliveryId).toBe('d-1');
    const conflict = await deliver({ ...d1, items: { m1: 1 } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('ORDER_CONFLICT');
    // The refill plan counts the incoming delivery as on its way.
    const plan = (await t.central.app.inject({ url: '/v1/kitchen/refill-plan?city=Berlin', headers: bearer(TOKENS.kitchen) })).json();
    const line = plan.fridges.find((f: { fridgeId: string }) => f.fridgeId === 'f1').lines.find((l: { mealId: string }) => l.mealId === 'm1');
    expect(line).toMatchObject({ par: 8, Teff: 2, R: 0, incoming: 6, bring: 0 });
    // The fridge reports: one falafel bowl short, wraps complete.
    await new Promise((r) => setTimeout(r, 5));
    stockViaGateway(t.central, 'v1', 'f1', { m1: 7, m2: 2 }, { seq: 2, ts: new Date(Date.now() + 1000).toISOString() });
    const list = await t.central.app.inject({ url: '/v1/kitchen/deliveries?venueId=v1', headers: bearer(TOKENS.kitchen) });
    expect(list.json().deliveries[0]).toMatchObject({
      status: 'observed',
      items: [
        { mealId: 'm1', announced: 6, observedTotal: 7, discrepancy: -1 },
        { mealId: 'm2', announced: 2, observedTotal: 2, discrepancy: 0 },
      ],
    });
  });

  it('checks roles, venue, fridge and meals', async () => {
    expect((await deliver(d1, TOKENS.app)).json().code).toBe('FORBIDDEN');
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', payload: d1 })).statusCode).toBe(401);
    expect((await deliver({ ...d1, venueId: 'nope' })).json().code).toBe('UNKNOWN_VENUE');
    expect((await deliver({ ...d1, fridgeId: 'nope' })).json().code).toBe('UNKNOWN_FRIDGE');
    expect((await deliver({ ...d1, items: { zz: 1 } })).json().code).toBe('UNKNOWN_MEAL');
    expect((await deliver({ ...d1, items: {} })).json().code).toBe('VALIDATION_FAILED');
    expect((await deliver(d1, TOKENS.admin)).statusCode).toBe(201);
  });
});

describe('GET /v1/kitchen/refill-plan', () => {
  it('brings each fridge back to par after open orders', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 5, m2: 5 });
    const o = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'rp-1', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 2 }] } });
    expect(o.statusCode).toBe(201);
    const plan = (await t.central.app.inject({ url: '/v1/kitchen/refill-plan?city=Berlin', headers: bearer(TOKENS.viewer) })).json();
    const lines = plan.fridges.find((f: { fridgeId: string }) => f.fridgeId === 'f1').lines;
    expect(lines).toEqual([
      { mealId: 'm1', par: 8, Teff: 5, R: 2, incoming: 0, recentSales: 0, bring: 5 },
      { mealId: 'm2', par: 5, Teff: 5, R: 0, incoming: 0, recentSales: 0, bring: 0 },
    ]);
    const hamburg = (await t.central.app.inject({ url: '/v1/kitchen/refill-plan?city=Hamburg', headers: bearer(TOKENS.kitchen) })).json();
    expect(hamburg.fridges.map((f: { fridgeId: string }) => f.fridgeId)).toEqual(['h-f1']);
    expect((await t.central.app.inject({ url: '/v1/kitchen/refill-plan', headers: bearer(TOKENS.app) })).json().code).toBe('FORBIDDEN');
  });
});
