import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import * as Y from 'yjs';
import { FridgeIdSchema, MealIdSchema, ORIGINS, VenueDoc, fridgeStatus, observedSnapshot } from '@fridgesync/shared';
import { decodeIntakeRecord } from '../src/intake-record.ts';
import { EmbeddedBroker } from '../src/embedded-broker.ts';
import { fridgeBrokerContract } from './helpers/fridge-broker-contract.ts';
import { MemoryStore } from '../src/memory-store.ts';
import { connectFridge, fridgeHashes, inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { connectPacket, rawSocket } from './helpers/raw-mqtt.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();

fridgeBrokerContract(
  'embedded',
  {
    async fresh(parts) {
      const config = testConfig(tempDir(), { fridges: await fridgeHashes(['f1', 'f2']) }).mqtt;
      const broker = new EmbeddedBroker({ config, ...parts });
      return { broker, fridgeUrl: () => `mqtt://127.0.0.1:${broker.port}` };
    },
  },
  defer,
);
const F1 = FridgeIdSchema.parse('f1');
const M1 = MealIdSchema.parse('m1');

async function agentWithFridges(ids = ['f1', 'f2']) {
  const dir = tempDir();
  await seedActiveStore(dir);
  const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(ids) }), defer);
  return { agent, port: agent.mqttPort!, dir };
}

function counter(agent: Awaited<ReturnType<typeof agentWithFridges>>['agent'], name: string, labels: Record<string, string>): Promise<number> {
  return agent.metrics.registry.getSingleMetric(name)!.get().then((m) => m.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0);
}

