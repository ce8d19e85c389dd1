/**
 * Reconciliation by gateway agents against the real central (docs/design.md "Reconciliation",
 * "Rights placement"): the reconciler keeps S = T_eff − R and grants central, the order taker, its
 * share; it recalls rights when short, which central answers; an HA standby ingests but does not
 * reconcile, and expires its own orders by its own clock.
 */
import { describe, expect, it } from 'vitest';
import { FridgeIdSchema, fridgeCells, type VenueDoc } from '@fridgesync/shared';
import type { GatewayConfigInput } from '@fridgesync/gateway-agent';
import { connectFridge, fridgeHashes, inventory, startAgent, testConfig } from '../../gateway-agent/test/helpers/agent.ts';
import { startVenueCentral } from './helpers/gateway-central.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');
const cell = (doc: VenueDoc) => fridgeCells(doc, F1)[0];

/** Central (which seeds f1, reconciled by gw1, and takes orders) and a starter of synced gateways. */
async function venue() {
  const c = await startVenueCentral(defer);
  const fridges = await fridgeHashes(['f1']);
  const gw = async (id: 'gw1' | 'gw2', reconcile: GatewayConfigInput['reconcile'] = {}, now?: () => number) => {
    const a = await startAgent(testConfig(tempDir(), { gatewayId: id, central: { url: c.url, token: `tok-${id}` }, fridges, reconcile }), defer, now === undefined ? {} : { now });
    await eventually(() => expect(a.sync?.state).toBe('synced'));
    return a;
  };
  return { c, gw };
}

