/**
 * The order taker: the one decision behind central's and the kiosk's `POST /v1/orders` and their
 * cancels. Config checks on the document, replay/conflict/sold-out/reserve against a sequential
 * model (fast-check; a failure prints its seed), the rights request, the HTTP answers and the one
 * error body.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import {
  FridgesyncError,
  SoldOutError,
  cellView,
  decideOrder,
  errorBodyOf,
  increment,
  keys,
  orderAnswer,
  recordSnapshot,
  rightsOf,
  settle,
  takeOrder,
  transfer,
  transitionAnswer,
  transitionResult,
  type CreateOrderBody,
  type OrderOutcome,
  type VenueDoc,
  type VenueId,
} from '@fridgesync/shared';
import { C1, F1, F2, GW1, M1, M2, T, hlc, inv, newDoc, oid, syncInto } from './support/fixtures.ts';

const V1 = 'v1' as VenueId;
const F3 = 'f3' as typeof F1; // configured nowhere
const M9 = 'm9' as typeof M1; // configured nowhere

/** Central's config: venue v1 with meals m1, m2 and fridge f1 (reconciled by g1); f2 belongs to v2. */
function configure(c1: VenueDoc): void {
  c1.transact(T, (w) => {
    w.set(keys.config('venue', 'v1'), { h: hlc(1), v: { name: 'HQ', city: 'Berlin', timezone: 'Europe/Berlin' } });
    for (const m of [M1, M2]) w.set(keys.config('meal', m), { h: hlc(1), v: { name: m, priceCents: 500 } });
    w.set(keys.config('fridge', F1), { h: hlc(1), v: { venueId: 'v1', reconciler: 'g1' } });
    w.set(keys.config('fridge', F2), { h: hlc(1), v: { venueId: 'v2', reconciler: 'g1' } });
  });
}

/**
 * Central c1 and the reconciler g1 of f1: g1 counted `stock` of each meal in (snapshot and
 * increments) and gave central `rights[m]`.
 */
function venue(rights: Record<string, number>, stock: Record<string, number> = { m1: 10, m2: 10 }) {
  const c1 = newDoc(C1, 1);
  configure(c1);
  const g = newDoc(GW1, 11);
  syncInto(g, c1);
  g.transact(T, (w) => {
    recordSnapshot(w, F1, inv(1, 1, 1000, stock));
    for (const m of [M1, M2]) {
      if ((stock[m] ?? 0) > 0) increment(w, F1, m, stock[m]!);
      if ((rights[m] ?? 0) > 0) transfer(w, F1, m, C1, rights[m]!);
    }
  });
  syncInto(c1, g);
  return { c1, g };
}

/** Walk-ins took meals: the fridge reports `left` before the reconciler recalls any rights. */
function walkIns(v: { c1: VenueDoc; g: VenueDoc }, left: Record<string, number>): void {
  v.g.transact(T, (w) => recordSnapshot(w, F1, inv(1, 2, 2000, left)));
  syncInto(v.c1, v.g);
}

const request = (orderId: string, lines: Array<[string, number]>, extra: Partial<CreateOrderBody> = {}): CreateOrderBody => ({
  orderId: oid(orderId),
  venueId: V1,
  fridgeId: F1,
  items: lines.map(([mealId, qty]) => ({ mealId: mealId as typeof M1, qty })),
  ...extra,
});

const central = { venueId: V1, capToStock: true };
const NOW = 5_000;

