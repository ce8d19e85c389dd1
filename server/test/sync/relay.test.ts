/**
 * Relay between the peers of one venue: two gateways (an HA pair hearing the same fridge), a
 * dashboard and central's own writes converge to identical folds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DEFAULT_RIGHTS_POLICY, ORIGINS, fridgeCells, gatewayReplicaId, recordSnapshot, reconcileFridge, type FridgeId, type GatewayId, type VenueId } from '@fridgesync/shared';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../helpers/gateway-client.ts';

let t: TestCentral;
const open: GatewayClient[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  await t.close();
});

describe('relay', () => {
  it('an HA pair, a viewer and central converge', async () => {
    t = await startCentral({ listen: true });
    const f1 = 'f1' as FridgeId;
    const a = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1) }).ready();
    const b = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw2, replica: gatewayReplicaId('g2' as GatewayId, 1) }).ready();
    const v = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.viewer, noHello: true }).ready();
    open.push(a, b, v);
    const ts = () => new Date().toISOString();
    // Both gateways hear the same fridge; the fold keeps one snapshot, never a sum.
    a.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 10, ts: ts(), items: { m1: 6 } as never }));
    b.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 10, ts: ts(), items: { m1: 6 } as never }));
    await Promise.all([a.durable(), b.durable()]);
    await waitFor(() => a.doc.index.snapshots.get('f1')?.size === 2, 3000, 'b relayed to a');
    reconcileFridge(a.doc, ORIGINS.reconciler, f1, DEFAULT_RIGHTS_POLICY, Date.now());
    await a.durable();
    const o = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'ha-1', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 2 }] } });
    expect(o.statusCode).toBe(201);
    const central = t.central.registry.peek('v1' as VenueId)!.doc;
    const sv = () => Y.encodeStateVector(central.ydoc);
    await waitFor(() => [a, b, v].every((c) => Buffer.from(Y.encodeStateVector(c.doc.ydoc)).equals(Buffer.from(sv()))), 5000, 'convergence');
    const expected = fridgeCells(central, f1);
    expect(expected[0]).toMatchObject({ T: 6, R: 2, S: 4 });
    for (const c of [a, b, v]) expect(fridgeCells(c.doc, f1)).toEqual(expected);
  });
});
