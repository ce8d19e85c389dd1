/**
 * Reconciliation and rights placement: the reconciler keeps S = max(0, T_eff − R), reports
 * shortages with the affected orders, recalls rights it lacks, grants by policy and answers requests.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RIGHTS_POLICY,
  ORIGINS,
  RecallBackoff,
  activeTakers,
  answerRecalls,
  cellView,
  declareTaker,
  requestOpen,
  recordSnapshot,
  reconcileFridge,
  reconcileFridges,
  rightsRequests,
  requestRights,
  reserve,
  rightsOf,
  type FridgeId,
  type TakerClocks,
  type MealId,
  type VenueDoc,
} from '@fridgesync/shared';
import { C1, C2, F1, F2, GW1, GW2, M1, M2, T, captureUpdates, configureFridge, inv, newDoc, oid, syncAll } from './support/fixtures.ts';

const now = 10_000;
const SAME_CLOCK: TakerClocks = { offsetOf: () => 0 };

/** c1, c2 (takers), g1 (reconciler of f1), g2 (HA standby). */
function venue(share = 0.8) {
  const c1 = newDoc(C1, 1);
  const c2 = newDoc(C2, 2);
  const g1 = newDoc(GW1, 11);
  const g2 = newDoc(GW2, 21);
  configureFridge(c1, F1, 'g1');
  c1.transact(T, (w) => declareTaker(w, true, 1));
  c2.transact(T, (w) => declareTaker(w, true, 1));
  syncAll(c1, c2, g1, g2);
  const policy = { takerShare: share };
  const all = [c1, c2, g1, g2];
  const hear = (p: ReturnType<typeof inv>) => {
    for (const g of [g1, g2]) g.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, p));
  };
  /** Central's clock measured equal to the gateway's (offset 0) unless a test says otherwise. */
  const rec = (at = now, clocks: TakerClocks = SAME_CLOCK) => reconcileFridge(g1, ORIGINS.reconciler, F1, policy, at, undefined, clocks);
  return { c1, c2, g1, g2, all, hear, rec, sync: () => syncAll(...all) };
}

const cell = (d: VenueDoc) => cellView(d, F1, M1);

