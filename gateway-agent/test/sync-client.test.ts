import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { FridgeIdSchema, fridgeCells, observedSnapshot, type VenueDoc } from '@fridgesync/shared';
import { connectFridge, freePort, fridgeHashes, inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import pino from 'pino';
import { GatewayIdSchema, VenueIdSchema } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { SyncClient } from '../src/sync-client.ts';
import { centralDoc, startCentralPeer, writeFridgeConfig } from './helpers/central-peer.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');

async function central(port?: number, doc?: VenueDoc) {
  const c = await startCentralPeer({ venueId: 'v1', tokens: { 'tok-gw1': 'gw1', 'tok-gw2': 'gw2' }, ...(port ? { port } : {}), ...(doc ? { doc } : {}) });
  defer(() => c.close());
  return c;
}

describe('sync with central', () => {
  it('joins a fresh store read-only, takes the next epoch after the full sync, then writes', async () => {
    const c = await central();
    const dir = tempDir();
    const agent = await startAgent(testConfig(dir, { central: { url: c.url, token: 'tok-gw1' } }), defer);
    await eventually(() => expect(agent.replica.state).toBe('active'));
    expect(agent.replica.replica).toBe('gw:gw1:1');
    await eventually(() => expect(c.hellos).toEqual([{ joining: true }, { replica: 'gw:gw1:1' }]));
    // The lifecycle entries (meta, taker) reached central and were acknowledged durable.
    await eventually(() => expect(c.doc.index.takers.get('gw:gw1:1')?.on).toBe(true));
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
    expect(c.rejected).toEqual([]);
  });

  it('retires on graceful shutdown; the next start takes a new epoch and retires nothing twice', async () => {
    const c = await central();
    const dir = tempDir();
    const cfg = testConfig(dir, { central: { url: c.url, token: 'tok-gw1' } });
    const a1 = await startAgent(cfg, defer);
    await eventually(() => expect(a1.sync?.state).toBe('synced'));
    await a1.close();
    await eventually(() => expect(c.doc.index.retirements.has('gw:gw1:1')).toBe(true));
    const a2 = await startAgent(cfg, defer);
    await eventually(() => expect(a2.replica.replica).toBe('gw:gw1:2'));
    expect(c.rejected).toEqual([]);
  });

  it('syncs with a central that predates the hello’s clock field: refused once, then hellos without it', async () => {
    const c = await startCentralPeer({ venueId: 'v1', tokens: { 'tok-gw1': 'gw1' }, legacyHello: true });
    defer(() => c.close());
    const agent = await startAgent(testConfig(tempDir(), { central: { url: c.url, token: 'tok-gw1' } }), defer);
    await eventually(() => expect(agent.replica.state).toBe('active'), 10_000);
    await eventually(() => expect(agent.sync?.state).toBe('synced'), 10_000);
    expect(c.hellos).toEqual([{ joining: true }, { replica: 'gw:gw1:1' }]);
    const closes = (await agent.metrics.registry.getSingleMetric('fridgesync_gateway_sync_errors_total')!.get()).values.find((v) => v.labels.reason === 'close-4403')?.value;
    expect(closes).toBe(1);
    expect(agent.status().clockSkew.measured).toBe(false);
  });

  it('abandons a session central never completes and retries', async () => {
    const c = await startCentralPeer({ venueId: 'v1', tokens: { 'tok-gw1': 'gw1' }, mute: true });
    defer(() => c.close());
    const agent = await startAgent(testConfig(tempDir(), { central: { url: c.url, token: 'tok-gw1', syncTimeoutMs: 1000 } }), defer);
    await eventually(async () => {
      const m = await agent.metrics.registry.getSingleMetric('fridgesync_gateway_sync_errors_total')!.get();
      expect(m.values.find((v) => v.labels.reason === 'sync-timeout')?.value).toBeGreaterThanOrEqual(1);
    }, 5_000);
    expect(agent.replica.state).toBe('joining');
  });

  it('keeps working with central unreachable, then converges to the same folds when it appears', async () => {
    // The store already holds epoch 1 and the venue config central sent earlier; central is
    // unreachable from the first second of the test.
    const port = await freePort();
    const dir = tempDir();
    const cdoc = centralDoc();
    writeFridgeConfig(cdoc, 'f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
    await seedActiveStore(dir, 1, 'gw1', 'v1', [Y.encodeStateAsUpdate(cdoc.ydoc)]);
    const cfg = testConfig(dir, { central: { url: `ws://127.0.0.1:${port}`, token: 'tok-gw1' }, fridges: await fridgeHashes(['f1']), reconcile: { takerShare: 0 } });
    const agent = await startAgent(cfg, defer);
    expect(agent.replica.state).toBe('active');
    await eventually(() => expect(agent.status().sync).toMatchObject({ reconnectAttempt: 2 }));

    // Offline: the fridge publishes, the reconciler corrects, the kiosk sells.
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
    await eventually(() => expect(fridgeCells(agent.replica.doc, F1)[0]?.S).toBe(5));
    const order = (id: string) =>
      fetch(`http://127.0.0.1:${agent.httpPort}/v1/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: id, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 2 }] }),
      });
    expect((await order('o1')).status).toBe(201);
    expect((await order('o2')).status).toBe(201);
    const sold = await order('o3');
    expect(sold.status).toBe(409);
    expect(await sold.json()).toMatchObject({ statusCode: 409, code: 'SOLD_OUT' });
    await f.publishAsync('fridges/f1/inventory', inventory(1, 2, { m1: 4 }), { qos: 1 }); // a walk-in took one
    await eventually(() => expect(fridgeCells(agent.replica.doc, F1)[0]).toMatchObject({ T: 4, R: 4, S: 0, shortage: 0 }));
    expect(agent.status().pendingUpdates).toBeGreaterThan(0);

    // Central appears again (same port): both sides converge.
    const c = await central(port, cdoc);
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0), 15_000);
    await eventually(() => expect(Y.encodeStateVector(c.doc.ydoc)).toEqual(Y.encodeStateVector(agent.replica.doc.ydoc)));
    expect(fridgeCells(c.doc, F1)).toEqual(fridgeCells(agent.replica.doc, F1));
    expect(observedSnapshot(c.doc, F1)?.q).toBe(2);
    expect(c.rejected).toEqual([]);
  });
});

describe('sync client pacing', () => {
  it('keeps one update in flight: what becomes durable meanwhile goes in one message after the ack', async () => {
    const c = await central();
    c.setFridge('f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
    // Every snapshot its own update (no intake log), so there are updates to wait.
    const cfg = testConfig(tempDir(), { central: { url: c.url, token: 'tok-gw1' }, fridges: await fridgeHashes(['f1']), reconcile: { takerShare: 0 }, storage: { snapshotFoldMs: 0 } });
    const agent = await startAgent(cfg, defer);
    await eventually(() => expect(agent.sync?.state).toBe('synced'));
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
    await agent.reconciler?.idle();
    const before = c.updatesReceived();

    c.holdAcks(true); // central's disk is slow
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    for (let seq = 1; seq <= 5; seq++) await f.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 });
    // Every snapshot is acknowledged locally; central got the first update and waits to store it.
    await eventually(() => expect(c.updatesReceived()).toBe(before + 1));
    expect(agent.status().pendingUpdates).toBeGreaterThanOrEqual(5);
    expect(observedSnapshot(c.doc, F1)?.q).toBe(1);

    c.holdAcks(false);
    await eventually(() => expect(observedSnapshot(c.doc, F1)?.q).toBe(5));
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
    // The four that waited (and the reconciler's corrections) came in far fewer messages than updates.
    expect(c.updatesReceived() - before).toBeLessThanOrEqual(4);
    await eventually(() => expect(Y.encodeStateVector(c.doc.ydoc)).toEqual(Y.encodeStateVector(agent.replica.doc.ydoc)));
    expect(c.rejected).toEqual([]);
  });
});

describe('sync client backoff', () => {
  it('retries an unreachable central with exponential backoff up to the cap', async () => {
    const logger = pino({ level: 'silent' });
    const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store: new MemoryStore(), logger, version: 't', compactEveryUpdates: 1000 });
    const port = await freePort();
    const metrics = createMetrics();
    // random() = 1: the delay is the cap itself, min·2^attempt bounded by max.
    const client = new SyncClient({ url: `ws://127.0.0.1:${port}`, token: 't', gatewayId: 'gw1', venueId: 'v1', replica, logger, metrics, version: 't', backoffMinMs: 40, backoffMaxMs: 160, maxMessageBytes: 1 << 20, connectTimeoutMs: 1000, random: () => 1 });
    const starts: number[] = [];
    client.on('state', (s) => s === 'connecting' && starts.push(performance.now()));
    client.start();
    defer(() => client.close());
    await eventually(() => starts.length >= 6, 5_000);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // 40, 80, 160, 160, 160 (plus the time to fail a loopback connect)
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
    for (const g of gaps) expect(g).toBeLessThan(400);
    expect(client.status().state).not.toBe('synced');
    expect(replica.state).toBe('joining'); // never writable without a full sync
  });

  it('keeps backing off from a central that welcomes the replica, then refuses its full-state diff with 4403', async () => {
    const c = await startCentralPeer({ venueId: 'v1', tokens: { 'tok-gw1': 'gw1' }, refuseWrites: 'BAD_VALUE: refused for the test' });
    defer(() => c.close());
    const logger = pino({ level: 'silent' });
    const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store: new MemoryStore(), logger, version: 't', compactEveryUpdates: 1000 });
    const metrics = createMetrics();
    const client = new SyncClient({ url: c.url, token: 'tok-gw1', gatewayId: 'gw1', venueId: 'v1', replica, logger, metrics, version: 't', backoffMinMs: 40, backoffMaxMs: 640, maxMessageBytes: 1 << 20, connectTimeoutMs: 1000, random: () => 1 });
    const starts: number[] = [];
    client.on('state', (s) => s === 'connecting' && starts.push(performance.now()));
    client.start();
    defer(() => client.close());
    // Each session: hello with the replica, welcome, own diff, 4403. The attempts grow.
    await eventually(() => expect(c.rejected.length).toBeGreaterThanOrEqual(5), 10_000);
    expect(client.status().reconnectAttempt).toBeGreaterThanOrEqual(4);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(300);
    expect(client.refusal).toMatchObject({ code: 4403 });
    expect(c.hellos.filter((h) => h.replica === 'gw:gw1:1').length).toBeGreaterThanOrEqual(4);
  });

  it('settles a refusal on a session accepted after a connection drop that cut short the previous acceptance', async () => {
    const c = await startCentralPeer({ venueId: 'v1', tokens: { 'tok-gw1': 'gw1' }, refuseWrites: 'BAD_VALUE: refused for the test' });
    defer(() => c.close());
    const logger = pino({ level: 'silent' });
    const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store: new MemoryStore(), logger, version: 't', compactEveryUpdates: 1000 });
    const metrics = createMetrics();
    // After refusals a session counts as accepted once it has lasted min(5 s, backoffMaxMs) = 1 s.
    const client = new SyncClient({ url: c.url, token: 'tok-gw1', gatewayId: 'gw1', venueId: 'v1', replica, logger, metrics, version: 't', backoffMinMs: 40, backoffMaxMs: 1_000, maxMessageBytes: 1 << 20, connectTimeoutMs: 1000, random: () => 1 });
    client.start();
    defer(() => client.close());
    await eventually(() => expect(client.refusal).toBeDefined(), 10_000);
    c.refuseWrites(undefined);
    // Session A: accepted by central, its settling wait starts; then the network drops it.
    await eventually(() => expect(client.status().state).toBe('synced'), 10_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.refusal).toBeDefined();
    c.dropConnections();
    // Session B, idle, accepted again: the refusal settles one wait after it, not never.
    await eventually(() => expect(client.status().state).toBe('synced'), 10_000);
    await eventually(() => expect(client.refusal).toBeUndefined(), 3_000);
    expect(client.status().reconnectAttempt).toBe(0);
  });
});
