/**
 * Orders: reservations move units from S to R in one transaction; idempotent by order id; the
 * state lattice with picked_up winning (conflict reported); hold expiry; pruning without resurrection.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ORIGINS,
  canonicalLines,
  cellView,
  DEFAULT_UNKNOWN_CLOCK_GRACE_MS,
  expireHolds,
  holdDue,
  retire,
  foldOrder,
  fridgeView,
  increment,
  maintainOrders,
  recordPickup,
  recordSnapshot,
  reconcileFridge,
  requestRights,
  reserve,
  reservedByMeal,
  sellable,
  settle,
  needsResolution,
  transfer,
  type NewOrder,
} from '@fridgesync/shared';
import { C1, C2, F1, GW1, M1, M2, T, configureFridge, inv, newDoc, oid, pick, syncAll, syncInto } from './support/fixtures.ts';

/** Gateway with stock, central c1 holding `rights` of m1 and of m2. */
function venue(rights = 3) {
  const c1 = newDoc(C1, 1);
  configureFridge(c1, F1, 'g1');
  const g = newDoc(GW1, 11);
  syncInto(g, c1);
  g.transact(T, (w) => {
    increment(w, F1, M1, 10);
    increment(w, F1, M2, 10);
    transfer(w, F1, M1, C1, rights);
    transfer(w, F1, M2, C1, rights);
  });
  syncInto(c1, g);
  return { c1, g };
}

const order = (id: string, lines: Array<[typeof M1, number]>, now = 1000, hold = 60_000): NewOrder => ({
  orderId: oid(id),
  fridgeId: F1,
  lines: lines.map(([mealId, qty]) => ({ mealId, qty })),
  holdUntil: now + hold,
  now,
});

describe('reserve', () => {
  it('moves units from S to R in one transaction', () => {
    const { c1 } = venue();
    const updates: Uint8Array[] = [];
    c1.ydoc.on('update', (u: Uint8Array) => updates.push(u));
    const r = reserve(c1, ORIGINS.api, order('a', [[M1, 2], [M2, 1]]));
    expect(r).toMatchObject({ ok: true, status: 'created', order: { state: 'reserved', lines: [[M1, 2], [M2, 1]] } });
    expect(updates.length).toBe(1);
    expect(sellable(c1, F1, M1)).toBe(8);
    expect(reservedByMeal(c1, F1).get(M1)).toBe(2);
    expect(cellView(c1, F1, M1)).toMatchObject({ S: 8, R: 2 });
  });

  it('a replay returns replayed and writes nothing; other contents under the same id is ORDER_CONFLICT', () => {
    const { c1 } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    const sv = Y.encodeStateVector(c1.ydoc).join();
    expect(reserve(c1, ORIGINS.api, order('a', [[M1, 1]]))).toMatchObject({ ok: true, status: 'replayed' });
    expect(reserve(c1, ORIGINS.api, order('a', [[M1, 2]]))).toMatchObject({ ok: false, code: 'ORDER_CONFLICT' });
    expect(Y.encodeStateVector(c1.ydoc).join()).toBe(sv);
    expect(sellable(c1, F1, M1)).toBe(9);
  });

  it('a retry of an order whose pickup arrived before its creation is replayed, not a conflict (regression)', () => {
    // Before the fix, a replica holding only the pickup transition (no lines yet) answered ORDER_CONFLICT.
    const { c1, g } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    // g has not seen the order yet; the pickup transition is recorded anyway.
    const out = g.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, pick(1, 2, 1500, 'a', { m1: 1 }), 1500));
    expect(out.order).toBe('unknown-order');
    expect(foldOrder(g, oid('a'))).toMatchObject({ state: 'picked_up', lines: undefined });
    const sv = Y.encodeStateVector(g.ydoc).join();
    expect(reserve(g, ORIGINS.kiosk, order('a', [[M1, 1]]))).toMatchObject({ ok: true, status: 'replayed', order: { state: 'picked_up' } });
    expect(Y.encodeStateVector(g.ydoc).join()).toBe(sv);
  });

  it('is SOLD_OUT beyond this replica’s rights, for all lines or none, with nothing written', () => {
    const { c1 } = venue(2);
    const sv = Y.encodeStateVector(c1.ydoc).join();
    const r = reserve(c1, ORIGINS.api, order('a', [[M1, 1], [M2, 3]]));
    expect(r).toEqual({ ok: false, code: 'SOLD_OUT', lacking: [{ mealId: M2, requested: 3, available: 2 }] });
    expect(Y.encodeStateVector(c1.ydoc).join()).toBe(sv);
    expect(foldOrder(c1, oid('a'))).toBeUndefined();
    // A taker without rights answers at once even though S > 0 (the gateway holds the rest).
    const c2 = newDoc(C2, 2);
    syncInto(c2, c1);
    expect(sellable(c2, F1, M1)).toBe(10);
    expect(reserve(c2, ORIGINS.api, order('b', [[M1, 1]]))).toMatchObject({ ok: false, code: 'SOLD_OUT' });
  });

  it('aggregates and sorts lines canonically', () => {
    expect(canonicalLines([{ mealId: M2, qty: 1 }, { mealId: M1, qty: 1 }, { mealId: M2, qty: 2 }])).toEqual([[M1, 1], [M2, 3]]);
  });

  it('a taker asks for more rights with a growing request sequence', () => {
    const { c1 } = venue();
    c1.transact(T, (w) => requestRights(w, F1, M1, 5));
    c1.transact(T, (w) => requestRights(w, F1, M1, 0));
    expect(c1.get(C1, `q/${F1}/${M1}`)).toEqual([2, 1]);
  });
});