describe('decideOrder: what is configured is read on the document', () => {
  it('refuses another venue, an unconfigured fridge or one of another venue, and an unconfigured meal; writes nothing', () => {
    const { c1 } = venue({ m1: 3 });
    const sv = Y.encodeStateVector(c1.ydoc).join();
    const taker = { ...central, replica: C1 };
    expect(decideOrder(c1, taker, request('a', [[M1, 1]], { venueId: 'v2' as VenueId }), NOW)).toEqual({ kind: 'refused', code: 'UNKNOWN_VENUE', message: 'this order taker serves venue v1' });
    expect(decideOrder(c1, taker, request('a', [[M1, 1]], { fridgeId: F2 }), NOW)).toEqual({ kind: 'refused', code: 'UNKNOWN_FRIDGE' });
    expect(decideOrder(c1, taker, request('a', [[M1, 1]], { fridgeId: F3 }), NOW)).toEqual({ kind: 'refused', code: 'UNKNOWN_FRIDGE' });
    expect(decideOrder(c1, taker, request('a', [[M1, 1], [M9, 1]]), NOW)).toEqual({ kind: 'refused', code: 'UNKNOWN_MEAL', message: 'no such meal: m9' });
    expect(Y.encodeStateVector(c1.ydoc).join()).toBe(sv);
  });

  it('a venue without its record is unknown, even at its own taker', () => {
    const c1 = newDoc(C1, 1);
    c1.transact(T, (w) => w.set(keys.config('fridge', F1), { h: hlc(1), v: { venueId: 'v1', reconciler: 'g1' } }));
    expect(decideOrder(c1, { ...central, replica: C1 }, request('a', [[M1, 1]]), NOW)).toEqual({ kind: 'refused', code: 'UNKNOWN_VENUE' });
  });

  it('an order id known at another venue is a conflict; at this venue it is looked up in the document', () => {
    const { c1 } = venue({ m1: 3 });
    expect(decideOrder(c1, { ...central, replica: C1 }, request('a', [[M1, 1]]), NOW, 'v2' as VenueId)).toEqual({ kind: 'conflict', order: undefined });
    expect(decideOrder(c1, { ...central, replica: C1 }, request('a', [[M1, 1]]), NOW, V1)).toMatchObject({ kind: 'reserve' });
  });

  it('holds for holdSeconds (15 minutes by default) by the taker\'s clock', () => {
    const { c1 } = venue({ m1: 3 });
    const d = decideOrder(c1, { ...central, replica: C1 }, request('a', [[M1, 1]]), NOW);
    expect(d).toMatchObject({ kind: 'reserve', reservation: { entry: { h: NOW + 900_000, c: NOW, t: NOW } } });
    expect(decideOrder(c1, { ...central, replica: C1 }, request('a', [[M1, 1]], { holdSeconds: 60 }), NOW)).toMatchObject({ kind: 'reserve', reservation: { entry: { h: NOW + 60_000 } } });
  });

  it('a taker that reconciles the fridge sells out without asking anyone; another taker asks the reconciler', () => {
    const { c1, g } = venue({ m1: 0 }, { m1: 2, m2: 0 });
    const atKiosk = decideOrder(g, { venueId: V1, replica: GW1, capToStock: false }, request('a', [[M1, 3]]), NOW);
    expect(atKiosk).toEqual({ kind: 'sold-out', fridgeId: F1, lacking: [{ mealId: M1, requested: 3, available: 2 }], requests: [] });
    const atCentral = decideOrder(c1, { ...central, replica: C1 }, request('a', [[M1, 3]]), NOW);
    expect(atCentral).toEqual({ kind: 'sold-out', fridgeId: F1, lacking: [{ mealId: M1, requested: 3, available: 0 }], requests: [{ mealId: M1, want: 3 }] });
  });
});

/** The model of one taker's order book: what it may still reserve, its orders, its open requests. */
interface Model {
  rights: Map<string, number>;
  /** `T_eff − R` as the taker sees it (capToStock). */
  stockLeft: Map<string, number>;
  orders: Map<string, { fridge: string; lines: string }>;
  open: Set<string>;
}

const lineArb = fc.tuple(fc.constantFrom<string>(M1, M1, M2, M2, M9), fc.integer({ min: 1, max: 4 }));
const stepArb = fc.record({
  id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  fridge: fc.constantFrom<string>(F1, F1, F1, F1, F2, F3),
  lines: fc.array(lineArb, { minLength: 1, maxLength: 3 }),
  cancel: fc.boolean(),
});