const order = (port: number, id: string, qty: number) =>
  fetch(`http://127.0.0.1:${port}/v1/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId: id, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty }] }),
  });

describe('reconciliation', () => {
  it('keeps S = T_eff − R, grants central its share, sells its own share, recalls when short', async () => {
    const { c, gw } = await venue();
    const a = await gw('gw1');
    expect(a.status().fridgesReconciled).toEqual(['f1']);
    const f = await connectFridge(a.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 10 }), { qos: 1 });
    // Delivery arrived: S = 10, 80% of it granted to the central taker; the same at central.
    await eventually(() => expect(cell(c.doc)).toMatchObject({ T: 10, S: 10, R: 0, rights: { [c.replica]: 8, 'gw:gw1:1': 2 } }));
    // The kiosk sells within the gateway's own 2 rights, then answers SOLD_OUT at once.
    expect((await order(a.httpPort, 'o1', 2)).status).toBe(201);
    const r = await order(a.httpPort, 'o2', 1);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { code: string }).code).toBe('SOLD_OUT');
    // Walk-ins took 3: the reconciler lacks rights, recalls them from central, which answers.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 2, { m1: 7 }), { qos: 1 });
    await eventually(() => expect(c.doc.index.recalls.size).toBeGreaterThan(0));
    await eventually(() => expect(cell(a.replica.doc)).toMatchObject({ T: 7, R: 2, S: 5, drift: 0 }));
    await eventually(() => expect(cell(c.doc)).toMatchObject({ T: 7, R: 2, S: 5, drift: 0 }));
    // A pickup settles the order and is subtracted until a snapshot covers it.
    await f.publishAsync('fridges/f1/pickup', JSON.stringify({ boot: 1, seq: 3, ts: new Date().toISOString(), orderId: 'o1', items: { m1: 2 } }), { qos: 1 });
    await eventually(async () => expect(await (await fetch(`http://127.0.0.1:${a.httpPort}/v1/orders/o1`)).json()).toMatchObject({ state: 'picked_up' }));
    await eventually(() => expect(cell(a.replica.doc)).toMatchObject({ T: 7, Teff: 5, R: 0, S: 5, drift: 0 }));
    expect(await c.rejected()).toEqual({});
  });

  it('after a recall, a restock stays with the gateway for the pause (recallPauseMs), then central gets its share', async () => {
    const { c, gw } = await venue();
    const a = await gw('gw1', { recallPauseMs: 3000 });
    const f = await connectFridge(a.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 10 }), { qos: 1 });
    await eventually(() => expect(cell(c.doc)?.rights).toEqual({ [c.replica]: 8, 'gw:gw1:1': 2 }));
    // Nine gone: the gateway decrements its 2 and recalls 7, which central answers.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 2, { m1: 1 }), { qos: 1 });
    await eventually(() => expect(c.doc.index.recalls.size).toBeGreaterThan(0));
    const recalledAt = Date.now();
    // Central gives back 7 of its 8.
    await eventually(() => expect(cell(c.doc)?.rights[c.replica]).toBe(1));
    // Restocked at once: the gateway corrects S to 11 and keeps the new stock while paused.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 3, { m1: 11 }), { qos: 1 });
    await eventually(() => expect(cell(a.replica.doc)).toMatchObject({ T: 11, S: 11, drift: 0 }));
    await eventually(() => expect(cell(a.replica.doc)?.rights).toEqual({ [c.replica]: 1, 'gw:gw1:1': 10 }));
    expect(Date.now() - recalledAt).toBeLessThan(3000); // still within the pause: the check above meant something
    // The first pass after the pause (the 200 ms sweep) tops central up to 80% of 11.
    await eventually(() => expect(cell(c.doc)?.rights).toEqual({ [c.replica]: 8, 'gw:gw1:1': 3 }), 10_000);
    expect(Date.now() - recalledAt).toBeGreaterThan(2500); // the pause began at the pass, a moment before central saw the recall
    expect(await c.rejected()).toEqual({});
  });

  it('an HA standby hearing the same fridge ingests but does not reconcile', async () => {
    const { c, gw } = await venue();
    const a1 = await gw('gw1');
    const a2 = await gw('gw2');
    expect(a2.status().fridgesReconciled).toEqual([]);
    const f2 = await connectFridge(a2.mqttPort!, 'f1', defer);
    await f2.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 4 }), { qos: 1 });
    // The snapshot heard only by the standby reaches the reconciler through central; only gw1 corrects.
    await eventually(() => expect(cell(a1.replica.doc)).toMatchObject({ T: 4, S: 4 }));
    await eventually(() => expect(cell(a2.replica.doc)).toMatchObject({ T: 4, S: 4 }));
    expect(a2.replica.doc.index.counters.get('f1')?.get('m1')?.has('gw:gw2:1') ?? false).toBe(false);
    // The standby's kiosk holds only its granted share (1 of 4): 3 units are SOLD_OUT at once, and
    // a request for the missing rights goes to the reconciler, which grants them from its own.
    await eventually(() => expect(cell(a2.replica.doc)?.rights['gw:gw2:1']).toBe(1));
    const first = await order(a2.httpPort, 'o-standby', 3);
    expect(first.status).toBe(409);
    await eventually(() => expect(cell(a2.replica.doc)?.rights['gw:gw2:1']).toBe(3));
    expect((await order(a2.httpPort, 'o-standby', 3)).status).toBe(201);
    expect(await c.rejected()).toEqual({});
  });

  it('an HA standby’s kiosk expires its own orders by its own clock, an hour ahead of the reconciler’s', async () => {
    const { c, gw } = await venue();
    const a1 = await gw('gw1');
    const a2 = await gw('gw2', {}, () => Date.now() + 3_600_000);
    const f1 = await connectFridge(a1.mqttPort!, 'f1', defer);
    await f1.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 10 }), { qos: 1 });
    await eventually(() => expect(cell(a2.replica.doc)?.rights['gw:gw2:1'] ?? 0).toBeGreaterThanOrEqual(1));
    const r = await fetch(`http://127.0.0.1:${a2.httpPort}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'o-short', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }], holdSeconds: 1 }),
    });
    expect(r.status).toBe(201);
    await eventually(() => expect(cell(a1.replica.doc)).toMatchObject({ R: 1 }));
    // The hold (1 s in the standby's clock) is the standby's to decide: it expires it, the reconciler
    // sees R fall back and the unit return to S.
    await eventually(() => expect(cell(a1.replica.doc)).toMatchObject({ R: 0, S: 10 }), 10_000);
    expect(await c.rejected()).toEqual({});
  });
});
