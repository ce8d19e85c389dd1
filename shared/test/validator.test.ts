/**
 * The update validator: honest updates (incremental, full-state diffs with delete sets, replays)
 * are accepted; forged ones are rejected with the expected code; the live document never changes.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  DEFAULT_RIGHTS_POLICY,
  ORIGINS,
  allocateEpoch,
  cellView,
  declareTaker,
  decrement,
  increment,
  keys,
  MAX_HOLD_SECONDS,
  reconcileFridge,
  recordSnapshot,
  reserve,
  retire,
  transfer,
  validateUpdate,
  writeMeta,
  type ReplicaId,
  type VenueDoc,
} from '@fridgesync/shared';
import { C1, C2, F1, G1, GW1, GW1B, GW2, M1, T, captureUpdates, configureFridge, inv, newDoc, oid, syncInto } from './support/fixtures.ts';

/** Central c1 with the fridge configured, and gateway g1 synced from it. */
function setup() {
  const central = newDoc(C1, 1);
  configureFridge(central, F1, 'g1');
  central.transact(T, (w) => declareTaker(w, true, 1));
  const gw = newDoc(GW1, 11);
  syncInto(gw, central);
  const sent = captureUpdates(gw);
  return { central, gw, sent, sender: { replica: GW1, clients: new Set([11]) } };
}

/** The live document's full encoding, to show validation changed nothing. */
const fingerprint = (d: VenueDoc) => Buffer.from(Y.encodeStateAsUpdate(d.ydoc)).toString('base64');

function expectVerdict(central: VenueDoc, update: Uint8Array, sender: { replica: ReplicaId; clients: Set<number> }, code?: string) {
  const before = fingerprint(central);
  const v = validateUpdate(central, update, sender);
  expect(fingerprint(central)).toBe(before);
  if (code === undefined) expect(v).toMatchObject({ ok: true });
  else expect(v).toMatchObject({ ok: false, code });
  return v;
}

/** A gateway document that shares central's state (same client id as the honest gateway). */
function forger(central: VenueDoc, replica: ReplicaId, client: number) {
  const d = newDoc(replica, client, Y.encodeStateAsUpdate(central.ydoc));
  return { d, sent: captureUpdates(d) };
}

