/**
 * Fridge observations: observed totals `T` (max by `(boot, era, seq)`), the forgotten-boot era rule,
 * pickups newer than the snapshot, and an HA pair of gateways hearing the same fridge.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import {
  ORIGINS,
  cellView,
  eraFor,
  eraReference,
  foldOrder,
  observedSnapshot,
  pendingPickups,
  recordPickup,
  recordSnapshot,
  recordSnapshots,
  reserve,
  snapshotRun,
  writeSnapshot,
  type SnapshotRun,
  type SnapshotValue,
  type InventoryPayload,
  type VenueDoc,
} from '@fridgesync/shared';
import { C1, F1, GW1, GW2, M1, M2, T, configureFridge, inv, newDoc, oid, pick, syncAll, syncInto } from './support/fixtures.ts';

const snap = (d: VenueDoc, p: InventoryPayload) => d.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, p));
const tOf = (d: VenueDoc, meal = M1) => cellView(d, F1, meal);

describe('observed totals T', () => {
  it('keeps the snapshot with the greatest (boot, seq), whatever the arrival order', () => {
    const msgs = [inv(1, 1, 1000, { m1: 5 }), inv(1, 2, 2000, { m1: 4 }), inv(2, 0, 3000, { m1: 9 }), inv(1, 3, 2500, { m1: 1 })];
    const orders = [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [2, 0, 3, 1],
    ];
    for (const order of orders) {
      const d = newDoc(GW1, 11);
      const outcomes = order.map((k) => snap(d, msgs[k]!));
      expect(tOf(d).T).toBe(9);
      expect(observedSnapshot(d, F1)).toMatchObject({ b: 2, q: 0 });
      expect(outcomes.filter((o) => o === 'applied').length).toBeGreaterThan(0);
    }
  });

  it('changes nothing for other totals under a tag already seen, at the same or an earlier time', () => {
    for (const items of [{ m1: 1 }, { m1: 9 }]) {
      const d = newDoc(GW1, 11);
      expect(snap(d, inv(1, 2, 2000, { m1: 5 }))).toBe('applied');
      expect(snap(d, inv(1, 2, 2000, items))).toBe('stale');
      expect(snap(d, inv(1, 2, 1999, items))).toBe('stale');
      expect(tOf(d).T).toBe(5);
    }
  });

  it('treats a meal absent from the snapshot as 0 (full totals)', () => {
    const d = newDoc(GW1, 11);
    snap(d, inv(1, 1, 1000, { m1: 5, m2: 2 }));
    snap(d, inv(1, 2, 2000, { m1: 5 }));
    expect(tOf(d, M2).T).toBe(0);
  });

  it('ignores duplicates and replays: stale, nothing written', () => {
    const d = newDoc(GW1, 11);
    snap(d, inv(1, 5, 5000, { m1: 3 }));
    const before = d.ydoc.store.clients.get(11)?.length;
    expect(snap(d, inv(1, 5, 5000, { m1: 3 }))).toBe('stale');
    expect(snap(d, inv(1, 4, 4000, { m1: 8 }))).toBe('stale');
    expect(d.ydoc.store.clients.get(11)?.length).toBe(before);
    expect(tOf(d).T).toBe(3);
  });

  it('an HA pair hearing the same fridge does not double count, and both fold the same', () => {
    const g1 = newDoc(GW1, 11);
    const g2 = newDoc(GW2, 21);
    for (const g of [g1, g2]) snap(g, inv(1, 1, 1000, { m1: 4 }));
    snap(g2, inv(1, 2, 2000, { m1: 3 }));
    syncAll(g1, g2);
    expect(tOf(g1).T).toBe(3);
    expect(tOf(g2)).toEqual(tOf(g1));
    // Two gateways writing different contents under the same tag: a deterministic tie-break.
    const a = newDoc(GW1, 31);
    const b = newDoc(GW2, 32);
    snap(a, inv(1, 7, 7000, { m1: 1 }));
    snap(b, inv(1, 7, 7000, { m1: 2 }));
    syncAll(a, b);
    expect(tOf(a).T).toBe(tOf(b).T);
  });
});

describe('forgotten boot counter (era rule)', () => {
  it('a sequence that goes back while time goes on opens a new era', () => {
    const d = newDoc(GW1, 11);
    snap(d, inv(1, 2000, 1000, { m1: 5 }));
    expect(snap(d, inv(1, 0, 2000, { m1: 1 }))).toBe('applied');
    expect(observedSnapshot(d, F1)).toMatchObject({ b: 1, e: 1, q: 0 });
    expect(tOf(d).T).toBe(1);
  });

  it('recognises a reset while the old sequence was still low (regression)', () => {
    // Before the fix, the sequence had to fall by more than 1000: these reports were ignored as stale.
    const d = newDoc(GW1, 11);
    snap(d, inv(1, 5, 1000, { m1: 5 }));
    expect(snap(d, inv(1, 0, 2000, { m1: 1 }))).toBe('applied');
    expect(snap(d, inv(1, 1, 3000, { m1: 2 }))).toBe('applied');
    expect(tOf(d).T).toBe(2);
  });

  it('a late pre-reboot message never overtakes the post-reboot era (regression)', () => {
    const d = newDoc(GW1, 11);
    snap(d, inv(1, 3, 1000, { m1: 5 }));
    snap(d, inv(1, 0, 5000, { m1: 1 })); // reset: era 1
    expect(snap(d, inv(1, 4, 1500, { m1: 7 }))).toBe('stale'); // sent before the reboot, delivered late
    expect(tOf(d).T).toBe(1);
    expect(eraFor(observedSnapshot(d, F1), 1, 4, 1500)).toBe(0);
  });

  it('a reset is recognised against a newer pending pickup when the snapshot before it was never heard (regression)', () => {
    // Before the fix, the post-reboot snapshot was compared with the older snapshot only: the
    // pre-reboot pickup stayed "newer" and was subtracted from T_eff until the sequence overtook it.
    const c = newDoc(C1, 1);
    configureFridge(c, F1, 'g1');
    const d = newDoc(GW1, 11);
    syncInto(d, c);
    snap(d, inv(1, 0, 1000, { m1: 8 })); // the first report after boot
    d.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, pick(1, 40, 4000, 'o1', { m1: 1 }), 4000));
    expect(tOf(d)).toMatchObject({ T: 8, Teff: 7 });
    // Snapshot seq 39 (pre-reboot) lost; the fridge forgot its boot counter and restarts: seq 1 > 0.
    expect(snap(d, inv(1, 1, 5000, { m1: 7 }))).toBe('applied');
    expect(tOf(d)).toMatchObject({ T: 7, Teff: 7 });
    expect(pendingPickups(d, F1).size).toBe(0);
  });

  it('two gateways that have synced label the same message alike', () => {
    const g1 = newDoc(GW1, 11);
    const g2 = newDoc(GW2, 21);
    snap(g1, inv(1, 9, 1000, { m1: 5 }));
    syncAll(g1, g2);
    const p = inv(1, 0, 2000, { m1: 2 });
    snap(g1, p);
    snap(g2, p);
    expect(observedSnapshot(g1, F1)).toEqual(observedSnapshot(g2, F1));
    syncAll(g1, g2);
    expect(tOf(g1)).toEqual(tOf(g2));
  });

  it('a new boot number starts era 0 and wins over any sequence of the old boot', () => {
    expect(eraFor(undefined, 1, 5, 1)).toBe(0);
    const d = newDoc(GW1, 11);
    snap(d, inv(1, 999, 1000, { m1: 5 }));
    snap(d, inv(2, 0, 900, { m1: 3 }));
    expect(tOf(d).T).toBe(3);
  });
});

describe('pickups', () => {
  function withOrder() {
    const c = newDoc(C1, 1);
    configureFridge(c, F1, 'g1');
    const g = newDoc(GW1, 11);
    syncInto(g, c);
    snap(g, inv(1, 1, 1000, { m1: 5 }));
    g.transact(T, (w) => w.set(`c/${F1}/${M1}`, [5, 0]));
    const r = reserve(g, ORIGINS.kiosk, { orderId: oid('o1'), fridgeId: F1, lines: [{ mealId: M1, qty: 2 }], holdUntil: 10_000, now: 1000 });
    expect(r.ok).toBe(true);
    return g;
  }

  it('a pickup newer than the snapshot is subtracted until a snapshot covers it, then pruned', () => {
    const g = withOrder();
    const out = g.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, pick(1, 2, 2000, 'o1', { m1: 2 }), 2000));
    expect(out).toEqual({ pickup: 'recorded', order: 'settled' });
    expect(tOf(g)).toMatchObject({ T: 5, Teff: 3, R: 0 });
    expect(foldOrder(g, oid('o1'))?.state).toBe('picked_up');
    snap(g, inv(1, 3, 3000, { m1: 3 }));
    expect(pendingPickups(g, F1).size).toBe(0);
    expect(tOf(g)).toMatchObject({ T: 3, Teff: 3 });
    expect(g.get(GW1, `p/${F1}/o1`)).toBeUndefined();
  });

  it('a pickup older than the snapshot is covered (already in T) and a duplicate changes nothing', () => {
    const g = withOrder();
    snap(g, inv(1, 5, 5000, { m1: 3 }));
    const out = g.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, pick(1, 4, 4000, 'o1', { m1: 2 }), 5000));
    expect(out.pickup).toBe('covered');
    expect(tOf(g).Teff).toBe(3);
    const g2 = withOrder();
    const p = pick(1, 2, 2000, 'o1', { m1: 2 });
    g2.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, p, 2000));
    const again = g2.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, p, 2001));
    expect(again).toEqual({ pickup: 'duplicate', order: 'already-picked-up' });
    expect(tOf(g2).Teff).toBe(3);
  });

  it('the HA pair both recording the same pickup subtracts it once', () => {
    const g = withOrder();
    const h = newDoc(GW2, 21);
    syncInto(h, g);
    const p = pick(1, 2, 2000, 'o1', { m1: 2 });
    g.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, p, 2000));
    h.transact(ORIGINS.mqtt, (w) => recordPickup(w, F1, p, 2000));
    syncAll(g, h);
    expect(tOf(g).Teff).toBe(3);
    expect(tOf(h).Teff).toBe(3);
  });
});

describe('several snapshots of a fridge recorded together', () => {
  type Op = { by: 'own' | 'other'; kind: 'snap' | 'pick'; boot: number; seq: number; ms: number; order: string; units: number };
  const tag = { boot: fc.integer({ min: 1, max: 2 }), seq: fc.integer({ min: 0, max: 6 }), ms: fc.integer({ min: 1, max: 6 }).map((s) => s * 1000) };
  const opArb: fc.Arbitrary<Op> = fc.record({
    by: fc.constantFrom('own' as const, 'other' as const),
    kind: fc.constantFrom('snap' as const, 'pick' as const),
    ...tag,
    order: fc.constantFrom('o1', 'o2', 'o3'),
    units: fc.integer({ min: 0, max: 3 }),
  });
  const snapArb = fc.record(tag).chain((t) => fc.integer({ min: 0, max: 3 }).map((units) => inv(t.boot, t.seq, t.ms, { m1: units })));

  /** The same starting state every time: this gateway's and an HA peer's earlier snapshots and pickups. */
  function start(history: Op[]): VenueDoc {
    const own = newDoc(GW1, 11);
    const other = newDoc(GW2, 21);
    for (const op of history) {
      const d = op.by === 'own' ? own : other;
      d.transact(ORIGINS.mqtt, (w) =>
        op.kind === 'snap' ? recordSnapshot(w, F1, inv(op.boot, op.seq, op.ms, { m1: op.units })) : recordPickup(w, F1, pick(op.boot, op.seq, op.ms, op.order, { m1: 1 }), op.ms),
      );
    }
    syncInto(own, other);
    return own;
  }

  it('gives every snapshot the outcome of recording them one by one, and ends in the same state writing one entry', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 6 }), fc.array(snapArb, { minLength: 1, maxLength: 6 }), (history, run) => {
        const oneByOne = start(history);
        const together = start(history);
        const expected = run.map((p) => snap(oneByOne, p));
        const before = Y.getState(together.ydoc.store, 11);
        const outcomes = together.transact(ORIGINS.mqtt, (w) => recordSnapshots(w, F1, run));
        expect(outcomes).toEqual(expected);
        expect(Object.fromEntries(together.entriesOf(GW1))).toEqual(Object.fromEntries(oneByOne.entriesOf(GW1)));
        expect(observedSnapshot(together, F1)).toEqual(observedSnapshot(oneByOne, F1));
        expect(eraReference(together, F1)).toEqual(eraReference(oneByOne, F1));
        expect(tOf(together)).toEqual(tOf(oneByOne));
        // One entry written (the newest applied snapshot) or none; deletions add no items.
        expect(Y.getState(together.ydoc.store, 11) - before).toBe(expected.includes('applied') ? 1 : 0);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('snapshots judged at arrival and written later (the gateway intake)', () => {
  /**
   * The intake's use of {@link snapshotRun}: a run is valid while the document's observations of
   * the fridge are unchanged; the newest snapshot judged applied counts as written until its write
   * has landed; a fold takes it, and its write lands later (arrivals may come in between).
   */
  class Intake {
    private run: SnapshotRun | undefined;
    private observations = -1;
    private unwritten: SnapshotValue | undefined;
    private held: SnapshotValue | undefined;
    private readonly inFlight: SnapshotValue[] = [];
    constructor(private readonly doc: VenueDoc) {}
    arrive(p: InventoryPayload): string {
      const n = this.doc.index.observations(F1);
      if (this.run === undefined || n !== this.observations) {
        this.run = snapshotRun(this.doc, this.doc.replica, F1, this.unwritten);
        this.observations = n;
      }
      const outcome = this.run.judge(p);
      if (outcome === 'applied') this.held = this.unwritten = this.run.newest;
      return outcome;
    }
    fold(): void {
      if (this.held !== undefined) this.inFlight.push(this.held);
      this.held = undefined;
    }
    land(): void {
      const v = this.inFlight.shift();
      if (v === undefined) return;
      this.doc.transact(ORIGINS.mqtt, (w) => writeSnapshot(w, F1, v));
      if (this.unwritten === v) this.unwritten = undefined;
    }
  }

  type Ev =
    | { e: 'arrive'; p: InventoryPayload }
    | { e: 'other-snap'; p: InventoryPayload }
    | { e: 'other-pick'; boot: number; seq: number; ms: number; order: string }
    | { e: 'fold' }
    | { e: 'land' };
  const tag = { boot: fc.integer({ min: 1, max: 2 }), seq: fc.integer({ min: 0, max: 6 }), ms: fc.integer({ min: 1, max: 6 }).map((s) => s * 1000) };
  const payload = fc.record(tag).chain((t) => fc.integer({ min: 0, max: 3 }).map((units) => inv(t.boot, t.seq, t.ms, { m1: units })));
  const evArb: fc.Arbitrary<Ev> = fc.oneof(
    { weight: 4, arbitrary: payload.map((p) => ({ e: 'arrive' as const, p })) },
    payload.map((p) => ({ e: 'other-snap' as const, p })),
    fc.record({ ...tag, order: fc.constantFrom('o1', 'o2') }).map((t) => ({ e: 'other-pick' as const, ...t })),
    { weight: 2, arbitrary: fc.constant({ e: 'fold' as const }) },
    { weight: 2, arbitrary: fc.constant({ e: 'land' as const }) },
  );

  it('gives every snapshot the outcome writing it at arrival would, and folds to the same observed state', () => {
    fc.assert(
      fc.property(fc.array(evArb, { minLength: 1, maxLength: 14 }), (events) => {
        const atArrival = newDoc(GW1, 11);
        const later = newDoc(GW1, 12);
        const other = newDoc(GW2, 21);
        const intake = new Intake(later);
        for (const ev of events) {
          if (ev.e === 'arrive') expect(intake.arrive(ev.p)).toBe(snap(atArrival, ev.p));
          else if (ev.e === 'fold') intake.fold();
          else if (ev.e === 'land') intake.land();
          else {
            other.transact(ORIGINS.mqtt, (w) =>
              ev.e === 'other-snap' ? recordSnapshot(w, F1, ev.p) : recordPickup(w, F1, pick(ev.boot, ev.seq, ev.ms, ev.order, { m1: 1 }), ev.ms),
            );
            syncInto(atArrival, other);
            syncInto(later, other);
          }
        }
        intake.fold();
        for (let i = 0; i < events.length; i++) intake.land();
        expect(observedSnapshot(later, F1)).toEqual(observedSnapshot(atArrival, F1));
        expect(eraReference(later, F1)).toEqual(eraReference(atArrival, F1));
        expect(tOf(later)).toEqual(tOf(atArrival));
      }),
      { numRuns: 3000 },
    );
  });
});
