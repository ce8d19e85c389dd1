/**
 * The gateway's sync client against the real central (server `buildApp` on port 0), through a relay
 * that records every frame and injects the faults a gateway meets: a cut link, a central that never
 * answers, a slow disk, a central that refuses the gateway's writes, a central released before the
 * hello's clock field (helpers/sync-relay.ts). The agent runs with its embedded broker, LevelDB in
 * temp dirs and real fridges over MQTT.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import pino from 'pino';
import { FridgeIdSchema, GatewayIdSchema, VenueIdSchema, fridgeCells, observedSnapshot, type VenueDoc, type VenueId } from '@fridgesync/shared';
import { startCentral, TOKENS, type TestCentral } from '../../server/test/helpers/central.ts';
import { connectFridge, fridgeHashes, inventory, startAgent, testConfig } from '../../gateway-agent/test/helpers/agent.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';
import { MemoryStore } from '../../gateway-agent/src/memory-store.ts';
import { openLocalReplica } from '../../gateway-agent/src/local-replica.ts';
import { createMetrics } from '../../gateway-agent/src/metrics.ts';
import { SyncClient } from '../../gateway-agent/src/sync-client.ts';
import { SyncRelay } from './helpers/sync-relay.ts';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');

/** The real central (venue v1: fridges f1 and f2 reconciled by gateway g1) behind a relay. */
async function central(): Promise<{ t: TestCentral; relay: SyncRelay; doc: () => VenueDoc }> {
  const t = await startCentral({ listen: true });
  defer(() => t.close());
  const relay = new SyncRelay(() => t.wsUrl);
  await relay.start();
  defer(() => relay.close());
  return { t, relay, doc: () => t.central.registry.peek('v1' as VenueId)!.doc };
}

/** Frames central refused (validator closes) or the relay refused, as `code reason`. */
const refusals = (relay: SyncRelay) => relay.closes.filter((c) => c.code === 4403).map((c) => `${c.code} ${c.reason}`);

/** A sync client without an agent (a fresh memory store), for the backoff tests. */
async function bareClient(url: string, backoffMaxMs: number) {
  const logger = pino({ level: 'silent' });
  const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('g1'), venueId: VenueIdSchema.parse('v1'), store: new MemoryStore(), logger, version: 't', compactEveryUpdates: 1000 });
  // random() = 1: each delay is the cap itself, min·2^attempt bounded by max.
  const client = new SyncClient({ url, token: TOKENS.gw1, gatewayId: 'g1', venueId: 'v1', replica, logger, metrics: createMetrics(), version: 't', backoffMinMs: 40, backoffMaxMs, maxMessageBytes: 1 << 20, connectTimeoutMs: 1000, random: () => 1 });
  const starts: number[] = [];
  client.on('state', (s) => s === 'connecting' && starts.push(performance.now()));
  client.start();
  defer(() => client.close());
  return { client, starts };
}

const gatewayConfig = (url: string, over: Parameters<typeof testConfig>[1] = {}) => testConfig(tempDir(), { gatewayId: 'g1', ...over, central: { url, token: TOKENS.gw1, ...over.central } });