describe('reconcileFridge', () => {
  it('stocks a delivery as an increment and grants the takers their share', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    expect(v.rec()).toMatchObject({ incremented: 10, decremented: 0, granted: 8 });
    v.sync();
    expect(activeTakers(v.c1)).toEqual([C1, C2]);
    for (const d of v.all) {
      expect(cell(d)).toMatchObject({ T: 10, Teff: 10, R: 0, S: 10, drift: 0, shortage: 0 });
      expect(cell(d).rights).toEqual({ [C1]: 4, [C2]: 4, [GW1]: 2 });
    }
  });

  it('only the assigned reconciler corrects: the HA standby and takers return undefined', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    expect(reconcileFridge(v.g2, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, now)).toBeUndefined();
    expect(reconcileFridge(v.c1, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, now)).toBeUndefined();
    expect(cell(v.g2).S).toBe(0);
    expect(cell(v.g2).drift).toBe(10);
  });

  it('a walk-in is a decrement within the reconciler’s rights; a reservation causes no correction', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    v.rec();
    v.sync();
    expect(reserve(v.c1, ORIGINS.api, { orderId: oid('a'), fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: now * 10, now })).toMatchObject({ ok: true });
    v.sync();
    expect(v.rec()).toMatchObject({ incremented: 0, decremented: 0 });
    v.hear(inv(1, 2, 2000, { m1: 9 })); // a walk-in took one
    expect(v.rec()).toMatchObject({ decremented: 1 });
    v.sync();
    expect(cell(v.c1)).toMatchObject({ T: 9, R: 2, S: 7, drift: 0 });
  });

  it('recalls rights from takers when short, and finishes once they answer', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    v.rec();
    v.sync();
    v.hear(inv(1, 2, 2000, { m1: 1 })); // nine taken by walk-ins; the reconciler holds only 2
    const r1 = v.rec();
    expect(r1).toMatchObject({ decremented: 2, recalled: 7 });
    v.sync();
    expect(cell(v.c1).S).toBe(8);
    expect(answerRecalls(v.c1, ORIGINS.reconciler) + answerRecalls(v.c2, ORIGINS.reconciler)).toBe(7);
    expect(answerRecalls(v.c1, ORIGINS.reconciler)).toBe(0); // answered once
    v.sync();
    expect(v.rec()).toMatchObject({ decremented: 7 });
    v.sync();
    for (const d of v.all) expect(cell(d)).toMatchObject({ T: 1, S: 1, drift: 0 });
  });

  it('surfaces a real shortage with the affected (newest) orders, never a negative S', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 4 }));
    v.rec();
    v.sync();
    const a = reserve(v.c1, ORIGINS.api, { orderId: oid('a'), fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: now * 10, now });
    const b = reserve(v.c2, ORIGINS.api, { orderId: oid('b'), fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: now * 10, now: now + 1 });
    expect([a.ok, b.ok]).toEqual([true, true]);
    v.sync();
    v.hear(inv(1, 2, 2000, { m1: 1 })); // walk-ins took reserved meals
    expect(v.rec()?.shortages).toEqual([{ meal: M1, units: 1, orders: [oid('b')] }]);
    v.sync();
    for (const d of v.all) expect(cell(d)).toMatchObject({ Teff: 1, R: 2, S: 0, shortage: 1, affectedOrders: [oid('b')] });
  });

  it('expires due holds and returns their units to S', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 5 }));
    v.rec();
    v.sync();
    reserve(v.c1, ORIGINS.api, { orderId: oid('a'), fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: now + 5, now });
    v.sync();
    const r = v.rec(now + 10);
    expect(r).toMatchObject({ expired: [oid('a')], incremented: 2 });
    v.sync();
    expect(cell(v.c2)).toMatchObject({ R: 0, S: 5 });
  });

  it('judges a central order’s hold by central’s clock (measured offset), never by its own', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 5 }));
    v.rec();
    v.sync();
    const hour = 3_600_000;
    // Central's clock reads `now`; the gateway's runs an hour ahead (offset central − gateway = −1 h).
    reserve(v.c1, ORIGINS.api, { orderId: oid('a'), fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: now + 900_000, now });
    v.sync();
    const ahead = { offsetOf: (t: string) => (t.startsWith('central:') ? -hour : undefined), marginMs: 1000 };
    expect(v.rec(now + hour + 10_000, ahead)?.expired).toEqual([]);
    expect(cell(v.g1)).toMatchObject({ R: 2 });
    // Without a measured offset the gateway waits for the unknown-clock grace, then decides.
    expect(v.rec(now + hour + 10_000, {})?.expired).toEqual([]);
    expect(v.rec(now + 900_000 + 2 * hour, {})?.expired).toEqual([oid('a')]);
  });

  it('expires a central order when central’s clock (as measured) passes its hold, with the gateway an hour behind', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 5 }));
    v.rec();
    v.sync();
    const hour = 3_600_000;
    // Central's clock reads `now + 1 h` when the gateway's reads `now`.
    reserve(v.c1, ORIGINS.api, { orderId: oid('a'), fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: now + hour + 900_000, now: now + hour });
    v.sync();
    const behind = { offsetOf: (t: string) => (t.startsWith('central:') ? hour : undefined), marginMs: 1000 };
    expect(v.rec(now + 1000, behind)?.expired).toEqual([]);
    expect(v.rec(now + 900_000 - 1000, behind)?.expired).toEqual([]);
    // Due 15 min after creation by central's clock (plus the margin), not an hour late by the gateway's.
    expect(v.rec(now + 900_000 + 1000, behind)?.expired).toEqual([oid('a')]);
  });

  it('answers a taker’s request once, within its own rights', () => {
    const v = venue(0); // no automatic grants
    v.hear(inv(1, 1, 1000, { m1: 5 }));
    v.rec();
    v.c1.transact(T, (w) => requestRights(w, F1, M1, 3));
    v.sync();
    expect(requestOpen(v.c1, C1, F1, M1)).toBe(true);
    expect(v.rec()).toMatchObject({ granted: 3 });
    expect(v.rec()).toMatchObject({ granted: 0 });
    v.sync();
    expect(rightsOf(v.c1, C1, F1, M1)).toBe(3);
    expect(requestOpen(v.c1, C1, F1, M1)).toBe(false);
  });

  it('grants by policy: share 0.5 splits half of S evenly', () => {
    const v = venue(0.5);
    v.hear(inv(1, 1, 1000, { m1: 9 }));
    v.rec();
    v.sync();
    expect(cell(v.c1).rights).toEqual({ [C1]: 2, [C2]: 2, [GW1]: 5 });
  });
});

