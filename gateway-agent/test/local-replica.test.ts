import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { FridgeIdSchema, observedSnapshot } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { connectFridge, fridgeHashes, inventory, startAgent, testConfig } from './helpers/agent.ts';
import { useTeardown } from './helpers/teardown.ts';

const { defer, tempDir } = useTeardown();

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