describe('settle and the state lattice', () => {
  it('cancel releases R; settling a settled order is refused; the same state again changes nothing', () => {
    const { c1 } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 2]]));
    expect(settle(c1, ORIGINS.api, oid('a'), 'cancelled', 2000)).toMatchObject({ ok: true, changed: true, order: { state: 'cancelled' } });
    expect(cellView(c1, F1, M1).R).toBe(0);
    expect(settle(c1, ORIGINS.api, oid('a'), 'expired', 3000)).toMatchObject({ ok: false, code: 'ORDER_SETTLED' });
    expect(settle(c1, ORIGINS.api, oid('a'), 'cancelled', 3000)).toMatchObject({ ok: true, changed: false });
    expect(settle(c1, ORIGINS.api, oid('zz'), 'cancelled', 3000)).toEqual({ ok: false, code: 'UNKNOWN_ORDER' });
  });

  it('picked_up wins over a concurrent cancel, and the conflict is reported', () => {
    const { c1, g } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    syncAll(c1, g);
    settle(c1, ORIGINS.api, oid('a'), 'cancelled', 2000);
    settle(g, ORIGINS.api, oid('a'), 'picked_up', 2001);
    syncAll(c1, g);
    for (const d of [c1, g]) {
      expect(foldOrder(d, oid('a'))).toMatchObject({ state: 'picked_up', conflict: true });
      expect(fridgeView(d, F1).conflicts).toEqual([oid('a')]);
    }
    // A pickup is recorded even after the order was settled locally (a physical fact).
    expect(settle(c1, ORIGINS.api, oid('a'), 'picked_up', 3000)).toMatchObject({ ok: true });
  });

  it('a pickup after a cancel recorded by the same replica is still reported as a conflict (regression)', () => {
    // Before the fix, the replica's single entry for the order was overwritten and the cancel forgotten.
    const { c1 } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    settle(c1, ORIGINS.api, oid('a'), 'cancelled', 2000);
    expect(settle(c1, ORIGINS.api, oid('a'), 'picked_up', 2500)).toMatchObject({ ok: true, changed: true });
    expect(foldOrder(c1, oid('a'))).toMatchObject({ state: 'picked_up', conflict: true });
    const d = newDoc(C2, 2);
    syncInto(d, c1);
    expect(foldOrder(d, oid('a'))).toMatchObject({ state: 'picked_up', conflict: true });
  });

  it('concurrent cancel and expiry: a terminal state without a reported pickup conflict is still settled', () => {
    const { c1, g } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    syncAll(c1, g);
    settle(c1, ORIGINS.api, oid('a'), 'cancelled', 2000);
    settle(g, ORIGINS.api, oid('a'), 'expired', 2000);
    syncAll(c1, g);
    expect(foldOrder(c1, oid('a'))).toEqual(foldOrder(g, oid('a')));
    expect(foldOrder(c1, oid('a'))?.state).not.toBe('reserved');
  });
});

