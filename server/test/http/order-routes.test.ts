/** Orders at central: create/replay/conflict/sold-out, roles, transitions, expiry, concurrency. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import {
  ORIGINS,
  VenueDoc,
  gatewayReplicaId,
  requestOpen,
  recordSnapshot,
  rightsOf,
  centralReplicaId,
  OrderResponseSchema,
  type FridgeId,
  type GatewayId,
  type InstanceId,
  type MealId,
  type VenueId,
} from '@fridgesync/shared';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

let t: TestCentral;
beforeEach(async () => {
  t = await startCentral({ over: { orders: { sweepMs: 20, retentionMs: 3_600_000 } } });
});
afterEach(async () => t.close());

const order = (id: string, items = [{ mealId: 'm1', qty: 1 }], extra: Record<string, unknown> = {}) => ({ orderId: id, venueId: 'v1', fridgeId: 'f1', items, ...extra });
const post = (payload: unknown, token: string = TOKENS.app) => t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(token), payload: payload as object });
const central = centralReplicaId('c1' as InstanceId);

describe('POST /v1/orders', () => {
  it('reserves within central rights (201), replays with 200 and the same body', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    const host = t.central.registry.peek('v1' as VenueId)!;
    expect(rightsOf(host.doc, central, 'f1' as FridgeId, 'm1' as MealId)).toBe(8); // 80% share
    const a = await post(order('o-1', [{ mealId: 'm1', qty: 2 }]));
    expect(a.statusCode).toBe(201);
    expect(a.json()).toMatchObject({ orderId: 'o-1', venueId: 'v1', fridgeId: 'f1', state: 'reserved', items: [{ mealId: 'm1', qty: 2 }], conflict: false });
    const b = await post(order('o-1', [{ mealId: 'm1', qty: 2 }]));
    expect(b.statusCode).toBe(200);
    expect(b.json()).toEqual(a.json());
    expect(rightsOf(host.doc, central, 'f1' as FridgeId, 'm1' as MealId)).toBe(6);
  });

  it('answers ORDER_CONFLICT for the same id with other contents', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    expect((await post(order('o-2'))).statusCode).toBe(201);
    const r = await post(order('o-2', [{ mealId: 'm1', qty: 3 }]));
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ statusCode: 409, code: 'ORDER_CONFLICT' });
  });

  it('treats the same order id at another venue as a conflict', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    expect((await post(order('g-1'))).statusCode).toBe(201);
    const r = await post({ orderId: 'g-1', venueId: 'v2', fridgeId: 'h-f1', items: [{ mealId: 'm1', qty: 1 }] });
    expect(r.json().code).toBe('ORDER_CONFLICT');
  });

  it('answers SOLD_OUT at once and writes one rights request', async () => {
    const host = t.central.registry.peek('v1' as VenueId)!;
    const r = await post(order('o-3'));
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('SOLD_OUT');
    expect(requestOpen(host.doc, central, 'f1' as FridgeId, 'm1' as MealId)).toBe(true);
    const req1 = host.doc.index.requests.get('f1')?.get('m1')?.get(central);
    await post(order('o-4'));
    // Still the same open request: no new sequence number per refusal.
    expect(host.doc.index.requests.get('f1')?.get('m1')?.get(central)).toEqual(req1);
  });

  it('SOLD_OUT says what the customer can buy here now (central\'s own rights), not the venue-wide stock', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10, m2: 5 });
    // The catalog counts every order taker's rights (S = 10); central holds its share (8).
    const cat = (await t.central.app.inject({ url: '/v1/catalog', headers: bearer(TOKENS.app) })).json();
    expect(cat.venues[0].fridges[0].meals.find((m: { mealId: string }) => m.mealId === 'm1').available).toBe(10);
    const r = await post(order('so-1', [{ mealId: 'm1', qty: 9 }, { mealId: 'm2', qty: 1 }]));
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({
      statusCode: 409,
      code: 'SOLD_OUT',
      message: 'Not enough stock can be reserved here right now: m1: asked 9, 8 can be sold here now.',
      lacking: [{ mealId: 'm1', requested: 9, sellableHere: 8, available: 8 }],
    });
    // What it says can be bought, can be bought.
    expect((await post(order('so-2', [{ mealId: 'm1', qty: 8 }]))).statusCode).toBe(201);
  });

  it('never reserves beyond what the fridge holds as central sees it (T_eff − R), whatever rights central holds', async () => {
    // Central holds 8 rights; then a snapshot reports 3 meals (walk-ins, or a reconciler that
    // minted rights beyond stock) before any recall reaches central.
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    const host = t.central.registry.peek('v1' as VenueId)!;
    const g2 = new VenueDoc({ replica: gatewayReplicaId('g2' as GatewayId, 1) });
    g2.applyUpdate(Y.encodeStateAsUpdate(host.doc.ydoc), ORIGINS.upstream);
    const sv = Y.encodeStateVector(g2.ydoc);
    g2.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, 'f1' as FridgeId, { boot: 1, seq: 2, ts: new Date().toISOString(), items: { m1: 3 } as never }));
    host.doc.applyUpdate(Y.encodeStateAsUpdate(g2.ydoc, sv), { kind: 'upstream', peer: 'test-gateway' });
    expect(rightsOf(host.doc, central, 'f1' as FridgeId, 'm1' as MealId)).toBe(8);
    const r = await post(order('cap-1', [{ mealId: 'm1', qty: 4 }]));
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ code: 'SOLD_OUT', lacking: [{ mealId: 'm1', requested: 4, sellableHere: 3 }] });
    expect((await post(order('cap-2', [{ mealId: 'm1', qty: 3 }]))).statusCode).toBe(201);
    expect((await post(order('cap-3', [{ mealId: 'm1', qty: 1 }]))).json()).toMatchObject({ code: 'SOLD_OUT', lacking: [{ sellableHere: 0 }] });
  });

  it('reserves all lines or none', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10, m2: 1 });
    const host = t.central.registry.peek('v1' as VenueId)!;
    const r = await post(order('o-5', [{ mealId: 'm1', qty: 1 }, { mealId: 'm2', qty: 5 }]));
    expect(r.statusCode).toBe(409);
    expect(rightsOf(host.doc, central, 'f1' as FridgeId, 'm1' as MealId)).toBe(8);
  });

  it('concurrent orders on one fridge never exceed central rights', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => post(order(`c-${i}`))));
    const created = rs.filter((r) => r.statusCode === 201).length;
    expect(created).toBe(8);
    expect(rs.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'SOLD_OUT')).toBe(true);
    const host = t.central.registry.peek('v1' as VenueId)!;
    expect(rightsOf(host.doc, central, 'f1' as FridgeId, 'm1' as MealId)).toBe(0);
    const detail = await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) });
    const cell = detail.json().fridges.find((f: { fridgeId: string }) => f.fridgeId === 'f1').cells.find((c: { mealId: string }) => c.mealId === 'm1');
    expect(cell).toMatchObject({ T: 10, R: 8, S: 2 });
  });

  it('validates input and checks venue, fridge and meal', async () => {
    const bad = await post({ orderId: 'x', venueId: 'v1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
    expect((await post({ ...order('x'), venueId: 'nope' })).json().code).toBe('UNKNOWN_VENUE');
    expect((await post({ ...order('x'), fridgeId: 'h-f1' })).json().code).toBe('UNKNOWN_FRIDGE');
    expect((await post(order('x', [{ mealId: 'm9', qty: 1 }]))).json().code).toBe('UNKNOWN_MEAL');
    expect((await post(order('x', [{ mealId: 'm1', qty: 0 }]))).statusCode).toBe(400);
  });

  it('an order folds no view: venue, fridge and meals are read on the document, and an unknown venue loads nothing', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    // Another venue's gateway reports meanwhile: the read model has folding to do, not the order.
    stockViaGateway(t.central, 'v2', 'h-f1', { m1: 4 }, { gateway: 'h1' });
    const model = t.central.model;
    const unbudgeted = vi.spyOn(model, 'flush');
    const reads = [vi.spyOn(model, 'get'), vi.spyOn(model, 'require'), vi.spyOn(model, 'venuesIn')];
    expect((await post(order('nv-1'))).statusCode).toBe(201);
    expect((await t.central.app.inject({ url: '/v1/orders/nv-1', headers: bearer(TOKENS.app) })).json().state).toBe('reserved');
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/orders/nv-1/cancel', headers: bearer(TOKENS.app) })).json().state).toBe('cancelled');
    expect((await post(order('nv-2', [{ mealId: 'm1', qty: 1 }], { fridgeId: 'f2' }))).json().code).toBe('SOLD_OUT');
    // Only the background folds ran (each slice with its time budget), none for a request.
    expect(unbudgeted).not.toHaveBeenCalled();
    for (const r of reads) expect(r).not.toHaveBeenCalled();
    expect((await post({ ...order('nv-3'), venueId: 'nowhere' })).json().code).toBe('UNKNOWN_VENUE');
    expect(t.central.registry.peek('nowhere' as VenueId)).toBeUndefined();
  });

  it('counts every request by one result label, as the kiosk does', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    await post({ orderId: 'x', venueId: 'v1' });
    await post({ ...order('m-0'), fridgeId: 'nope' });
    await post(order('m-1'));
    await post(order('m-1'));
    await post(order('m-1', [{ mealId: 'm1', qty: 2 }]));
    await post(order('m-2', [{ mealId: 'm1', qty: 9 }]));
    await t.central.app.inject({ method: 'POST', url: '/v1/orders/m-1/cancel', headers: bearer(TOKENS.app) });
    await post(order('m-3'));
    await t.central.app.inject({ method: 'POST', url: '/v1/orders/m-3/resolve', headers: bearer(TOKENS.admin), payload: { outcome: 'picked_up' } });
    const counted = Object.fromEntries((await t.central.metrics.orders.get()).values.map((v) => [v.labels.result, v.value]));
    expect(counted).toEqual({ invalid: 2, created: 2, replayed: 1, conflict: 1, sold_out: 1, cancelled: 1, resolved_picked_up: 1 });
  });

  it('requires the app or admin role', async () => {
    const none = await t.central.app.inject({ method: 'POST', url: '/v1/orders', payload: order('r-1') });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    expect((await post(order('r-1'), 'wrong-token')).statusCode).toBe(401);
    for (const tok of [TOKENS.viewer, TOKENS.kitchen, TOKENS.gw1]) expect((await post(order('r-1'), tok)).json().code).toBe('FORBIDDEN');
    expect((await post(order('r-1'), TOKENS.admin)).json().code).toBe('SOLD_OUT');
  });
});

describe('order lifecycle', () => {
  it('GET, cancel, then cancel again and pickup conflicts', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    await post(order('l-1'));
    const g = await t.central.app.inject({ url: '/v1/orders/l-1', headers: bearer(TOKENS.app) });
    expect(g.json().state).toBe('reserved');
    expect((await t.central.app.inject({ url: '/v1/orders/zzz', headers: bearer(TOKENS.app) })).json().code).toBe('UNKNOWN_ORDER');
    const c = await t.central.app.inject({ method: 'POST', url: '/v1/orders/l-1/cancel', headers: bearer(TOKENS.app) });
    expect(c.statusCode).toBe(200);
    expect(c.json().state).toBe('cancelled');
    // Cancelling twice is idempotent.
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/orders/l-1/cancel', headers: bearer(TOKENS.app) })).statusCode).toBe(200);
    // Staff pickup of a cancelled order: a physical fact, recorded (picked_up wins the lattice).
    const p = await t.central.app.inject({ method: 'POST', url: '/v1/orders/l-1/pickup', headers: bearer(TOKENS.kitchen) });
    expect(p.json()).toMatchObject({ state: 'picked_up' });
    const again = await t.central.app.inject({ method: 'POST', url: '/v1/orders/l-1/cancel', headers: bearer(TOKENS.app) });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('ORDER_SETTLED');
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/orders/l-1/pickup', headers: bearer(TOKENS.app) })).json().code).toBe('FORBIDDEN');
  });

  it('holds expire on time', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    const r = await post(order('e-1', [{ mealId: 'm1', qty: 1 }], { holdSeconds: 1 }));
    expect(r.statusCode).toBe(201);
    const state = await waitFor(
      async () => {
        const s = (await t.central.app.inject({ url: '/v1/orders/e-1', headers: bearer(TOKENS.app) })).json().state;
        return s === 'expired' ? s : undefined;
      },
      4000,
      'hold expiry',
    );
    expect(state).toBe('expired');
  });
});

describe('order routes in OpenAPI', () => {
  it('document every answer of the order routes in the shared order schema', async () => {
    const spec = (await t.central.app.inject({ url: '/documentation/json' })).json();
    const fields = Object.keys(OrderResponseSchema.shape).sort();
    const routes: Array<[string, string, string[]]> = [
      ['post', '/v1/orders', ['200', '201']],
      ['get', '/v1/orders/{orderId}', ['200']],
      ['post', '/v1/orders/{orderId}/cancel', ['200']],
      ['post', '/v1/orders/{orderId}/pickup', ['200']],
      ['post', '/v1/orders/{orderId}/resolve', ['200']],
    ];
    for (const [method, path, statuses] of routes) {
      for (const status of statuses) {
        const schema = spec.paths[path]?.[method]?.responses?.[status]?.content?.['application/json']?.schema;
        expect(Object.keys(schema?.properties ?? {}).sort(), `${method} ${path} ${status}`).toEqual(fields);
        expect(schema.properties.state.enum, `${method} ${path} ${status}`).toEqual(expect.arrayContaining(['reserved', 'cancelled', 'picked_up']));
      }
    }
  });
});
