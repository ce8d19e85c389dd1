import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { VenueDoc, encodeOwnDiff, gatewayReplicaId, centralReplicaId, GatewayIdSchema, InstanceIdSchema, FridgeIdSchema, MealIdSchema, increment, ORIGINS, recordSnapshot, validateUpdate, sellable } from '@fridgesync/shared';
import { configureFridge, inv } from './support/fixtures.ts';

describe('encodeOwnDiff', () => {
  it('carries only the sender own structs and passes the validator', () => {
    const g = gatewayReplicaId(GatewayIdSchema.parse('g1'), 1);
    const c = centralReplicaId(InstanceIdSchema.parse('c1'));
    const f = FridgeIdSchema.parse('f1');
    const m = MealIdSchema.parse('m1');
    const central = new VenueDoc({ replica: c });
    const gw = new VenueDoc({ replica: g });
    central.transact(ORIGINS.test, (w) => w.set('tk', { on: true, at: 1 }));
    // g1 reconciles f1 and the fridge reports 5: the increments below are within its stock.
    configureFridge(central, f, 'g1');
    gw.applyUpdate(Y.encodeStateAsUpdate(central.ydoc), ORIGINS.upstream);
    gw.transact(ORIGINS.test, (w) => recordSnapshot(w, f, inv(1, 1, 1000, { m1: 5 })));
    for (let i = 0; i < 5; i++) gw.transact(ORIGINS.test, (w) => increment(w, f, m, 1));
    // central lost nothing; gateway's full-state diff vs an empty SV would include central's struct
    const diff = encodeOwnDiff(gw.ydoc, Y.encodeStateVector(new Y.Doc()), new Set([gw.ydoc.clientID]));
    const decoded = Y.decodeUpdate(diff);
    expect(decoded.structs.every((s) => s.id.client === gw.ydoc.clientID)).toBe(true);
    const v = validateUpdate(central, diff, { replica: g, clients: new Set([gw.ydoc.clientID]) });
    expect(v).toMatchObject({ ok: true });
    central.applyUpdate(diff, ORIGINS.upstream);
    expect(sellable(central, f, m)).toBe(5);
    // A full-state update carries central's own struct: harmless where central already holds it,
    // refused where it does not (a gateway never relays others' structures).
    const full = Y.encodeStateAsUpdate(gw.ydoc);
    expect(validateUpdate(central, full, { replica: g, clients: new Set([gw.ydoc.clientID]) })).toMatchObject({ ok: true });
    expect(validateUpdate(new VenueDoc(), full, { replica: g, clients: new Set([gw.ydoc.clientID]) })).toMatchObject({ ok: false, code: 'FOREIGN_CLIENT' });
  });
});
