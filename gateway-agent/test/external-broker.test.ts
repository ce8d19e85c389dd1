import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { FridgeIdSchema, observedSnapshot } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { ExternalBroker } from '../src/external-broker.ts';
import { fridgeBrokerContract } from './helpers/fridge-broker-contract.ts';
import { inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { MOSQUITTO_MISSING, mosquittoBinary, startMosquitto } from './helpers/mosquitto.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const hasMosquitto = mosquittoBinary() !== undefined;
if (!hasMosquitto) console.warn(MOSQUITTO_MISSING);

const USERS = { 'gw-gw1': 'gw-secret', f1: 'secret-f1', f2: 'secret-f2' };

describe.skipIf(!hasMosquitto)('external broker contract (real Mosquitto)', () => {
  fridgeBrokerContract(
    'external',
    {
      async fresh(parts, defer) {
        const { port } = await startMosquitto(tempDir('mosq-'), USERS, defer);
        const url = `mqtt://127.0.0.1:${port}`;
        const config = testConfig(tempDir(), { mqtt: { mode: 'external', external: { url, username: 'gw-gw1', password: 'gw-secret', reconnectMs: 100 } } }).mqtt;
        return { broker: new ExternalBroker({ config, gatewayId: 'gw1', ...parts }), fridgeUrl: () => url };
      },
    },
    defer,
  );
});

async function setup() {
  const { port } = await startMosquitto(tempDir('mosq-'), USERS, defer);
  const dir = tempDir();
  await seedActiveStore(dir);
  const cfg = testConfig(dir, { mqtt: { mode: 'external', external: { url: `mqtt://127.0.0.1:${port}`, username: 'gw-gw1', password: 'gw-secret', reconnectMs: 100 } } });
  return { port, dir, cfg };
}

async function fridge(port: number, id: string, opts: mqtt.IClientOptions = {}) {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: id, username: id, password: `secret-${id}`, protocolVersion: 4, reconnectPeriod: 0, ...opts });
  defer(() => c.endAsync(true));
  return c;
}

/** Starts an agent and fridge f1, and publishes until the agent (whose session then exists) has heard f1's snapshot 1. */
async function subscribedAgentAndFridge(port: number, cfg: Awaited<ReturnType<typeof setup>>['cfg'], deps: Parameters<typeof startAgent>[2] = {}) {
  const agent = await startAgent(cfg, defer, deps);
  await eventually(() => expect(agent.broker.status().up).toBe(true));
  const f1 = await fridge(port, 'f1');
  await eventually(async () => {
    await f1.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 3 }), { qos: 1 });
    expect(observedSnapshot(agent.replica.doc, FridgeIdSchema.parse('f1'))?.q).toBe(1);
  });
  return { agent, f1 };
}