describe('takeOrder against a sequential model', () => {
  it('answers replay, conflict, sold out (with what is lacking and the requests written) or created, and never spends beyond rights or stock', () => {
    fc.assert(
      fc.property(
        fc.record({ m1: fc.integer({ min: 0, max: 6 }), m2: fc.integer({ min: 0, max: 6 }) }),
        fc.record({ m1: fc.integer({ min: 0, max: 8 }), m2: fc.integer({ min: 0, max: 8 }) }),
        fc.record({ m1: fc.integer({ min: 0, max: 4 }), m2: fc.integer({ min: 0, max: 4 }) }),
        fc.boolean(),
        fc.array(stepArb, { maxLength: 12 }),
        (rights, stock, taken, capToStock, steps) => {
          // Central holds no more rights than the reconciler counted in; then walk-ins may leave
          // the fridge with fewer meals than central's rights (until a recall reaches it).
          const granted = { m1: Math.min(rights.m1, stock.m1), m2: Math.min(rights.m2, stock.m2) };
          const left = { m1: Math.max(0, stock.m1 - taken.m1), m2: Math.max(0, stock.m2 - taken.m2) };
          const v = venue(granted, stock);
          walkIns(v, left);
          const { c1 } = v;
          const m: Model = { rights: new Map(Object.entries(granted)), stockLeft: new Map(Object.entries(left)), orders: new Map(), open: new Set() };
          for (const s of steps) {
            const req = request(s.id, s.lines as Array<[string, number]>, { fridgeId: s.fridge as typeof F1 });
            const got = takeOrder(c1, T, { venueId: V1, capToStock }, req, NOW);
            expect(got).toEqual(expected(m, s, capToStock, got));
            for (const meal of [M1, M2]) {
              expect(rightsOf(c1, C1, F1, meal)).toBe(m.rights.get(meal));
              expect(rightsOf(c1, C1, F1, meal)).toBeGreaterThanOrEqual(0);
              const c = cellView(c1, F1, meal);
              expect(c.Teff - c.R).toBe(m.stockLeft.get(meal));
            }
            // A cancel gives the units back to S (the reconciler's to hand out), not to the taker.
            if (s.cancel && got.result === 'created') {
              expect(settle(c1, T, req.orderId, 'cancelled', NOW).ok).toBe(true);
              for (const [meal, q] of canonical(s.lines)) m.stockLeft.set(meal, m.stockLeft.get(meal)! + q);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

function canonical(lines: Array<[string, number]>): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const [meal, q] of lines) m.set(meal, (m.get(meal) ?? 0) + q);
  return [...m].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** What the model says a request does (and applies it to the model); `got` supplies the folded order. */
function expected(m: Model, s: { id: string; fridge: string; lines: Array<[string, number]> }, capToStock: boolean, got: OrderOutcome): OrderOutcome {
  if (s.fridge !== F1) return { result: 'invalid', code: 'UNKNOWN_FRIDGE' };
  const unknown = s.lines.find(([meal]) => meal === M9);
  if (unknown !== undefined) return { result: 'invalid', code: 'UNKNOWN_MEAL', message: `no such meal: ${M9}` };
  const lines = canonical(s.lines);
  const key = JSON.stringify(lines);
  const known = m.orders.get(s.id);
  if (known !== undefined) {
    if (known.lines !== key) return { result: 'conflict' };
    expect(got).toMatchObject({ result: 'replayed', order: { orderId: s.id, lines } });
    return got;
  }
  const lacking = lines
    .map(([mealId, requested]) => ({ mealId, requested, available: capToStock ? Math.min(m.rights.get(mealId)!, m.stockLeft.get(mealId)!) : m.rights.get(mealId)! }))
    .filter((l) => l.requested > l.available);
  if (lacking.length > 0) {
    const asked = lacking.filter((l) => !m.open.has(l.mealId));
    for (const l of asked) m.open.add(l.mealId);
    return { result: 'sold_out', lacking: lacking as never, requested: asked.length };
  }
  for (const [meal, q] of lines) {
    m.rights.set(meal, m.rights.get(meal)! - q);
    m.stockLeft.set(meal, m.stockLeft.get(meal)! - q);
  }
  m.orders.set(s.id, { fridge: s.fridge, lines: key });
  expect(got).toMatchObject({ result: 'created', order: { orderId: s.id, state: 'reserved', lines } });
  return got;
}

describe('the HTTP answers', () => {
  it('201 for a new order, 200 for a replay, and the catalog error for every refusal', () => {
    const { c1 } = venue({ m1: 2 });
    const created = takeOrder(c1, T, central, request('a', [[M1, 1]]), NOW);
    expect(orderAnswer(V1, created)).toMatchObject({ status: 201, order: { orderId: 'a', venueId: 'v1', fridgeId: 'f1', state: 'reserved', items: [{ mealId: 'm1', qty: 1 }] } });
    const replayed = takeOrder(c1, T, central, request('a', [[M1, 1]]), NOW + 1);
    expect(orderAnswer(V1, replayed)).toEqual({ ...orderAnswer(V1, created), status: 200 });
    const sold = takeOrder(c1, T, central, request('b', [[M1, 5]]), NOW);
    expect(() => orderAnswer(V1, sold)).toThrow(SoldOutError);
    expect(errorBodyOf(catching(() => orderAnswer(V1, sold)))).toEqual({
      statusCode: 409,
      code: 'SOLD_OUT',
      message: 'Not enough stock can be reserved here right now: m1: asked 5, 1 can be sold here now.',
      lacking: [{ mealId: 'm1', requested: 5, sellableHere: 1, available: 1 }],
    });
    expect(errorBodyOf(catching(() => orderAnswer(V1, takeOrder(c1, T, central, request('a', [[M1, 2]]), NOW))))).toMatchObject({ statusCode: 409, code: 'ORDER_CONFLICT' });
    expect(errorBodyOf(catching(() => orderAnswer(V1, takeOrder(c1, T, central, request('c', [[M9, 1]]), NOW))))).toEqual({ statusCode: 404, code: 'UNKNOWN_MEAL', message: 'no such meal: m9' });
  });

  it('a transition answers the order, or ORDER_SETTLED naming the state it settled in; labels are snake_case', () => {
    const { c1 } = venue({ m1: 2 });
    takeOrder(c1, T, central, request('a', [[M1, 1]]), NOW);
    expect(transitionAnswer(V1, settle(c1, T, oid('a'), 'picked_up', NOW))).toMatchObject({ orderId: 'a', state: 'picked_up' });
    expect(errorBodyOf(catching(() => transitionAnswer(V1, settle(c1, T, oid('a'), 'cancelled', NOW))))).toEqual({ statusCode: 409, code: 'ORDER_SETTLED', message: 'The order is already settled. (picked_up)' });
    expect(errorBodyOf(catching(() => transitionAnswer(V1, settle(c1, T, oid('zz'), 'cancelled', NOW))))).toMatchObject({ statusCode: 404, code: 'UNKNOWN_ORDER' });
    expect([transitionResult('cancelled'), transitionResult('picked_up'), transitionResult('cancelled', true), transitionResult('picked_up', true)]).toEqual(['cancelled', 'picked_up', 'resolved_cancelled', 'resolved_picked_up']);
  });
});

describe('errorBodyOf: the one error body', () => {
  it('maps catalog errors, the framework\'s errors and anything else', () => {
    expect(errorBodyOf(new FridgesyncError('NOT_READY', 'joining'))).toEqual({ statusCode: 503, code: 'NOT_READY', message: 'joining' });
    const validation = Object.assign(new Error('body/items must be array'), { statusCode: 400, code: 'FST_ERR_VALIDATION', validation: [{ instancePath: '/items', message: 'Invalid input' }], validationContext: 'body' });
    expect(errorBodyOf(validation)).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'body/items: Invalid input' });
    expect(errorBodyOf(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(errorBodyOf(Object.assign(new Error('Unsupported Media Type: text/plain'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }))).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'Unsupported Media Type: text/plain' });
    expect(errorBodyOf(Object.assign(new Error('slow down'), { statusCode: 429 }))).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(errorBodyOf(new SyntaxError('Unexpected token'))).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'Unexpected token' });
    // Nothing of an unexpected error's message reaches the client.
    expect(errorBodyOf(new TypeError('secret internals'))).toEqual({ statusCode: 500, code: 'INTERNAL', message: 'Internal error.' });
    expect(errorBodyOf('a string')).toEqual({ statusCode: 500, code: 'INTERNAL', message: 'Internal error.' });
  });
});

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}