describe('embedded broker', () => {
  it('acknowledges a snapshot only once it is durable, then writes it into the document', async () => {
    const { agent, port } = await agentWithFridges();
    const f = await connectFridge(port, 'f1', defer);
    for (let seq = 1; seq <= 5; seq++) {
      await f.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 });
      // PUBACK received: the snapshot is on disk, in the intake log or already in the stored document.
      const stored = await agent.replica.store.load();
      const inIntake = stored.intake.some((r) => decodeIntakeRecord(r.record)?.some((d) => d.fridge === F1 && d.snapshot.seq === seq));
      const doc = new VenueDoc();
      doc.applyUpdate(Y.mergeUpdates(stored.updates), ORIGINS.storageLoad);
      expect(inIntake || observedSnapshot(doc, F1)?.q === seq, `snapshot ${seq} durable`).toBe(true);
    }
    // A quiet fridge's snapshot is in the document at once; a burst's newest within the interval.
    await eventually(() => expect(observedSnapshot(agent.replica.doc, F1)?.i[M1]).toBe(5));
    // Once folded and durable in the document, its intake records are cleared.
    // (The store counts a clear when it is asked for, so wait for its writes to be durable too.)
    await eventually(() => {
      expect(agent.replica.store.size().intake).toBe(0);
      expect(agent.replica.store.pending()).toBe(0);
    });
  });

  it("holds a PUBACK until the write is durable, and reads the fridge's next publishes meanwhile", async () => {
    const store = new MemoryStore();
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    // Snapshots stay in the intake log for the test: only their intake records are written.
    const agent = await startAgent(testConfig(tempDir(), { fridges: await fridgeHashes(['f1']), storage: { snapshotFoldMs: 10_000 } }), defer, { store });
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 });
    const release = store.holdWrites();
    const acked: number[] = [];
    const publish = (seq: number) =>
      new Promise<void>((resolve, reject) =>
        f.publish('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 }, (err) => {
          if (err) return reject(err);
          acked.push(seq);
          resolve();
        }),
      );
    const p2 = publish(2);
    await eventually(() => expect(agent.broker.status().inFlight).toBe(1));
    // Published after the first was taken in: a separate read, taken in while the first waits.
    const p3 = publish(3);
    await eventually(() => expect(agent.broker.status().inFlight).toBe(2));
    await new Promise((r) => setTimeout(r, 100));
    expect(acked, 'no PUBACK before the write is durable').toEqual([]);
    release();
    await Promise.all([p2, p3]);
    expect(acked).toEqual([2, 3]);
    const stored = await store.load();
    const seqs = stored.intake.flatMap((r) => decodeIntakeRecord(r.record) ?? []).map((d) => d.snapshot.seq);
    expect(seqs).toEqual(expect.arrayContaining([2, 3]));
  });

  it('refuses wrong secrets, unknown fridges and a username that is not the client id', async () => {
    const { port, agent } = await agentWithFridges();
    const bad = (opts: mqtt.IClientOptions) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, ...opts });
    await expect(bad({ clientId: 'f1', username: 'f1', password: 'nope' })).rejects.toThrow(/Bad username or password/i);
    await expect(bad({ clientId: 'f9', username: 'f9', password: 'secret-f9' })).rejects.toThrow(/Bad username or password/i);
    await expect(bad({ clientId: 'f1', username: 'f2', password: 'secret-f2' })).rejects.toThrow(/Bad username or password/i);
    await expect(bad({ clientId: 'constructor', username: 'constructor', password: 'x' })).rejects.toThrow(/Bad username or password/i);
    expect(await counter(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'credentials' })).toBe(4);
  });

  it('refuses ACL escapes: other fridges, #, $SYS, and a will outside its status topic', async () => {
    const { port, agent } = await agentWithFridges();
    const f1 = await connectFridge(port, 'f1', defer);
    for (const topic of ['fridges/f2/commands', '#', '$SYS/#', 'fridges/+/inventory']) {
      await expect(f1.subscribeAsync(topic, { qos: 1 }), topic).rejects.toThrow(/Subscribe error/);
    }
    expect((await f1.subscribeAsync('fridges/f1/commands', { qos: 1 }))[0]?.qos).toBe(1);
    // Publishing into another fridge's subtree closes the connection and changes nothing.
    const closed = new Promise<void>((resolve) => f1.once('close', () => resolve()));
    f1.publish('fridges/f2/inventory', inventory(1, 1, { m1: 9 }), { qos: 1 });
    await closed;
    expect(observedSnapshot(agent.replica.doc, FridgeIdSchema.parse('f2'))).toBeUndefined();
    // A will aimed at another fridge is refused at connect.
    await expect(
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: 'f1', username: 'f1', password: 'secret-f1', protocolVersion: 4, reconnectPeriod: 0,
        will: { topic: 'fridges/f2/status', payload: Buffer.from('{}'), qos: 1, retain: true },
      }),
    ).rejects.toThrow(/Not authorized/i);
    expect(await counter(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'acl-subscribe' })).toBe(4);
    expect(await counter(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'acl-publish' })).toBe(1);
    expect(await counter(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'acl-will' })).toBe(1);
  });

  it('drops bad payloads, counts them by reason, keeps serving and keeps state', async () => {
    const { agent, port } = await agentWithFridges();
    const f = await connectFridge(port, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 5, { m1: 3 }), { qos: 1 });
    await f.publishAsync('fridges/f1/inventory', '{not json', { qos: 1 });
    await f.publishAsync('fridges/f1/inventory', JSON.stringify({ boot: 1, seq: 6, ts: 'yesterday', items: { m1: 1 } }), { qos: 1 });
    await f.publishAsync('fridges/f1/inventory', JSON.stringify({ boot: 1, seq: 7, ts: new Date().toISOString(), items: { m1: -1 } }), { qos: 1 });
    await f.publishAsync('fridges/f1/bogus', '{}', { qos: 1 });
    await f.publishAsync('fridges/f1/inventory/extra', '{}', { qos: 1 });
    expect(await counter(agent, 'fridgesync_gateway_dropped_total', { reason: 'json' })).toBe(1);
    expect(await counter(agent, 'fridgesync_gateway_dropped_total', { reason: 'schema' })).toBe(2);
    expect(await counter(agent, 'fridgesync_gateway_dropped_total', { reason: 'topic' })).toBe(2);
    await eventually(() => expect(observedSnapshot(agent.replica.doc, F1)).toMatchObject({ q: 5, i: { m1: 3 } }));
    // Still connected and serving.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 8, { m1: 2 }), { qos: 1 });
    await eventually(() => expect(observedSnapshot(agent.replica.doc, F1)).toMatchObject({ q: 8, i: { m1: 2 } }));
  });

  it('ignores duplicate and reordered snapshots', async () => {
    const { agent, port } = await agentWithFridges();
    const f = await connectFridge(port, 'f1', defer);
    const ts = new Date().toISOString();
    await f.publishAsync('fridges/f1/inventory', inventory(1, 10, { m1: 7 }, ts), { qos: 1 });
    await f.publishAsync('fridges/f1/inventory', inventory(1, 10, { m1: 7 }, ts), { qos: 1 }); // duplicate
    await f.publishAsync('fridges/f1/inventory', inventory(1, 9, { m1: 99 }, ts), { qos: 1 }); // late, older
    await eventually(async () => (await counter(agent, 'fridgesync_gateway_ingested_total', { kind: 'inventory', outcome: 'stale' })) === 2);
    expect(observedSnapshot(agent.replica.doc, F1)).toMatchObject({ b: 1, q: 10, i: { m1: 7 } });
    await f.publishAsync('fridges/f1/inventory', inventory(2, 1, { m1: 5 }), { qos: 1 }); // reboot
    await eventually(() => expect(observedSnapshot(agent.replica.doc, F1)).toMatchObject({ b: 2, q: 1, i: { m1: 5 } }));
    expect(await counter(agent, 'fridgesync_gateway_ingested_total', { kind: 'inventory', outcome: 'stale' })).toBe(2);
  });

  it('follows firmware that forgot its boot counter (sequence restarts low, later timestamp)', async () => {
    const { agent, port } = await agentWithFridges();
    const f = await connectFridge(port, 'f1', defer);
    const t0 = Date.now();
    await f.publishAsync('fridges/f1/inventory', inventory(1, 5000, { m1: 9 }, new Date(t0).toISOString()), { qos: 1 });
    await f.publishAsync('fridges/f1/inventory', inventory(1, 2, { m1: 4 }, new Date(t0 + 60_000).toISOString()), { qos: 1 });
    await eventually(() => expect(observedSnapshot(agent.replica.doc, F1)).toMatchObject({ b: 1, e: 1, q: 2, i: { m1: 4 } }));
    // A late message of the old era changes nothing.
    await f.publishAsync('fridges/f1/inventory', inventory(1, 4999, { m1: 7 }, new Date(t0 - 1000).toISOString()), { qos: 1 });
    await eventually(async () => (await counter(agent, 'fridgesync_gateway_ingested_total', { kind: 'inventory', outcome: 'stale' })) === 1);
    expect(observedSnapshot(agent.replica.doc, F1)).toMatchObject({ e: 1, q: 2, i: { m1: 4 } });
  });

  it('reports pickups of unknown orders and ignores duplicate pickups', async () => {
    const { agent, port } = await agentWithFridges();
    const f = await connectFridge(port, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 3 }), { qos: 1 });
    const pickup = JSON.stringify({ boot: 1, seq: 2, ts: new Date().toISOString(), orderId: 'ghost', items: { m1: 1 } });
    await f.publishAsync('fridges/f1/pickup', pickup, { qos: 1 });
    await f.publishAsync('fridges/f1/pickup', pickup, { qos: 1 });
    expect(await counter(agent, 'fridgesync_gateway_pickup_orders_total', { order: 'unknown-order' })).toBe(1);
    expect(await counter(agent, 'fridgesync_gateway_ingested_total', { kind: 'pickup', outcome: 'duplicate' })).toBe(1);
  });

  it('records presence from status and the will, and rate-limits telemetry', async () => {
    const { agent, port } = await agentWithFridges();
    const will = { topic: 'fridges/f1/status', payload: Buffer.from(JSON.stringify({ online: false, ts: new Date(Date.now() + 1000).toISOString() })), qos: 1 as const, retain: true };
    const f = await connectFridge(port, 'f1', defer, { will });
    await f.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString(), firmware: '1.2' }), { qos: 1, retain: true });
    expect(fridgeStatus(agent.replica.doc, F1)).toMatchObject({ on: true, fw: '1.2' });
    // The same status again within the presence interval is not written again.
    await f.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date(Date.now() + 1).toISOString() }), { qos: 1, retain: true });
    expect(await counter(agent, 'fridgesync_gateway_ingested_total', { kind: 'status', outcome: 'rate-limited' })).toBe(1);
    for (let i = 0; i < 5; i++) f.publish('fridges/f1/telemetry', JSON.stringify({ ts: new Date(Date.now() + i).toISOString(), temperatureC: 4, door: 'closed' }), { qos: 0 });
    await eventually(async () => (await counter(agent, 'fridgesync_gateway_ingested_total', { kind: 'telemetry', outcome: 'rate-limited' })) >= 4);
    f.stream.destroy(); // no DISCONNECT: the broker publishes the will
    await eventually(() => expect(fridgeStatus(agent.replica.doc, F1)?.on).toBe(false));
  });

  it('asks a fridge that comes online for its totals (resend-inventory), once per time it comes online', async () => {
    const { agent, port } = await agentWithFridges();
    const f = await connectFridge(port, 'f1', defer);
    const commands: string[] = [];
    f.on('message', (_t, payload) => commands.push(JSON.parse(payload.toString()).type));
    await f.subscribeAsync('fridges/f1/commands', { qos: 1 });
    const status = (online: boolean, dt: number) => f.publishAsync('fridges/f1/status', JSON.stringify({ online, ts: new Date(Date.now() + dt).toISOString() }), { qos: 1, retain: true });
    await status(true, 0);
    await eventually(() => expect(commands).toEqual(['resend-inventory']));
    await status(true, 1); // still online: nothing more
    f.publish('fridges/f1/telemetry', JSON.stringify({ ts: new Date(Date.now() + 2).toISOString(), temperatureC: 4, door: 'closed' }), { qos: 0 });
    await status(false, 3);
    await status(true, 4); // back online
    await eventually(() => expect(commands).toEqual(['resend-inventory', 'resend-inventory']));
    await eventually(async () => expect(await counter(agent, 'fridgesync_gateway_commands_total', { type: 'resend-inventory' })).toBe(2));
  });

  it('does not ask for totals when resendInventoryOnConnect is off', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']), presence: { resendInventoryOnConnect: false } }), defer);
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    const commands: string[] = [];
    f.on('message', (_t, payload) => commands.push(payload.toString()));
    await f.subscribeAsync('fridges/f1/commands', { qos: 1 });
    await f.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1 });
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 1 }), { qos: 1 }); // a round trip after the status
    expect(commands).toEqual([]);
    expect(await counter(agent, 'fridgesync_gateway_commands_total', { type: 'resend-inventory' })).toBe(0);
  });

  it('refuses fridges while the replica cannot write (no epoch yet)', async () => {
    const dir = tempDir();
    const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']) }), defer);
    expect(agent.replica.state).toBe('joining');
    await expect(connectFridge(agent.mqttPort!, 'f1', defer)).rejects.toThrow(/Server unavailable/i);
  });

  it('serves MQTT over websocket with the same authentication and ACL', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']), mqtt: { embedded: { websocketPort: 0 } } }), defer);
    const port = (agent.broker as unknown as { websocketPort: number }).websocketPort;
    const url = `ws://127.0.0.1:${port}`;
    await expect(mqtt.connectAsync(url, { clientId: 'f1', username: 'f1', password: 'wrong', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password/i);
    const f = await mqtt.connectAsync(url, { clientId: 'f1', username: 'f1', password: 'secret-f1', protocolVersion: 4, reconnectPeriod: 0 });
    defer(() => f.endAsync(true));
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 2 }), { qos: 1 });
    expect(observedSnapshot(agent.replica.doc, F1)?.i).toEqual({ m1: 2 });
    await expect(f.subscribeAsync('#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
  });

  it('counts the connections it closes for malformed packets, and keeps serving', async () => {
    const { agent, port } = await agentWithFridges();
    /** Sends `bytes` on a fresh connection and resolves once the broker closed it. */
    const closedAfter = async (bytes: Buffer) => {
      const s = await rawSocket(port, '127.0.0.1');
      s.on('error', () => s.destroy());
      s.resume(); // the broker's answers are read and ignored (a paused socket never sees the close)
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.write(bytes);
      });
    };
    // CONNECT with reserved flag bits set (mqtt-packet refuses it), a PUBLISH before any CONNECT,
    // a second CONNECT, and a PUBLISH to a wildcard topic after a good CONNECT.
    const bad = connectPacket('f1', 'f1', 'secret-f1');
    bad[0] = 0x11;
    await closedAfter(bad);
    await closedAfter(Buffer.from([0x30, 0x05, 0x00, 0x01, 0x61, 0x7b, 0x7d]));
    await closedAfter(Buffer.concat([connectPacket('f1', 'f1', 'secret-f1'), connectPacket('f1', 'f1', 'secret-f1')]));
    await closedAfter(Buffer.concat([connectPacket('f1', 'f1', 'secret-f1'), Buffer.from([0x30, 0x05, 0x00, 0x01, 0x23, 0x7b, 0x7d])]));
    await eventually(async () => expect(await counter(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'malformed' })).toBe(4));
    const f = await connectFridge(port, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 4 }), { qos: 1 });
    expect(observedSnapshot(agent.replica.doc, F1)?.i).toEqual({ m1: 4 });
  });

  it('closes connections that announce packets over the size limit', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']), mqtt: { embedded: { maxPacketBytes: 2048 } } }), defer);
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    const closed = new Promise<void>((resolve) => f.once('close', () => resolve()));
    f.publish('fridges/f1/inventory', 'x'.repeat(10_000), { qos: 1 });
    await closed;
    expect(await counter(agent, 'fridgesync_gateway_mqtt_refused_total', { reason: 'packet-size' })).toBe(1);
  });
});
