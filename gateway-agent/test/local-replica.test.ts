import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { FridgeIdSchema, observedSnapshot } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { connectFridge, fridgeHashes, inventory, startAgent, testConfig } from './helpers/agent.ts';
import { useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');

async function activeMemoryStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
  return store;
}

describe('local replica', () => {
  it('a failed synced write is fatal: no PUBACK, the fridge is dropped, nothing more is accepted', async () => {
    const store = await activeMemoryStore();
    const agent = await startAgent(testConfig(tempDir(), { fridges: await fridgeHashes(['f1']) }), defer, { store });
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 });
    store.failNextWrite();
    let acked = false;
    const closed = new Promise<void>((r) => f.once('close', () => r()));
    f.publish('fridges/f1/inventory', inventory(1, 2, { m1: 2 }), { qos: 1 }, (err) => (acked = err === undefined));
    await closed;
    expect(acked).toBe(false);
    expect((await agent.fatal).name).toBe('StoreFailedError');
    expect(agent.replica.state).toBe('failed');
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${agent.mqttPort}`, { clientId: 'f1', username: 'f1', password: 'secret-f1', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow(/Server unavailable/i);
  });

  it('each process writes with a fresh Yjs client id and announces the older ones of its replica', async () => {
    const store = await activeMemoryStore();
    const cfg = testConfig(tempDir(), { fridges: await fridgeHashes(['f1']) });
    const a1 = await startAgent(cfg, defer, { store });
    const f = await connectFridge(a1.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 });
    const first = a1.replica.doc.ydoc.clientID;
    await f.endAsync();
    await a1.close();
    const a2 = await startAgent(cfg, defer, { store: store.reopen() });
    expect(observedSnapshot(a2.replica.doc, FridgeIdSchema.parse('f1'))?.q).toBe(1);
    expect(a2.replica.doc.ydoc.clientID).not.toBe(first);
    expect(a2.replica.ownClients()).toEqual([a2.replica.doc.ydoc.clientID, first]);
  });

  it('compacts its LevelDB store as it goes and reloads the same state', async () => {
    const dir = tempDir();
    const { seedActiveStore } = await import('./helpers/agent.ts');
    await seedActiveStore(dir);
    const cfg = testConfig(dir, { fridges: await fridgeHashes(['f1']), storage: { compactEveryUpdates: 10 } });
    const a1 = await startAgent(cfg, defer);
    const f = await connectFridge(a1.mqttPort!, 'f1', defer);
    for (let seq = 1; seq <= 35; seq++) await f.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 });
    expect(a1.replica.store.size().updates).toBeLessThan(10);
    await f.endAsync();
    await a1.close();
    const a2 = await startAgent(cfg, defer);
    expect(observedSnapshot(a2.replica.doc, FridgeIdSchema.parse('f1'))).toMatchObject({ q: 35, i: { m1: 35 } });
  });

  it('refuses a store that belongs to another gateway', async () => {
    const store = new MemoryStore();
    await store.writeMeta({ gatewayId: 'other', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    await expect(startAgent(testConfig(tempDir()), defer, { store })).rejects.toThrow(/belongs to gateway other/);
  });
});

describe('rebuilding the store from central', () => {
  it('a rebuild cut short by a crash resumes at the next start: old document dropped, kept entries written under the new epoch', async () => {
    const { openLevelStore } = await import('../src/level-store.ts');
    const { openLocalReplica } = await import('../src/local-replica.ts');
    const pino = (await import('pino')).default;
    const dir = tempDir();
    // A store of epoch 1 holding a snapshot, whose rebuild wrote its meta and crashed before the wipe.
    const s1 = await openLevelStore(dir);
    const r1 = await openLocalReplica({ gatewayId: 'gw1' as never, venueId: 'v1' as never, store: s1, logger: pino({ level: 'silent' }), version: 't', compactEveryUpdates: 1000 });
    await r1.becomeActive();
    await r1.write({ kind: 'mqtt' }, (w) => w.set('s/f1', { b: 1, e: 0, q: 3, ts: 1, i: { m1: 3 } }));
    const kept: Array<[string, unknown]> = [['s/f1', { b: 1, e: 0, q: 3, ts: 1, i: { m1: 3 } }]];
    await s1.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'retired', updatedAt: 1, rebuild: { reason: 'lost-writes', from: 'gw:gw1:1', at: 1, entries: kept } });
    await s1.close();

    const s2 = await openLevelStore(dir);
    const r2 = await openLocalReplica({ gatewayId: 'gw1' as never, venueId: 'v1' as never, store: s2, logger: pino({ level: 'silent' }), version: 't', compactEveryUpdates: 1000 });
    defer(() => r2.close());
    expect(r2.state).toBe('joining');
    expect(r2.doc.replicas()).toEqual([]); // the given-up document is not loaded
    expect(r2.recovery).toMatchObject({ reason: 'lost-writes', from: 'gw:gw1:1', kept: 1, waiting: 1 });
    const recovered = new Promise((r) => r2.once('recovered', r));
    expect(await r2.becomeActive()).toBe('gw:gw1:2');
    await recovered;
    expect(observedSnapshot(r2.doc, F1)?.q).toBe(3);
    expect(r2.doc.get('gw:gw1:2' as never, 's/f1')).toMatchObject({ q: 3 });
    expect(r2.recovery).toMatchObject({ reapplied: 1, waiting: 0, problems: [] });
    // Done: the meta no longer asks for a rebuild.
    expect((await s2.load()).meta).not.toHaveProperty('rebuild');
  });
});