describe('validateUpdate accepts honest updates', () => {
  it('accepts incremental updates: snapshot, stock, a grant and later overwrites of the same keys', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 5 })));
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 1000);
    gw.transact(T, (w) => {
      recordSnapshot(w, F1, inv(1, 2, 2000, { m1: 7 }));
      increment(w, F1, M1, 2);
    });
    expect(sent.length).toBe(3);
    for (const u of sent) {
      expectVerdict(central, u, sender);
      central.applyUpdate(u, ORIGINS.upstream);
    }
  });

  it('accepts a state-vector diff (sync step 2) including the delete set of overwritten entries', () => {
    const { central, gw, sender } = setup();
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 5 })));
    for (let i = 0; i < 5; i++) gw.transact(T, (w) => increment(w, F1, M1, 1));
    gw.transact(T, (w) => decrement(w, F1, M1, 2));
    const diff = Y.encodeStateAsUpdate(gw.ydoc, Y.encodeStateVector(central.ydoc));
    expect(Y.decodeUpdate(diff).ds.clients.size).toBeGreaterThan(0);
    // Overwritten items travel as tombstones; only the live entry carries a value.
    expect(expectVerdict(central, diff, sender)).toMatchObject({ ok: true, entries: 2 });
  });

  it('accepts a full Y.encodeStateAsUpdate whose other-replica structs central already holds', () => {
    const { central, gw, sender } = setup();
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 3 })));
    gw.transact(T, (w) => increment(w, F1, M1, 3));
    expectVerdict(central, Y.encodeStateAsUpdate(gw.ydoc), sender);
  });

  it('accepts a correction against an HA partner’s snapshot that central has since replaced by a lower one', () => {
    // g1 heard nothing itself and reconciled against g2's snapshot (6 meals); before g1's increment
    // reaches central, g2's next snapshot (a walk-in took two) replaced it there.
    const { central, gw, sent, sender } = setup();
    const g2 = newDoc(GW2, 21, Y.encodeStateAsUpdate(central.ydoc));
    const g2sent = captureUpdates(g2);
    g2.transact(T, (w) => recordSnapshot(w, F1, inv(1, 5, 1000, { m1: 6 })));
    central.applyUpdate(g2sent.pop()!, ORIGINS.upstream);
    syncInto(gw, central);
    gw.transact(T, (w) => writeMeta(w, 'v', 1)); // g1's first entry: it is the reconciler
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 1000);
    g2.transact(T, (w) => recordSnapshot(w, F1, inv(1, 6, 2000, { m1: 4 })));
    central.applyUpdate(g2sent.pop()!, ORIGINS.upstream);
    expect(sent.length).toBeGreaterThan(0);
    expect(cellView(gw, F1, M1).S).toBe(6);
    expectVerdict(central, Y.mergeUpdates(sent), sender);
    central.applyUpdate(Y.mergeUpdates(sent), ORIGINS.upstream);
    expect(cellView(central, F1, M1)).toMatchObject({ T: 4, S: 6 });
  });

  it('accepts corrections of a reconciler that has not heard yet that its fridge was assigned to another gateway', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 5 })));
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 1000);
    for (const u of sent.splice(0)) central.applyUpdate(u, ORIGINS.upstream);
    // Offline, g1 hears a delivery and counts it in; meanwhile the operator moved f1 to g2.
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 2, 2000, { m1: 8 })));
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 2000);
    configureFridge(central, F1, 'g2', 5);
    expectVerdict(central, Y.mergeUpdates(sent), sender);
    // A gateway that never created rights for the fridge and does not reconcile it gains nothing.
    const g3 = 'gw:g3:1' as ReplicaId;
    const other = forger(central, g3, 31);
    other.d.transact(T, (w) => {
      recordSnapshot(w, F1, inv(1, 3, 3000, { m1: 9 }));
      increment(w, F1, M1, 1);
    });
    expect(expectVerdict(central, Y.mergeUpdates(other.sent), { replica: g3, clients: new Set([31]) })).toMatchObject({ ok: true, flags: [{ code: 'NOT_RECONCILER', fridge: F1, meal: M1 }] });
  });

  it('accepts, flagged and never refused, a reconciler’s diff after a partition in which a delivery was counted in, granted, and taken back after walk-ins', () => {
    // Central and g1 agree on 10 meals. Offline, g1 sees a delivery (20), increments and grants a
    // share to central; walk-ins follow (5), and g1 decrements and recalls. Its diff no longer
    // carries the 20-snapshot it replaced, so central sees rights above any snapshot it knows of.
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 10 })));
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 1000);
    for (const u of sent.splice(0)) central.applyUpdate(u, ORIGINS.upstream);
    syncInto(gw, central);
    sent.splice(0);
    expect(cellView(central, F1, M1)).toMatchObject({ T: 10, S: 10 });
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 2, 2000, { m1: 20 })));
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 2000);
    gw.transact(T, (w) => recordSnapshot(w, F1, inv(1, 3, 3000, { m1: 5 })));
    reconcileFridge(gw, ORIGINS.reconciler, F1, DEFAULT_RIGHTS_POLICY, 3000);
    const diff = Y.encodeStateAsUpdate(gw.ydoc, Y.encodeStateVector(central.ydoc));
    const v = expectVerdict(central, diff, sender);
    expect(v).toMatchObject({ ok: true, flags: [{ code: 'OVER_STOCK', fridge: F1, meal: M1 }] });
  });

  it('accepts a replay of an old update after the keys it set were overwritten (regression)', () => {
    // Before the fix, the replayed old value was judged against the newer one: NOT_FORWARD.
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    for (const u of sent) central.applyUpdate(u, ORIGINS.upstream);
    expectVerdict(central, sent[0]!, sender);
    expectVerdict(central, Y.mergeUpdates(sent), sender);
  });

  it('accepts a successor whose retirement of its predecessor and a decrement using the inherited rights come in one update (regression)', () => {
    // Before the fix, rights were judged before the retirement in the same update took effect.
    const { central, gw, sent } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 4));
    for (const u of sent) central.applyUpdate(u, ORIGINS.upstream);
    const next = newDoc(GW1B, 12);
    syncInto(next, central); // first full sync before writing anything
    next.transact(ORIGINS.lifecycle, (w) => {
      retire(w, GW1, 5);
      writeMeta(w, 'test', 5);
    });
    const r = reserve(next, ORIGINS.kiosk, { orderId: oid('k1'), fridgeId: F1, lines: [{ mealId: M1, qty: 3 }], holdUntil: 99, now: 5 });
    expect(r).toMatchObject({ ok: true, status: 'created' });
    const diff = Y.encodeStateAsUpdate(next.ydoc, Y.encodeStateVector(central.ydoc));
    expectVerdict(central, diff, { replica: GW1B, clients: new Set([12]) });
  });
});

