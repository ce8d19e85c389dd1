import {
  CommandPayloadSchema, InventoryPayloadSchema, PickupPayloadSchema, StatusPayloadSchema, TelemetryPayloadSchema, type CommandPayload,
} from '@fridgesync/shared';
import { describe, expect, it } from 'vitest';
import { deriveFridgeSecret } from '../src/fleet-spec.ts';
import { FridgeClient } from '../src/fridge-client.ts';
import { FridgeModel } from '../src/fridge-model.ts';
import { Prng } from '../src/prng.ts';
import { RunStats } from '../src/stats.ts';
import { record, startBroker } from './helpers.ts';
import { useTeardown, waitFor } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const id = 'v1-f1';
const secret = deriveFridgeSecret('test-seed', id);
const now = () => new Date();

async function setup(opts: { window?: number; prefix?: string } = {}) {
  const broker = await startBroker({ [id]: secret });
  defer(() => broker.close());
  const sub = await record(broker.url);
  defer(() => sub.client.endAsync(true));
  const stats = new RunStats();
  const commands: CommandPayload[] = [];
  const client = new FridgeClient({
    url: broker.url, fridgeId: id, secret, stats, window: opts.window ?? 32, topicPrefix: opts.prefix ?? '',
    onCommand: (c) => commands.push(c),
    sensors: () => ({ temperatureC: 3.5, door: 'closed' }),
  });
  defer(() => client.stop(500));
  await client.start(5_000);
  // The online status (QoS 1, retained) goes out right after CONNACK; let it be acknowledged first.
  await waitFor(() => stats.publishAck.count >= 1, 3_000, 'status PUBACK');
  return { broker, sub, stats, client, commands };
}

