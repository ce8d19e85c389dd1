import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import pino from 'pino';
import {
  DEFAULT_RIGHTS_POLICY,
  FridgeIdSchema,
  GatewayIdSchema,
  InventoryPayloadSchema,
  ORIGINS,
  VenueIdSchema,
  answerRecalls,
  fridgeCells,
  isOrigin,
  recordSnapshot,
  type VenueDoc,
} from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { ReconcileLoop } from '../src/reconcile-loop.ts';
import type { GatewayConfigInput } from '../src/config-schema.ts';
import { connectFridge, fridgeHashes, inventory, startAgent, testConfig } from './helpers/agent.ts';
import { centralDoc, startCentralPeer, writeFridgeConfig } from './helpers/central-peer.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');
const cell = (doc: VenueDoc) => fridgeCells(doc, F1)[0];

async function venue() {
  const c = await startCentralPeer({ venueId: 'v1', tokens: { 'tok-gw1': 'gw1', 'tok-gw2': 'gw2' } });
  defer(() => c.close());
  c.setFridge('f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
  c.becomeTaker();
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
    await eventually(() => expect(cell(c.doc)).toMatchObject({ T: 10, S: 10, R: 0, rights: { 'central:test': 8, 'gw:gw1:1': 2 } }));
    // The kiosk sells within the gateway's own 2 rights, then answers SOLD_OUT at once.
    expect((await order(a.httpPort, 'o1', 2)).status).toBe(201);
    const r = await order(a.httpPort, 'o2', 1);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { code: string }).code).toBe('SOLD_OUT');
    // Walk-ins took 3: the reconciler lacks rights, recalls them from central, which answers.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 2, { m1: 7 }), { qos: 1 });
    await eventually(() => expect(c.doc.index.recalls.size).toBeGreaterThan(0));
    answerRecalls(c.doc, ORIGINS.test);
    await eventually(() => expect(cell(a.replica.doc)).toMatchObject({ T: 7, R: 2, S: 5, drift: 0 }));
    await eventually(() => expect(cell(c.doc)).toMatchObject({ T: 7, R: 2, S: 5, drift: 0 }));
    // A pickup settles the order and is subtracted until a snapshot covers it.
    await f.publishAsync('fridges/f1/pickup', JSON.stringify({ boot: 1, seq: 3, ts: new Date().toISOString(), orderId: 'o1', items: { m1: 2 } }), { qos: 1 });
    await eventually(async () => expect(await (await fetch(`http://127.0.0.1:${a.httpPort}/v1/orders/o1`)).json()).toMatchObject({ state: 'picked_up' }));
    await eventually(() => expect(cell(a.replica.doc)).toMatchObject({ T: 7, Teff: 5, R: 0, S: 5, drift: 0 }));
    expect(c.rejected).toEqual([]);
  });

  it('after a recall, a restock stays with the gateway for the pause (recallPauseMs), then central gets its share', async () => {
    const { c, gw } = await venue();
    const a = await gw('gw1', { recallPauseMs: 3000 });
    const f = await connectFridge(a.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 10 }), { qos: 1 });
    await eventually(() => expect(cell(c.doc)?.rights).toEqual({ 'central:test': 8, 'gw:gw1:1': 2 }));
    // Nine gone: the gateway decrements its 2 and recalls 7, which central answers.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 2, { m1: 1 }), { qos: 1 });
    await eventually(() => expect(c.doc.index.recalls.size).toBeGreaterThan(0));
    const recalledAt = Date.now();
    answerRecalls(c.doc, ORIGINS.test);
    // Restocked at once: the gateway corrects S to 11 and keeps the new stock while paused.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 3, { m1: 11 }), { qos: 1 });
    await eventually(() => expect(cell(a.replica.doc)).toMatchObject({ T: 11, S: 11, drift: 0 }));
    expect(cell(a.replica.doc)?.rights).toEqual({ 'central:test': 1, 'gw:gw1:1': 10 });
    expect(Date.now() - recalledAt).toBeLessThan(3000); // still within the pause: the check above meant something
    // The first pass after the pause (the 200 ms sweep) tops central up to 80% of 11.
    await eventually(() => expect(cell(c.doc)?.rights).toEqual({ 'central:test': 8, 'gw:gw1:1': 3 }), 10_000);
    expect(Date.now() - recalledAt).toBeGreaterThan(2500); // the pause began at the pass, a moment before central saw the recall
    expect(c.rejected).toEqual([]);
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
    expect(c.rejected).toEqual([]);
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
    expect(c.rejected).toEqual([]);
  });
});

describe('reconcile loop scheduling', () => {
  /** An active replica of gw1 holding 30 fridges it reconciles, each with fresh stock. */
  async function loopOver(sliceMs: number) {
    const store = new MemoryStore();
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    const logger = pino({ level: 'silent' });
    const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store, logger, version: 'test', compactEveryUpdates: 100_000 });
    const cdoc = centralDoc();
    const fridges = Array.from({ length: 30 }, (_, i) => FridgeIdSchema.parse(`f${i}`));
    for (const f of fridges) writeFridgeConfig(cdoc, f, { venueId: 'v1' as never, reconciler: 'gw1' as never });
    replica.doc.applyUpdate(Y.encodeStateAsUpdate(cdoc.ydoc), { kind: 'upstream', peer: 'central' });
    await replica.write(ORIGINS.mqtt, (w) => {
      for (const f of fridges) recordSnapshot(w, f, InventoryPayloadSchema.parse({ boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 5 } }));
    });
    let updates = 0;
    replica.doc.ydoc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (isOrigin(origin, 'reconciler')) updates++;
    });
    const loop = new ReconcileLoop({ replica, logger, metrics: createMetrics(), policy: DEFAULT_RIGHTS_POLICY, debounceMs: 60_000, sweepIntervalMs: 3_600_000, orderRetentionMs: 60_000, sliceMs });
    defer(() => loop.stop());
    const stocked = () => fridges.filter((f) => fridgeCells(replica.doc, f)[0]?.S === 5).length;
    return { loop, replica, stocked, updates: () => updates };
  }

  it('a sweep over many fridges yields to I/O between slices, one transaction per slice', async () => {
    const { loop, stocked, updates } = await loopOver(0); // one fridge per slice
    loop.start();
    const afterOneTurn = await new Promise<number>((r) => setImmediate(() => r(stocked())));
    expect(afterOneTurn).toBeLessThan(30);
    await eventually(() => expect(stocked()).toBe(30));
    await loop.idle();
    expect(updates()).toBe(30);
  });

  it('with time to spare, one slice reconciles them all in one transaction', async () => {
    const { loop, stocked, updates } = await loopOver(60_000);
    loop.start();
    await eventually(() => expect(stocked()).toBe(30));
    await loop.idle();
    expect(updates()).toBe(1);
  });
});