async function dropped(agent: Awaited<ReturnType<typeof startAgent>>, reason: string): Promise<number> {
  const m = await agent.metrics.registry.getSingleMetric('fridgesync_gateway_dropped_total')!.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe.skipIf(!hasMosquitto)('external broker (real Mosquitto)', () => {
  it('ingests fridge messages through Mosquitto on the same path as the embedded broker', async () => {
    const { port, cfg } = await setup();
    const agent = await startAgent(cfg, defer);
    await eventually(() => expect(agent.broker.status().up).toBe(true));
    const f1 = await fridge(port, 'f1');
    await eventually(async () => {
      // The agent subscribes right after connecting; publish until it has heard one.
      await f1.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 3 }), { qos: 1 });
      expect(observedSnapshot(agent.replica.doc, FridgeIdSchema.parse('f1'))?.i).toEqual({ m1: 3 });
    });
    await f1.publishAsync('fridges/f1/inventory', '{oops', { qos: 1 });
    await eventually(async () => expect(await dropped(agent, 'json')).toBe(1));
  });

  it('the shipped ACL confines each fridge to its own subtree', async () => {
    const { port, cfg } = await setup();
    const agent = await startAgent(cfg, defer);
    await eventually(() => expect(agent.broker.status().up).toBe(true));
    const f1 = await fridge(port, 'f1');
    const granted = await new Promise<mqtt.ISubscriptionGrant[]>((resolve) => f1.subscribe(['#', 'fridges/f2/commands', '$SYS/#'], { qos: 1 }, (_e, g) => resolve(g ?? [])));
    // Mosquitto grants the SUBACK but delivers nothing the ACL denies; check by publishing as f2.
    const f2 = await fridge(port, 'f2');
    let leaked = 0;
    f1.on('message', () => leaked++);
    await f2.publishAsync('fridges/f2/commands', '{}', { qos: 1 });
    // f1 publishing into f2's subtree is dropped by Mosquitto: the agent never sees it.
    await f1.publishAsync('fridges/f2/inventory', inventory(1, 100, { m1: 9 }), { qos: 1 });
    await f2.publishAsync('fridges/f2/inventory', inventory(1, 2, { m1: 1 }), { qos: 1 });
    await eventually(() => expect(observedSnapshot(agent.replica.doc, FridgeIdSchema.parse('f2'))?.q).toBe(2));
    expect(leaked).toBe(0);
    expect(granted.length).toBe(3);
    // A wrong secret is refused.
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'f1', username: 'f1', password: 'wrong', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow();
  });

  it('the shipped ACL delivers commands to a fridge subscribed to fridges/<id>/#, and none of its own reports', async () => {
    const { port, cfg } = await setup();
    const agent = await startAgent(cfg, defer);
    await eventually(() => expect(agent.broker.status().up).toBe(true));
    const f1 = await fridge(port, 'f1');
    const got: string[] = [];
    f1.on('message', (topic) => got.push(topic));
    await f1.subscribeAsync('fridges/f1/#', { qos: 1 });
    await f1.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 });
    await f1.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1 });
    await eventually(() => expect(observedSnapshot(agent.replica.doc, FridgeIdSchema.parse('f1'))?.q).toBe(1));
    await agent.broker.sendCommand(FridgeIdSchema.parse('f1'), { type: 'resend-inventory' });
    await eventually(() => expect(got).toContain('fridges/f1/commands'));
    expect(got.every((t) => t === 'fridges/f1/commands')).toBe(true);
  });

  it('messages published while the agent is down are delivered when it returns (persistent session)', async () => {
    const { port, cfg } = await setup();
    const { agent: a1, f1 } = await subscribedAgentAndFridge(port, cfg);
    await a1.close();
    for (let seq = 2; seq <= 5; seq++) await f1.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 });
    const a2 = await startAgent(cfg, defer);
    await eventually(() => expect(observedSnapshot(a2.replica.doc, FridgeIdSchema.parse('f1'))?.q).toBe(5));
  });

  it('messages arriving together share synced writes, and one whose write fails is not acknowledged (redelivered)', async () => {
    const { port, cfg } = await setup();
    const store = new MemoryStore();
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    const { agent: a1, f1 } = await subscribedAgentAndFridge(port, cfg, { store });
    await a1.close();
    // 100 messages wait in the agent's session; on its return Mosquitto delivers them in a burst.
    for (let seq = 2; seq <= 101; seq++) await f1.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq % 7 }), { qos: 1 });
    const a2 = await startAgent(cfg, defer, { store: store.reopen() });
    const before = store.syncedWrites();
    await eventually(() => expect(observedSnapshot(a2.replica.doc, FridgeIdSchema.parse('f1'))?.q).toBe(101));
    // PUBACKs wait for durability, so a burst shares synced writes (one per message would be 100).
    expect(store.syncedWrites() - before).toBeLessThan(50);
    // A write that fails: no PUBACK reaches Mosquitto, so the next agent gets the message again.
    store.failNextWrite();
    await f1.publishAsync('fridges/f1/inventory', inventory(1, 102, { m1: 2 }), { qos: 1 });
    expect((await a2.fatal).name).toBe('StoreFailedError');
    await a2.close();
    const a3 = await startAgent(cfg, defer, { store: store.reopen() });
    await eventually(() => expect(observedSnapshot(a3.replica.doc, FridgeIdSchema.parse('f1'))?.q).toBe(102));
  });
});