describe('sync with central', () => {
  it('joins a fresh store read-only, takes the next epoch after the full sync, then writes', async () => {
    const { relay, doc } = await central();
    const agent = await startAgent(gatewayConfig(relay.url), defer);
    await eventually(() => expect(agent.replica.state).toBe('active'));
    expect(agent.replica.replica).toBe('gw:g1:1');
    await eventually(() => expect(relay.hellos().map((h) => h.replica ?? (h.joining === true ? 'joining' : '?'))).toEqual(['joining', 'gw:g1:1']));
    // The lifecycle entries (meta, taker) reached central and were acknowledged durable.
    await eventually(() => expect(doc().index.takers.get('gw:g1:1')?.on).toBe(true));
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
    expect(refusals(relay)).toEqual([]);
  });

  it('retires on graceful shutdown; the next start takes a new epoch and retires nothing twice', async () => {
    const { relay, doc } = await central();
    const cfg = gatewayConfig(relay.url);
    const a1 = await startAgent(cfg, defer);
    await eventually(() => expect(a1.sync?.state).toBe('synced'));
    await a1.close();
    await eventually(() => expect(doc().index.retirements.has('gw:g1:1')).toBe(true));
    const a2 = await startAgent(cfg, defer);
    await eventually(() => expect(a2.replica.replica).toBe('gw:g1:2'));
    await eventually(() => expect(a2.sync?.state).toBe('synced'));
    expect(refusals(relay)).toEqual([]);
  });

  it('syncs with a central that predates the hello’s clock field: refused once, then hellos without it', async () => {
    const { relay } = await central();
    relay.legacyHello = true;
    const agent = await startAgent(gatewayConfig(relay.url), defer);
    await eventually(() => expect(agent.replica.state).toBe('active'), 10_000);
    await eventually(() => expect(agent.sync?.state).toBe('synced'), 10_000);
    // The refused hello carried `now`; the two that followed (join, upgrade) did not.
    expect(relay.hellos().map((h) => [h.replica ?? 'joining', h.now !== undefined])).toEqual([['joining', true], ['joining', false], ['gw:g1:1', false]]);
    const closes = (await agent.metrics.registry.getSingleMetric('fridgesync_gateway_sync_errors_total')!.get()).values.find((v) => v.labels.reason === 'close-4403')?.value;
    expect(closes).toBe(1);
    expect(agent.status().clockSkew.measured).toBe(false);
  });

  it('abandons a session central never completes and retries', async () => {
    const { relay } = await central();
    relay.mute = true;
    const agent = await startAgent(gatewayConfig(relay.url, { central: { syncTimeoutMs: 1000 } }), defer);
    await eventually(async () => {
      const m = await agent.metrics.registry.getSingleMetric('fridgesync_gateway_sync_errors_total')!.get();
      expect(m.values.find((v) => v.labels.reason === 'sync-timeout')?.value).toBeGreaterThanOrEqual(1);
    }, 5_000);
    await eventually(() => expect(new Set(relay.frames.map((f) => f.conn)).size).toBeGreaterThanOrEqual(2), 5_000);
    expect(agent.replica.state).toBe('joining');
  });

  it('keeps working with central unreachable, then converges to the same folds when it is reachable again', async () => {
    const { relay, doc } = await central();
    const cfg = gatewayConfig(relay.url, { fridges: await fridgeHashes(['f1']), reconcile: { takerShare: 0 } });
    const agent = await startAgent(cfg, defer);
    await eventually(() => expect(agent.sync?.state).toBe('synced'));
    relay.cut();
    await eventually(() => expect(agent.status().sync).toMatchObject({ reconnectAttempt: 2 }));

    // Offline: the fridge publishes, the reconciler corrects, the kiosk sells.
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
    await eventually(() => expect(fridgeCells(agent.replica.doc, F1).find((c) => c.meal === 'm1')?.S).toBe(5));
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
    await eventually(() => expect(fridgeCells(agent.replica.doc, F1).find((c) => c.meal === 'm1')).toMatchObject({ T: 4, R: 4, S: 0, shortage: 0 }));
    expect(agent.status().pendingUpdates).toBeGreaterThan(0);

    // The link comes back: both sides converge.
    relay.heal();
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0), 15_000);
    await eventually(() => expect(Y.encodeStateVector(doc().ydoc)).toEqual(Y.encodeStateVector(agent.replica.doc.ydoc)));
    expect(fridgeCells(doc(), F1)).toEqual(fridgeCells(agent.replica.doc, F1));
    expect(observedSnapshot(doc(), F1)?.q).toBe(2);
    expect(refusals(relay)).toEqual([]);
  });
});