describe('FridgeClient against a real aedes broker', () => {
  it('connects as the fridge and publishes contract-valid payloads with the contract QoS', async () => {
    const { broker, sub, client } = await setup();
    expect(broker.authenticated).toEqual([id]);
    const model = new FridgeModel({ initial: { m01: 2, m02: 1 }, boot: 3 });
    await client.publishInventory(model.snapshot(now()));
    await client.publishPickup(model.pickup('o-1', { m01: 1 }, now()).payload!);
    await client.publishTelemetry({ ts: now().toISOString(), temperatureC: 4.2, door: 'open' });
    const byKind = (k: string) => waitFor(() => sub.messages.find((m) => m.topic === `fridges/${id}/${k}`), 3_000, k);
    const inv = await byKind('inventory');
    expect(InventoryPayloadSchema.parse(inv.payload).items).toEqual({ m01: 2, m02: 1 });
    expect(inv.qos).toBe(1);
    const pick = await byKind('pickup');
    expect(PickupPayloadSchema.parse(pick.payload)).toMatchObject({ orderId: 'o-1', items: { m01: 1 }, boot: 3, seq: 2 });
    expect(pick.qos).toBe(1);
    const tel = await byKind('telemetry');
    TelemetryPayloadSchema.parse(tel.payload);
    expect(tel.qos).toBe(0);
    const status = await byKind('status');
    expect(StatusPayloadSchema.parse(status.payload).online).toBe(true);
    expect(status.qos).toBe(1);
  });

  it('keeps its status retained and publishes online:false as its will when the connection dies', async () => {
    const { broker, client } = await setup();
    // A subscriber arriving later gets the retained status.
    await waitFor(() => client.connected, 2_000, 'connected');
    await new Promise((r) => setTimeout(r, 100));
    const late = await record(broker.url, `fridges/${id}/status`);
    defer(() => late.client.endAsync(true));
    const retained = await waitFor(() => late.messages[0], 3_000, 'retained status');
    expect(retained.retain).toBe(true);
    expect(StatusPayloadSchema.parse(retained.payload).online).toBe(true);
    // Power cut: no DISCONNECT, so the broker sends the will.
    await client.crash();
    const will = await waitFor(() => late.messages.find((m) => (m.payload as { online?: boolean }).online === false), 5_000, 'will');
    expect(StatusPayloadSchema.parse(will.payload).online).toBe(false);
    // …and the will is retained too: a newcomer sees the fridge offline.
    const later = await record(broker.url, `fridges/${id}/status`);
    defer(() => later.client.endAsync(true));
    const r2 = await waitFor(() => later.messages[0], 3_000, 'retained will');
    expect([r2.retain, (r2.payload as { online: boolean }).online]).toEqual([true, false]);
  });

  it('refuses a wrong secret (the broker decides; the client just never connects)', async () => {
    const broker = await startBroker({ [id]: secret });
    defer(() => broker.close());
    const c = new FridgeClient({ url: broker.url, fridgeId: id, secret: 'wrong', stats: new RunStats(), reconnectPeriodMs: 0 });
    defer(() => c.crash());
    await expect(c.start(700)).rejects.toThrow(/no CONNACK/);
  });

  it('receives commands and uses the topic prefix', async () => {
    const { broker, commands, sub } = await setup({ prefix: 'acme/' });
    await waitFor(() => sub.messages.some((m) => m.topic === `acme/fridges/${id}/status`), 3_000, 'prefixed status');
    const pub = (payload: string) =>
      new Promise<void>((r) => broker.broker.publish({ cmd: 'publish', topic: `acme/fridges/${id}/commands`, payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, () => r()));
    await pub(JSON.stringify({ type: 'unlock', orderId: 'o-9' }));
    await pub('{not json');
    await waitFor(() => commands.length === 1, 3_000, 'command');
    expect(CommandPayloadSchema.parse(commands[0])).toEqual({ type: 'unlock', orderId: 'o-9' });
  });

  it('keeps at most `window` QoS 1 publishes in flight and delivers every one', async () => {
    const { broker, sub, client, stats } = await setup({ window: 4 });
    broker.setPubackDelay(20); // a slow broker: PUBACKs take 20 ms
    const model = new FridgeModel({ initial: { m01: 100 } });
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 60; i++) sends.push(client.publishPickup(model.pickup(`o-${i}`, { m01: 1 }, now()).payload!));
    await waitFor(() => client.window.waiting > 0, 2_000, 'queued publishes');
    expect(client.window.inFlight).toBeLessThanOrEqual(4);
    await Promise.all(sends);
    expect(client.window.peak).toBe(4);
    expect(stats.publishAck.count).toBe(61); // the status and 60 pickups
    expect(stats.publishAck.quantile(0.5)).toBeGreaterThanOrEqual(15);
    await waitFor(() => sub.messages.filter((m) => m.topic.endsWith('/pickup')).length === 60, 3_000, 'all pickups');
  });

  it('replaces a snapshot still waiting for a slot with the newer one', async () => {
    const { broker, sub, client, stats } = await setup({ window: 1 });
    broker.setPubackDelay(50);
    const model = new FridgeModel({ initial: { m01: 10 } });
    const first = client.publishPickup(model.pickup('o-1', { m01: 1 }, now()).payload!); // occupies the only slot
    const sends = [1, 2, 3].map(() => {
      model.take('m01', 1);
      return client.publishInventory(model.snapshot(now()));
    });
    await Promise.all([first, ...sends]);
    expect(stats.counters.snapshotsCoalesced).toBe(2);
    await waitFor(() => sub.messages.some((m) => m.topic.endsWith('/inventory')), 2_000, 'snapshot');
    await new Promise((r) => setTimeout(r, 100));
    const all = sub.messages.filter((m) => m.topic.endsWith('/inventory'));
    expect(all.length).toBe(1); // three snapshots asked for, one sent: the newest
    expect(InventoryPayloadSchema.parse(all[0]!.payload).items).toEqual({ m01: 6 });
  });

  it('duplicates and reorders data messages when the faults are on', async () => {
    const broker = await startBroker({ [id]: secret });
    defer(() => broker.close());
    const sub = await record(broker.url, `fridges/${id}/inventory`);
    defer(() => sub.client.endAsync(true));
    const stats = new RunStats();
    const client = new FridgeClient({ url: broker.url, fridgeId: id, secret, stats, faults: { duplicate: 0.3, reorder: 0.3, reorderHoldMs: 50, prng: new Prng('faults') } });
    defer(() => client.stop(500));
    await client.start(3_000);
    const model = new FridgeModel({ initial: { m01: 1 } });
    for (let i = 0; i < 40; i++) await client.publishInventory(model.snapshot(now()));
    await client.disableFaults();
    const expected = 40 + stats.counters.duplicatesSent;
    await waitFor(() => sub.messages.length >= expected, 3_000, 'all messages');
    const seqs = sub.messages.map((m) => (m.payload as { seq: number }).seq);
    expect(stats.counters.duplicatesSent).toBeGreaterThan(0);
    expect(stats.counters.reorderedSent).toBeGreaterThan(0);
    expect(new Set(seqs).size).toBe(40); // nothing lost
    expect(seqs.some((s, i) => i > 0 && s < seqs[i - 1]!)).toBe(true); // something arrived out of order
  });

  it('sends inventory and pickups at QoS 0 when asked (--qos 0), status still QoS 1 retained', async () => {
    const broker = await startBroker({ [id]: secret });
    defer(() => broker.close());
    const sub = await record(broker.url);
    defer(() => sub.client.endAsync(true));
    const client = new FridgeClient({ url: broker.url, fridgeId: id, secret, stats: new RunStats(), qos: 0 });
    defer(() => client.stop(500));
    await client.start(3_000);
    await client.publishInventory(new FridgeModel({ initial: { m01: 1 } }).snapshot(now()));
    const inv = await waitFor(() => sub.messages.find((m) => m.topic.endsWith('/inventory')), 3_000, 'inventory');
    expect(inv.qos).toBe(0);
    const status = await waitFor(() => sub.messages.find((m) => m.topic.endsWith('/status')), 3_000, 'status');
    expect(status.qos).toBe(1);
  });
});