describe('validateUpdate rejects forged updates', () => {
  it('rejects malformed bytes', () => {
    const { central, sender } = setup();
    expectVerdict(central, new Uint8Array([1, 2, 3, 250, 255, 7]), sender, 'MALFORMED');
  });

  it("rejects an update whose structs come from another replica's client id (FOREIGN_CLIENT)", () => {
    const { central, gw, sent } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    expectVerdict(central, sent[0]!, { replica: GW2, clients: new Set([21]) }, 'FOREIGN_CLIENT');
  });

  it("rejects a write into another replica's root (FOREIGN_STRUCTURE)", () => {
    const { central } = setup();
    const { d, sent } = forger(central, GW2, 21);
    d.ydoc.getArray(`r:${GW1}`).push([[keys.counter(F1, M1), [50, 0]]]);
    expectVerdict(central, sent[0]!, { replica: GW2, clients: new Set([21]) }, 'FOREIGN_STRUCTURE');
  });

  it("rejects an item placed with its origin in another replica's root (FOREIGN_STRUCTURE)", () => {
    const { central } = setup();
    const { d, sent } = forger(central, GW2, 21);
    // Insert into c1's array at position 1: parent resolves through the origin (c1's item).
    d.ydoc.getArray(`r:${C1}`).insert(1, [[keys.counter(F1, M1), [1, 0]]]);
    expectVerdict(central, sent[0]!, { replica: GW2, clients: new Set([21]) }, 'FOREIGN_STRUCTURE');
  });

  it("rejects deleting another replica's live item (FOREIGN_DELETE)", () => {
    const { central } = setup();
    const { d, sent } = forger(central, GW2, 21);
    d.ydoc.getArray(`r:${C1}`).delete(0, 1);
    expectVerdict(central, sent[0]!, { replica: GW2, clients: new Set([21]) }, 'FOREIGN_DELETE');
  });

  it('rejects a shrinking counter (NOT_FORWARD)', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 5));
    central.applyUpdate(sent[0]!, ORIGINS.upstream);
    const { d, sent: forged } = forger(central, GW1, 11);
    d.transact(T, (w) => w.set(keys.counter(F1, M1), [3, 0]));
    expectVerdict(central, forged[0]!, sender, 'NOT_FORWARD');
  });

  it('rejects deleting a counter entry without replacing it (NOT_FORWARD)', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 5));
    central.applyUpdate(sent[0]!, ORIGINS.upstream);
    const { d, sent: forged } = forger(central, GW1, 11);
    d.transact(T, (w) => w.delete(keys.counter(F1, M1)));
    expectVerdict(central, forged[0]!, sender, 'NOT_FORWARD');
  });

  it('rejects a decrement beyond rights and a transfer beyond rights (RIGHTS_NEGATIVE)', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 2));
    central.applyUpdate(sent[0]!, ORIGINS.upstream);
    const a = forger(central, GW1, 11);
    a.d.transact(T, (w) => w.set(keys.counter(F1, M1), [2, 3]));
    expectVerdict(central, a.sent[0]!, sender, 'RIGHTS_NEGATIVE');
    const b = forger(central, GW1, 11);
    b.d.transact(T, (w) => w.set(keys.xfer(F1, M1, C2), [3, 0]));
    expectVerdict(central, b.sent[0]!, sender, 'RIGHTS_NEGATIVE');
    // Within rights the same shapes pass: the check is not over-eager.
    const c = forger(central, GW1, 11);
    c.d.transact(T, (w) => transfer(w, F1, M1, C2, 2));
    expectVerdict(central, c.sent[0]!, sender);
  });

  it('rejects a central replica incrementing stock and gateway-only keys from central (NOT_PERMITTED)', () => {
    const { central } = setup();
    const sender = { replica: C2, clients: new Set([2]) };
    const a = forger(central, C2, 2);
    a.d.transact(T, (w) => increment(w, F1, M1, 1));
    expectVerdict(central, a.sent[0]!, sender, 'NOT_PERMITTED');
    const b = forger(central, C2, 2);
    b.d.transact(T, (w) => recordSnapshot(w, F1, inv(1, 1, 1000, { m1: 1 })));
    expectVerdict(central, b.sent[0]!, sender, 'NOT_PERMITTED');
  });

  it('rejects central-only keys (config) from a gateway and retiring a replica it may not (NOT_PERMITTED)', () => {
    const { central, sender } = setup();
    const a = forger(central, GW1, 11);
    configureFridge(a.d, F1, 'g1', 5);
    expectVerdict(central, a.sent[0]!, sender, 'NOT_PERMITTED');
    const b = forger(central, GW1, 11);
    b.d.transact(T, (w) => retire(w, GW2, 5));
    expectVerdict(central, b.sent[0]!, sender, 'NOT_PERMITTED');
    // An epoch allocation is central's to write: a gateway cannot allocate itself an epoch.
    const c = forger(central, GW1, 11);
    c.d.transact(T, (w) => allocateEpoch(w, G1, 9, 5));
    expectVerdict(central, c.sent[0]!, sender, 'NOT_PERMITTED');
  });

  it('rejects nested types and text content (BAD_CONTENT / FOREIGN_STRUCTURE)', () => {
    const { central, sender } = setup();
    const a = forger(central, GW1, 11);
    a.d.ydoc.getArray(`r:${GW1}`).push([new Y.Map()]);
    expectVerdict(central, a.sent[0]!, sender, 'BAD_CONTENT');
    const b = forger(central, GW1, 11);
    b.d.ydoc.getText(`r:${GW1}`).insert(0, 'hello');
    expectVerdict(central, b.sent[0]!, sender, 'BAD_CONTENT');
    const c = forger(central, GW1, 11);
    c.d.ydoc.getMap(`r:${GW1}`).set(keys.counter(F1, M1), [1, 0]);
    expectVerdict(central, c.sent[0]!, sender, 'FOREIGN_STRUCTURE');
  });

  it('rejects values outside the schema and keys outside the grammar (BAD_VALUE)', () => {
    const { central, sender } = setup();
    const a = forger(central, GW1, 11);
    a.d.ydoc.getArray(`r:${GW1}`).push([[keys.counter(F1, M1), [-1, 0]]]);
    expectVerdict(central, a.sent[0]!, sender, 'BAD_VALUE');
    const b = forger(central, GW1, 11);
    b.d.ydoc.getArray(`r:${GW1}`).push([['zz/top', 1]]);
    expectVerdict(central, b.sent[0]!, sender, 'BAD_VALUE');
  });

  it('rejects an order held longer than the maximum hold after its creation (HOLD_TOO_LONG), and lines without a creation time (BAD_VALUE)', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 4));
    for (const u of sent) central.applyUpdate(u, ORIGINS.upstream);
    const now = 1_700_000_000_000;
    // One day exactly is the longest hold the API grants: accepted.
    const ok = forger(central, GW1, 11);
    reserve(ok.d, ORIGINS.kiosk, { orderId: oid('day'), fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: now + MAX_HOLD_SECONDS * 1000, now });
    expectVerdict(central, Y.mergeUpdates(ok.sent), sender);
    // A hold a year out would pin the order's units: refused, nothing applied.
    const pin = forger(central, GW1, 11);
    reserve(pin.d, ORIGINS.kiosk, { orderId: oid('pin'), fridgeId: F1, lines: [{ mealId: M1, qty: 1 }], holdUntil: now + 365 * 86_400_000, now });
    expectVerdict(central, Y.mergeUpdates(pin.sent), sender, 'HOLD_TOO_LONG');
    // Dropping the creation time to dodge the bound: refused.
    const bare = forger(central, GW1, 11);
    bare.d.transact(T, (w) => w.set(keys.order(oid('bare')), { f: F1, s: 0, t: now, l: [[M1, 1]], h: now + 365 * 86_400_000 }));
    expectVerdict(central, bare.sent[0]!, sender, 'BAD_VALUE');
  });

  it('rejects writes of a retired replica after its retirement (RETIRED)', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    gw.transact(T, (w) => retire(w, GW1, 5));
    for (const u of sent) central.applyUpdate(u, ORIGINS.upstream);
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    expectVerdict(central, sent.at(-1)!, sender, 'RETIRED');
  });

  it('defers an update whose origin has not arrived (MISSING_DEPENDENCY)', () => {
    const { central, gw, sent, sender } = setup();
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    gw.transact(T, (w) => increment(w, F1, M1, 1));
    expectVerdict(central, sent[1]!, sender, 'MISSING_DEPENDENCY');
  });
});