describe('sync client pacing', () => {
  it('keeps one update in flight: what becomes durable meanwhile goes in one message after the ack', async () => {
    const { relay, doc } = await central();
    // Every snapshot its own update (no intake log), so there are updates to wait.
    const cfg = gatewayConfig(relay.url, { fridges: await fridgeHashes(['f1']), reconcile: { takerShare: 0 }, storage: { snapshotFoldMs: 0 } });
    const agent = await startAgent(cfg, defer);
    await eventually(() => expect(agent.sync?.state).toBe('synced'));
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
    await agent.reconciler?.idle();
    const sent = () => relay.of('update', { dir: 'up' }).length;
    const before = sent();

    relay.holdAcks(true); // central's disk is slow: its durable-acks wait
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    for (let seq = 1; seq <= 5; seq++) await f.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 });
    // Every snapshot is acknowledged locally; central got the first update and its ack waits.
    await eventually(() => expect(sent()).toBe(before + 1));
    expect(agent.status().pendingUpdates).toBeGreaterThanOrEqual(5);
    expect(observedSnapshot(doc(), F1)?.q).toBe(1);

    relay.holdAcks(false);
    await eventually(() => expect(observedSnapshot(doc(), F1)?.q).toBe(5));
    await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
    // The four that waited (and the reconciler's corrections) came in far fewer messages than updates.
    expect(sent() - before).toBeLessThanOrEqual(4);
    await eventually(() => expect(Y.encodeStateVector(doc().ydoc)).toEqual(Y.encodeStateVector(agent.replica.doc.ydoc)));
    expect(refusals(relay)).toEqual([]);
  });
});

describe('sync client pending count', () => {
  it('counts what an earlier process stored and central lacks as pending until central acknowledges it', async () => {
    const { relay, doc } = await central();
    const cfg = gatewayConfig(relay.url, { fridges: await fridgeHashes(['f1']), reconcile: { takerShare: 0 }, storage: { snapshotFoldMs: 0 } });
    const a1 = await startAgent(cfg, defer);
    await eventually(() => expect(a1.sync?.state).toBe('synced'));
    relay.cut();
    await eventually(() => expect(a1.sync?.state).not.toBe('synced'));
    const f = await connectFridge(a1.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
    await f.endAsync(true);
    await a1.close();

    // The next process sends the snapshot in its first own diff.
    relay.heal();
    const a2 = await startAgent(cfg, defer);
    // The moment it reports synced, the diff has just been sent: central cannot have stored it.
    const atSynced: Array<{ pending: number; centralQ: number | undefined }> = [];
    a2.sync!.on('state', (s) => s === 'synced' && atSynced.push({ pending: a2.status().pendingUpdates, centralQ: observedSnapshot(doc(), F1)?.q }));
    await eventually(() => expect(a2.sync?.state).toBe('synced'));
    expect(atSynced[0]).toMatchObject({ centralQ: undefined });
    expect(atSynced[0]!.pending).toBeGreaterThan(0);
    await eventually(() => expect(a2.status().pendingUpdates).toBe(0));
    expect(observedSnapshot(doc(), F1)?.q).toBe(1);
    expect(refusals(relay)).toEqual([]);
  });
});

describe('sync client refused', () => {
  it('keeps backing off from a central that welcomes the replica, then refuses its full-state diff with 4403', async () => {
    const { relay } = await central();
    relay.refuseWrites = 'BAD_VALUE: refused for the test';
    const { client, starts } = await bareClient(relay.url, 640);
    // Each session: hello with the replica, welcome, own diff, 4403. The attempts grow.
    await eventually(() => expect(refusals(relay).length).toBeGreaterThanOrEqual(5), 10_000);
    expect(client.status().reconnectAttempt).toBeGreaterThanOrEqual(4);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(300);
    expect(client.refusal).toMatchObject({ code: 4403 });
    expect(relay.hellos().filter((h) => h.replica === 'gw:g1:1').length).toBeGreaterThanOrEqual(4);
  });

  it('settles a refusal on a session accepted after a connection drop that cut short the previous acceptance', async () => {
    const { relay } = await central();
    relay.refuseWrites = 'BAD_VALUE: refused for the test';
    // After refusals a session counts as accepted once it has lasted min(5 s, backoffMaxMs) = 1 s.
    const { client } = await bareClient(relay.url, 1_000);
    await eventually(() => expect(client.refusal).toBeDefined(), 10_000);
    relay.refuseWrites = undefined;
    // Session A: accepted by central, its settling wait starts; then the network drops it.
    await eventually(() => expect(client.status().state).toBe('synced'), 10_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(client.refusal).toBeDefined();
    relay.drop();
    // Session B, idle, accepted again: the refusal settles one wait after it, not never.
    await eventually(() => expect(client.status().state).toBe('synced'), 10_000);
    await eventually(() => expect(client.refusal).toBeUndefined(), 3_000);
    expect(client.status().reconnectAttempt).toBe(0);
  });
});