describe('RecallBackoff (top-ups pause after a recall)', () => {
  it('after a recall the cell gets no top-up until the pause ends; requests are still answered', () => {
    const v = venue(); // c1 and c2 take 40% each
    const backoff = new RecallBackoff(1000, 8000);
    const rec = (at: number) => reconcileFridge(v.g1, ORIGINS.reconciler, F1, { takerShare: 0.8 }, at, backoff);
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    expect(rec(now)).toMatchObject({ granted: 8 });
    v.sync();
    v.hear(inv(1, 2, 2000, { m1: 1 })); // nine gone: 2 decremented, 7 recalled
    expect(rec(now + 100)).toMatchObject({ decremented: 2, recalled: 7 });
    expect(backoff.pauseOf(F1, M1, now + 100)).toBe(1000);
    v.sync();
    answerRecalls(v.c1, ORIGINS.reconciler);
    answerRecalls(v.c2, ORIGINS.reconciler);
    v.sync();
    v.hear(inv(1, 3, 3000, { m1: 11 })); // restocked at once: S 8 → 11, all of it kept
    expect(rec(now + 200)).toMatchObject({ incremented: 3, granted: 0 });
    v.sync();
    expect(cell(v.c1)).toMatchObject({ S: 11 });
    expect(cell(v.c1).rights).toEqual({ [C2]: 1, [GW1]: 10 });
    // A taker that runs short asks, and is answered during the pause.
    v.c2.transact(T, (w) => requestRights(w, F1, M1, 2));
    v.sync();
    expect(rec(now + 300)).toMatchObject({ granted: 2 });
    v.sync();
    expect(rec(now + 1099)).toMatchObject({ granted: 0 });
    // The first pass after the pause tops both takers up to their share again (4 each of 11).
    expect(rec(now + 1100)).toMatchObject({ granted: 5 });
    v.sync();
    expect(cell(v.c1).rights).toEqual({ [C1]: 4, [C2]: 4, [GW1]: 3 });
  });

  it('a recall within twice the last pause doubles it up to the maximum; a cell quiet for a whole pause starts over', () => {
    const b = new RecallBackoff(1000, 3000);
    b.recalled(F1, M1, 0);
    expect([b.paused(F1, M1, 999), b.paused(F1, M1, 1000), b.paused(F2, M1, 500), b.paused(F1, M2, 500)]).toEqual([true, false, false, false]);
    b.recalled(F1, M1, 1500); // within 2 × 1000 of the first
    expect(b.pauseOf(F1, M1, 1500)).toBe(2000);
    b.recalled(F1, M1, 4000);
    expect(b.pauseOf(F1, M1, 4000)).toBe(3000); // capped
    b.recalled(F1, M1, 7500);
    expect(b.pauseOf(F1, M1, 7500)).toBe(3000);
    // Quiet from 10 500 (end of the pause) for a whole pause: the next recall starts at the base.
    b.recalled(F1, M1, 13_500);
    expect(b.pauseOf(F1, M1, 13_500)).toBe(1000);
    expect(b.pauseOf(F1, M1, 14_500)).toBe(0);
  });

  it('a base of 0 never pauses: every pass tops the takers up again', () => {
    const v = venue();
    const backoff = new RecallBackoff(0, 0);
    const rec = (at: number) => reconcileFridge(v.g1, ORIGINS.reconciler, F1, { takerShare: 0.8 }, at, backoff);
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    rec(now);
    v.sync();
    v.hear(inv(1, 2, 2000, { m1: 1 }));
    expect(rec(now + 100)).toMatchObject({ recalled: 7 });
    v.sync();
    answerRecalls(v.c1, ORIGINS.reconciler);
    answerRecalls(v.c2, ORIGINS.reconciler);
    v.sync();
    v.hear(inv(1, 3, 3000, { m1: 11 }));
    expect(rec(now + 200)).toMatchObject({ granted: 7 });
  });
});