describe('the same order id with different contents on both sides of a partition', () => {
  /** Kiosk order `dup` qty 1 at the gateway and central order `dup` qty 2 while they cannot see each other. */
  function split() {
    const v = venue();
    v.g.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, inv(1, 1, 500, { m1: 10, m2: 10 })));
    expect(reconcileFridge(v.g, ORIGINS.reconciler, F1, { takerShare: 0 }, 500)?.incremented).toBe(0);
    syncAll(v.c1, v.g);
    expect(reserve(v.g, ORIGINS.kiosk, order('dup', [[M1, 1]], 1000))).toMatchObject({ ok: true, status: 'created' });
    expect(reserve(v.c1, ORIGINS.api, order('dup', [[M1, 2]], 1000))).toMatchObject({ ok: true, status: 'created' });
    syncAll(v.c1, v.g);
    return v;
  }

  it('folds to a reported contents conflict listing both variants by taker, on every replica', () => {
    const { c1, g } = split();
    const o = foldOrder(c1, oid('dup'));
    expect(o).toEqual(foldOrder(g, oid('dup')));
    expect(o).toMatchObject({ state: 'reserved', conflict: true, contentConflict: true, stateConflict: false, lines: [[M1, 2]], createdBy: C1 });
    expect(o?.variants.map((x) => [x.takers, x.lines])).toEqual([
      [[C1], [[M1, 2]]],
      [[GW1], [[M1, 1]]],
    ]);
    expect(fridgeView(c1, F1).conflicts).toEqual([oid('dup')]);
  });

  it('R holds both customers’ units, so the reconciler hands none of them out again', () => {
    const { c1, g } = split();
    // 10 on the shelf: 3 reserved (1 + 2), 7 sellable; no drift to "correct".
    expect(cellView(g, F1, M1)).toMatchObject({ T: 10, R: 3, S: 7, drift: 0 });
    expect(reconcileFridge(g, ORIGINS.reconciler, F1, { takerShare: 0 }, 2000)).toMatchObject({ incremented: 0, decremented: 0 });
    syncAll(c1, g);
    expect(cellView(c1, F1, M1)).toMatchObject({ R: 3, S: 7, drift: 0 });
  });

  it('a retry of either variant is replayed; other contents still conflict; no customer settles it; a resolution settles both', () => {
    const { c1, g } = split();
    expect(reserve(c1, ORIGINS.api, order('dup', [[M1, 1]]))).toMatchObject({ ok: true, status: 'replayed' });
    expect(reserve(g, ORIGINS.kiosk, order('dup', [[M1, 2]]))).toMatchObject({ ok: true, status: 'replayed' });
    expect(reserve(g, ORIGINS.kiosk, order('dup', [[M1, 3]]))).toMatchObject({ ok: false, code: 'ORDER_CONFLICT' });
    expect(needsResolution(foldOrder(g, oid('dup'))!)).toBe(true);
    // A customer's cancel on either side would settle the other customer's claim too: refused, nothing written.
    expect(settle(g, ORIGINS.kiosk, oid('dup'), 'cancelled', 3000, { customer: true })).toMatchObject({ ok: false, code: 'ORDER_NEEDS_RESOLUTION' });
    expect(settle(c1, ORIGINS.api, oid('dup'), 'picked_up', 3000, { customer: true })).toMatchObject({ ok: false, code: 'ORDER_NEEDS_RESOLUTION' });
    expect(foldOrder(g, oid('dup'))?.state).toBe('reserved');
    expect(cellView(g, F1, M1)).toMatchObject({ R: 3 });
    // An order without a conflict is the customer's alone.
    expect(reserve(g, ORIGINS.kiosk, order('solo', [[M1, 1]]))).toMatchObject({ ok: true });
    expect(settle(g, ORIGINS.kiosk, oid('solo'), 'cancelled', 3000, { customer: true })).toMatchObject({ ok: true, changed: true });
    // The operator's resolution settles the whole id.
    expect(settle(g, ORIGINS.kiosk, oid('dup'), 'cancelled', 3000)).toMatchObject({ ok: true, changed: true });
    syncAll(c1, g);
    expect(foldOrder(c1, oid('dup'))).toMatchObject({ state: 'cancelled', contentConflict: true });
    expect(cellView(c1, F1, M1)).toMatchObject({ R: 0 });
    // Both claims of `dup` (1 + 2) and the cancelled `solo` come back.
    expect(reconcileFridge(g, ORIGINS.reconciler, F1, { takerShare: 0 }, 3000)?.incremented).toBe(4);
  });

  it('expires only when every variant’s hold passed by its own taker’s clock', () => {
    const v = venue();
    syncAll(v.c1, v.g);
    reserve(v.g, ORIGINS.kiosk, order('dup', [[M1, 1]], 1000, 60_000));
    reserve(v.c1, ORIGINS.api, order('dup', [[M1, 2]], 1000, 10_000));
    syncAll(v.c1, v.g);
    const same = { offsetOf: () => 0 };
    expect(expireHolds(v.g, ORIGINS.reconciler, { now: 20_000, ...same })).toEqual([]);
    expect(expireHolds(v.c1, ORIGINS.api, { now: 20_000, ...same })).toEqual([]);
    expect(expireHolds(v.g, ORIGINS.reconciler, { now: 61_000, ...same })).toEqual([oid('dup')]);
  });
});

