/** `/v1/venues`, `/v1/venues/{id}`, `/v1/catalog`: merged state from the read model, roles, cities, promotion prices. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VenueId } from '@fridgesync/shared';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral;
beforeEach(async () => {
  t = await startCentral();
});
afterEach(async () => t.close());

const get = (url: string, token: string = TOKENS.viewer) => t.central.app.inject({ url, headers: bearer(token) });

describe('GET /v1/venues', () => {
  it('lists venues with totals', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3, m2: 2 });
    const r = await get('/v1/venues');
    expect(r.statusCode).toBe(200);
    expect(r.json().venues.map((v: { venueId: string }) => v.venueId)).toEqual(['v1', 'v2']);
    expect(r.json().venues[0]).toMatchObject({ city: 'Berlin', totals: { T: 5, S: 5, R: 0, fridges: 2 } });
  });

  it('requires a reader role', async () => {
    expect((await t.central.app.inject({ url: '/v1/venues' })).statusCode).toBe(401);
    expect((await get('/v1/venues', TOKENS.app)).json().code).toBe('FORBIDDEN');
    expect((await get('/v1/venues', TOKENS.kitchen)).statusCode).toBe(200);
    expect((await get('/v1/venues', TOKENS.admin)).statusCode).toBe(200);
  });
});

describe('GET /v1/venues/{id}', () => {
  it('shows T, T_eff, R, S, drift, rights by replica, shortage with affected orders', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 4 });
    const first = (await get('/v1/venues/v1')).json().fridges[0].cells[0];
    expect(first).toMatchObject({ T: 4, S: 4, drift: 0, rights: { 'central:c1': 3, 'gw:g1:1': 1 } });
    for (const id of ['s-1', 's-2', 's-3']) {
      const r = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: id, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
      expect(r.statusCode).toBe(201);
    }
    // A walk-in takes three meals: the fridge now holds 1 with 3 reserved.
    stockViaGateway(t.central, 'v1', 'f1', { m1: 1 }, { seq: 2 });
    const r = await get('/v1/venues/v1');
    expect(r.statusCode).toBe(200);
    const f = r.json().fridges.find((x: { fridgeId: string }) => x.fridgeId === 'f1');
    const cell = f.cells.find((c: { mealId: string }) => c.mealId === 'm1');
    expect(cell).toMatchObject({ T: 1, Teff: 1, R: 3, S: 0, shortage: 2, affectedOrders: ['s-2', 's-3'] });
    expect(f).toMatchObject({ reconcilerGateway: 'g1', reconciler: 'gw:g1:1', openOrders: 3, par: { m1: 8, m2: 5 } });
    expect(r.json().gateways.map((g: { gatewayId: string }) => g.gatewayId)).toEqual(['g1', 'g2']);
    expect(r.json().gateways[0]).toMatchObject({ connected: false });
  });

  it('lists open orders with the same conflict fields as the order API (conflicts only on a conflict)', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 4 });
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'plain', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
    expect(r.statusCode).toBe(201);
    const api = (await get('/v1/orders/plain', TOKENS.app)).json();
    const listed = (await get('/v1/venues/v1')).json().orders.find((o: { orderId: string }) => o.orderId === 'plain');
    expect(api.conflict).toBe(false);
    expect('conflicts' in api).toBe(false);
    expect(listed.conflict).toBe(false);
    expect('conflicts' in listed).toBe(false);
  });

  it('answers UNKNOWN_VENUE', async () => {
    const r = await get('/v1/venues/nope');
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ statusCode: 404, code: 'UNKNOWN_VENUE', message: 'No such venue.' });
    expect((await get('/v1/venues/bad%20id')).json().code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /v1/catalog', () => {
  it('lists what can be ordered now, split by city, with promotion prices', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3 });
    stockViaGateway(t.central, 'v2', 'h-f1', { m2: 1 }, { gateway: 'h1' });
    const berlin = await get('/v1/catalog?city=Berlin', TOKENS.app);
    expect(berlin.statusCode).toBe(200);
    expect(berlin.json().venues).toHaveLength(1);
    const f1 = berlin.json().venues[0].fridges.find((f: { fridgeId: string }) => f.fridgeId === 'f1');
    expect(f1.meals).toEqual([{ mealId: 'm1', name: 'Falafel bowl', allergens: ['sesame'], available: 3, priceCents: 890, listPriceCents: 890, promotionId: null }]);
    expect(berlin.json().venues[0].fridges.find((f: { fridgeId: string }) => f.fridgeId === 'f2').meals).toEqual([]);
    const all = await get('/v1/catalog', TOKENS.app);
    expect(all.json().venues.map((v: { venueId: string }) => v.venueId)).toEqual(['v1', 'v2']);
    expect((await get('/v1/catalog?city=Nowhere', TOKENS.app)).json().venues).toEqual([]);

    // An active promotion changes the price; an expired one does not.
    const host = t.central.registry.peek('v1' as VenueId)!;
    const now = Date.now();
    t.central.writer.writeConfig(host, [
      { section: 'promotion', id: 'p-now', record: { mealId: 'm1' as never, priceCents: 500, fromMs: now - 1000, untilMs: now + 60_000 } },
      { section: 'promotion', id: 'p-old', record: { mealId: 'm1' as never, priceCents: 100, fromMs: now - 10_000, untilMs: now - 5000 } },
    ]);
    const promo = await get('/v1/catalog?city=Berlin', TOKENS.app);
    const meal = promo.json().venues[0].fridges[0].meals[0];
    expect(meal).toMatchObject({ priceCents: 500, listPriceCents: 890, promotionId: 'p-now' });
  });

  it('is readable by app, viewer, kitchen and admin only', async () => {
    expect((await t.central.app.inject({ url: '/v1/catalog' })).statusCode).toBe(401);
    expect((await get('/v1/catalog', TOKENS.gw1)).json().code).toBe('FORBIDDEN');
  });
});
