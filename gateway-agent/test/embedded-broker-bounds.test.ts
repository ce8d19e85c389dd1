/**
 * Bounds of the embedded broker against a fridge that publishes junk and against floods of idle
 * connections from loopback addresses (127.0.0.x): no retained messages, subscriptions only to
 * the fridge's commands, pre-CONNECT connections bounded per address and in all.
 */
import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Socket } from 'node:net';
import { FridgeIdSchema, fridgeStatus } from '@fridgesync/shared';
import { connectFridge, fridgeHashes, inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { fridgeFrom, rawSocket } from './helpers/raw-mqtt.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';
import type { GatewayConfigInput } from '../src/config-schema.ts';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');

async function agentWith(embedded: NonNullable<GatewayConfigInput['mqtt']>['embedded'] = {}) {
  const dir = tempDir();
  await seedActiveStore(dir);
  const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']), mqtt: { embedded } }), defer);
  return { agent, port: agent.mqttPort! };
}

type TestAgent = Awaited<ReturnType<typeof agentWith>>['agent'];

async function metric(agent: TestAgent, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await agent.metrics.registry.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** Opens `perAddress` idle connections (no CONNECT) from each address, `batch` at a time; registers their cleanup. */
async function idleFlood(port: number, addresses: string[], perAddress: number, batch = 200): Promise<Socket[]> {
  const targets = addresses.flatMap((a) => Array<string>(perAddress).fill(a));
  const sockets: Socket[] = [];
  defer(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < targets.length; i += batch) {
    const opened = await Promise.allSettled(targets.slice(i, i + batch).map((a) => rawSocket(port, a)));
    for (const o of opened) if (o.status === 'fulfilled') sockets.push(o.value.on('error', () => {}));
  }
  return sockets;
}

describe('embedded broker bounds', () => {
  it('keeps no retained messages and routes nothing a fridge publishes, whatever topic it uses', async () => {
    const { agent, port } = await agentWith();
    const f = await connectFridge(port, 'f1', defer);
    const junk = Buffer.alloc(60_000, 'x');
    await Promise.all(Array.from({ length: 300 }, (_, i) => f.publishAsync(`fridges/f1/junk/${i}`, junk, { qos: 1, retain: true })));
    await f.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1, retain: true });
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 2 }), { qos: 1, retain: true });
    // Junk is acknowledged and dropped by ingest; the contract's messages are taken in.
    expect(await metric(agent, 'fridgesync_gateway_dropped_total', { reason: 'topic' })).toBe(300);
    await eventually(() => expect(fridgeStatus(agent.replica.doc, F1)?.on).toBe(true));
    // Nothing of it is held by the broker.
    expect(await metric(agent, 'fridgesync_gateway_mqtt_retained_messages')).toBe(0);
    // A fridge may subscribe only within its own subtree; no subscription receives what fridges publish.
    for (const topic of ['#', '+/+/+', 'fridges/#', 'fridges/+/commands', 'fridges/f2/commands', '$SYS/#']) {
      await expect(f.subscribeAsync(topic, { qos: 1 }), topic).rejects.toThrow(/Subscribe error/);
    }
    expect((await f.subscribeAsync('fridges/f1/commands', { qos: 1 }))[0]?.qos).toBe(1);
  });

  it('delivers the commands to a fridge subscribed to its whole subtree (fridges/<id>/#), and nothing it publishes', async () => {
    const { agent, port } = await agentWith();
    const f = await connectFridge(port, 'f1', defer);
    const got: string[] = [];
    f.on('message', (topic) => got.push(topic));
    for (const topic of ['fridges/f1/#', 'fridges/f1/+']) expect((await f.subscribeAsync(topic, { qos: 1 }))[0]?.qos, topic).toBe(1);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 2 }), { qos: 1 });
    await f.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1 });
    await f.publishAsync('fridges/f1/junk/1', 'x', { qos: 1 });
    await agent.broker.sendCommand(F1, { type: 'resend-inventory' });
    await eventually(() => expect(got).toContain('fridges/f1/commands'));
    // The command arrives (once per matching subscription at most); its own publishes never come back.
    expect(got.every((t) => t === 'fridges/f1/commands')).toBe(true);
  });

  it('serves a fridge while 2,000 idle connections from 100 addresses flood it before CONNECT', async () => {
    const { agent, port } = await agentWith();
    const addresses = Array.from({ length: 100 }, (_, i) => `127.0.0.${2 + i}`);
    const flooding = idleFlood(port, addresses, 20);
    // Mid-flood: the fridge from its own address connects and is acknowledged within a bound.
    await eventually(async () => expect(await metric(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'pending-evicted' })).toBeGreaterThan(100));
    const t0 = performance.now();
    const f = await fridgeFrom(port, '127.0.0.250', 'f1', 'secret-f1');
    defer(() => f.endAsync(true));
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 });
    const ms = performance.now() - t0;
    const sockets = await flooding;
    console.log(`fridge connected and acknowledged in ${ms.toFixed(1)} ms during a flood of ${sockets.length} idle connections`);
    expect(ms).toBeLessThan(2_000);
    expect(await metric(agent, 'fridgesync_gateway_mqtt_pending_connections')).toBeLessThanOrEqual(512);
  });

  it('bounds pending connections per address and closes them after connectTimeoutMs', async () => {
    const { agent, port } = await agentWith({ maxPendingPerAddress: 4, connectTimeoutMs: 300 });
    const sockets = await idleFlood(port, ['127.0.0.9'], 10);
    const closed = () => sockets.filter((s) => s.destroyed || s.readyState === 'closed').length;
    await eventually(() => expect(closed()).toBe(6));
    expect(await metric(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'pending-per-address' })).toBe(6);
    expect(await metric(agent, 'fridgesync_gateway_mqtt_pending_connections')).toBe(4);
    // The four that were admitted never send CONNECT: closed after the timeout, the slots freed.
    await eventually(() => expect(closed()).toBe(10), 5_000);
    await eventually(async () => expect(await metric(agent, 'fridgesync_gateway_mqtt_pending_connections')).toBe(0));
    const f = await fridgeFrom(port, '127.0.0.9', 'f1', 'secret-f1');
    await f.endAsync(true);
  });
  it('bounds connections to the websocket port before their upgrade like TCP ones before CONNECT', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const embedded = { websocketPort: 0, maxPendingPerAddress: 4, maxPendingConnections: 16, connectTimeoutMs: 500 };
    const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']), mqtt: { embedded } }), defer);
    const wsPort = (agent.broker as unknown as { websocketPort: number }).websocketPort;
    // Per address: 10 idle sockets (no upgrade request) from one address, 4 admitted.
    const one = await idleFlood(wsPort, ['127.0.0.9'], 10);
    const closed = (ss: Socket[]) => ss.filter((x) => x.destroyed || x.readyState === 'closed').length;
    await eventually(() => expect(closed(one)).toBe(6));
    expect(await metric(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'pending-per-address' })).toBe(6);
    // In all: 150 idle sockets from 50 addresses never hold more than 16 pending slots.
    const many = await idleFlood(wsPort, Array.from({ length: 50 }, (_, i) => `127.0.1.${2 + i}`), 3);
    await eventually(async () => expect(await metric(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'pending-evicted' })).toBeGreaterThanOrEqual(150 + 4 - 16));
    expect(await metric(agent, 'fridgesync_gateway_mqtt_pending_connections')).toBeLessThanOrEqual(16);
    // The idle ones that were admitted are closed after connectTimeoutMs, the slots freed.
    await eventually(() => expect(closed([...one, ...many])).toBe(160), 10_000);
    await eventually(async () => expect(await metric(agent, 'fridgesync_gateway_mqtt_pending_connections')).toBe(0));
    // A fridge over websocket still connects and is acknowledged.
    const f = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}`, { clientId: 'f1', username: 'f1', password: 'secret-f1', protocolVersion: 4, reconnectPeriod: 0 });
    defer(() => f.endAsync(true));
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 });
    await eventually(async () => expect(await metric(agent, 'fridgesync_gateway_mqtt_pending_connections')).toBe(0));
  });
});