describe('hold expiry and pruning', () => {
  it('expires holds that passed, only those', () => {
    const { c1 } = venue();
    reserve(c1, ORIGINS.api, order('short', [[M1, 1]], 1000, 10));
    reserve(c1, ORIGINS.api, order('long', [[M1, 1]], 1000, 100_000));
    expect(expireHolds(c1, ORIGINS.api, { now: 1010 })).toEqual([oid('short')]);
    expect(foldOrder(c1, oid('short'))?.state).toBe('expired');
    expect(foldOrder(c1, oid('long'))?.state).toBe('reserved');
    expect(expireHolds(c1, ORIGINS.api, { now: 1011 })).toEqual([]);
  });

  it('another taker’s hold is judged by its clock: a measured offset, its retirement, or the unknown-clock grace', () => {
    const { c1, g } = venue();
    // A kiosk order at g (the gateway's clock reads 1 000 at creation, hold 60 s).
    reserve(g, ORIGINS.kiosk, order('k', [[M1, 1]], 1000, 60_000));
    syncAll(c1, g);
    const ko = foldOrder(c1, oid('k'))!;
    // c1's clock 10 s behind the gateway's, measured: due only once the gateway's clock passes 61 000.
    const measured = { offsetOf: () => 10_000, marginMs: 500 };
    expect(holdDue(c1, ko, C1, { now: 51_000, ...measured })).toBe(false);
    expect(holdDue(c1, ko, C1, { now: 51_500, ...measured })).toBe(true);
    // Unknown clock: the taker decides, unless it stays silent for the grace past the hold.
    expect(holdDue(c1, ko, C1, { now: 61_000 })).toBe(false);
    expect(holdDue(c1, ko, C1, { now: 61_000 + DEFAULT_UNKNOWN_CLOCK_GRACE_MS })).toBe(true);
    expect(holdDue(c1, ko, C1, { now: 70_000, unknownGraceMs: 9_000 })).toBe(true);
    // The taker itself: its own clock.
    expect(holdDue(g, ko, GW1, { now: 60_999 })).toBe(false);
    expect(holdDue(g, ko, GW1, { now: 61_000 })).toBe(true);
    // A retired taker has no clock left: the judging replica's decides.
    c1.transact(T, (w) => retire(w, GW1, 62_000));
    expect(holdDue(c1, ko, C1, { now: 61_000 })).toBe(true);
    expect(holdDue(c1, ko, C1, { now: 60_000 })).toBe(false);
  });

  it('pruning after retention never resurrects an order: replicas adopt the terminal state first', () => {
    const { c1, g } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    syncAll(c1, g);
    // g recorded a reservation-state view of its own (e.g. it touched the order), then c1 cancels.
    g.transact(T, (w) => w.set(`o/a`, { f: F1, s: 0, t: 1500 }));
    settle(c1, ORIGINS.api, oid('a'), 'cancelled', 2000);
    syncAll(c1, g);
    // Too early to prune; g adopts the terminal state into its own entry.
    expect(maintainOrders(g, ORIGINS.api, 2500, 60_000)).toEqual({ adopted: 1, pruned: 0 });
    syncAll(c1, g);
    expect(maintainOrders(c1, ORIGINS.api, 100_000, 60_000).pruned).toBe(1);
    syncAll(c1, g);
    expect(maintainOrders(g, ORIGINS.api, 100_000, 60_000).pruned).toBe(1);
    syncAll(c1, g);
    for (const d of [c1, g]) {
      expect(foldOrder(d, oid('a'))).toBeUndefined();
      expect(cellView(d, F1, M1).R).toBe(0);
    }
  });

  it('does not prune while any replica still records the order as reserved', () => {
    const { c1, g } = venue();
    reserve(c1, ORIGINS.api, order('a', [[M1, 1]]));
    syncAll(c1, g);
    settle(g, ORIGINS.api, oid('a'), 'cancelled', 2000);
    syncAll(c1, g);
    // c1's own creation entry still says reserved until it adopts: g must not prune yet.
    expect(maintainOrders(g, ORIGINS.api, 1_000_000, 60_000).pruned).toBe(0);
    expect(foldOrder(g, oid('a'))?.state).toBe('cancelled');
  });
});