describe('reconcileFridges (several fridges in one pass)', () => {
  /** Two identical venues (same client ids) with drift on f1 and f2 and a due hold on f2. */
  function twin() {
    const c1 = newDoc(C1, 1);
    const g1 = newDoc(GW1, 11);
    configureFridge(c1, F1, 'g1');
    configureFridge(c1, F2, 'g1');
    c1.transact(T, (w) => declareTaker(w, true, 1));
    syncAll(c1, g1);
    g1.transact(ORIGINS.mqtt, (w) => {
      recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 6, m2: 2 }));
      recordSnapshot(w, F2, inv(1, 1, 1000, { m1: 3 }));
    });
    reconcileFridge(g1, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, now);
    reconcileFridge(g1, ORIGINS.reconciler, F2, DEFAULT_RIGHTS_POLICY, now);
    syncAll(c1, g1);
    reserve(c1, ORIGINS.api, { orderId: oid('due'), fridgeId: F2, lines: [{ mealId: M1, qty: 2 }], holdUntil: now + 5, now });
    syncAll(c1, g1);
    g1.transact(ORIGINS.mqtt, (w) => {
      recordSnapshot(w, F1, inv(1, 2, 2000, { m1: 1, m2: 4 })); // walk-ins and a restock
      recordSnapshot(w, F2, inv(1, 2, 2000, { m1: 3 }));
    });
    return { c1, g1 };
  }

  it('writes what reconciling them one by one writes, in two transactions (expiries, then corrections)', () => {
    const one = twin();
    const batch = twin();
    const at = now + 10;
    const seq = [
      reconcileFridge(one.g1, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, at, undefined, SAME_CLOCK),
      reconcileFridge(one.g1, ORIGINS.reconciler, F2, DEFAULT_RIGHTS_POLICY, at, undefined, SAME_CLOCK),
    ];
    const updates = captureUpdates(batch.g1);
    const reports = reconcileFridges(batch.g1, ORIGINS.reconciler, [F1, F2, F1], DEFAULT_RIGHTS_POLICY, at, undefined, SAME_CLOCK);
    expect(reports).toEqual(seq);
    expect(reports.map((r) => r.fridge)).toEqual([F1, F2]);
    expect(reports[1]?.expired).toEqual([oid('due')]);
    expect(updates).toHaveLength(2);
    syncAll(one.c1, one.g1);
    syncAll(batch.c1, batch.g1);
    for (const f of [F1, F2]) {
      for (const m of [M1, M2]) {
        const want = cellView(one.c1, f, m);
        expect(cellView(batch.c1, f, m)).toEqual(want);
        expect(cellView(batch.g1, f, m)).toEqual(want);
      }
    }
    expect(cellView(batch.c1, F2, M1)).toMatchObject({ R: 0, S: 3, drift: 0 });
  });

  it('skips fridges this replica does not reconcile', () => {
    const { c1 } = twin();
    expect(reconcileFridges(c1, ORIGINS.reconciler, [F1, F2], DEFAULT_RIGHTS_POLICY, now)).toEqual([]);
  });
});

describe('rightsRequests', () => {
  it('a sold-out taker asks once per meal for the whole quantity; the reconciler never asks', () => {
    const v = venue(0); // no automatic grants: central holds nothing
    v.hear(inv(1, 1, 1000, { m1: 5, m2: 5 }));
    v.rec();
    v.sync();
    const lacking = [
      { mealId: M1, requested: 3 },
      { mealId: M2, requested: 2 },
    ];
    /** Writes the requests the rule asks for at `doc`'s replica; returns how many. */
    const ask = (doc: typeof v.c1, l: typeof lacking) => {
      const reqs = rightsRequests(doc, doc.replica!, F1, l);
      if (reqs.length > 0) doc.transact(T, (w) => reqs.forEach((r) => requestRights(w, F1, r.mealId, r.want)));
      return reqs;
    };
    expect(ask(v.c1, lacking)).toEqual([{ mealId: M1, want: 3 }, { mealId: M2, want: 2 }]);
    expect(v.c1.index.requests.get(F1)?.get(M1)?.get(C1)).toEqual([1, 3]);
    expect(ask(v.c1, lacking)).toEqual([]); // still open
    expect(ask(v.g1, lacking)).toEqual([]); // the reconciler
    v.sync();
    expect(v.rec()).toMatchObject({ granted: 5 });
    v.sync();
    expect(rightsOf(v.c1, C1, F1, M1)).toBe(3);
    expect(ask(v.c1, [{ mealId: M1, requested: 1 }])).toEqual([{ mealId: M1, want: 1 }]); // answered: may ask again
  });
});

describe('answerRecalls', () => {
  it('looks only at the cells it is given (a change summary\'s recalls), and only at recalls addressed to this replica', () => {
    const v = venue();
    v.hear(inv(1, 1, 1000, { m1: 10 }));
    v.rec();
    v.sync();
    v.hear(inv(1, 2, 2000, { m1: 1 }));
    expect(v.rec()).toMatchObject({ recalled: 7 });
    const changed = new Map<FridgeId, Set<MealId>>();
    const off = v.c1.onChange((s) => {
      for (const [f, meals] of s.recalls) for (const m of meals) (changed.get(f) ?? changed.set(f, new Set()).get(f)!).add(m);
    });
    v.sync();
    off();
    expect(changed).toEqual(new Map([[F1, new Set([M1])]]));
    expect(v.c1.index.recallsTo.get(C1)?.get(F1)).toEqual(new Set([M1]));
    expect(v.g1.index.recallsTo.has(GW1)).toBe(false);
    expect(answerRecalls(v.c1, ORIGINS.reconciler, new Map([[F2, new Set([M1])]]))).toBe(0);
    expect(answerRecalls(v.c1, ORIGINS.reconciler, new Map([[F1, new Set([M2])]]))).toBe(0);
    expect(answerRecalls(v.c1, ORIGINS.reconciler, changed) + answerRecalls(v.c2, ORIGINS.reconciler, changed)).toBe(7);
  });
});
