/**
 * The contract every {@link FridgeBroker} implementation passes: one suite, run by each
 * implementation's test file (embedded aedes, external Mosquitto), so the agent can rely on the
 * port alone. Each broker runs over a real replica (MemoryStore) and the real ingest path; fridges
 * are real mqtt.js clients.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { FridgeIdSchema, GatewayIdSchema, VenueIdSchema, observedSnapshot } from '@fridgesync/shared';
import type { FridgeBroker } from '../../src/fridge-broker.ts';
import { Ingestor } from '../../src/ingest.ts';
import { openLocalReplica, type LocalReplica } from '../../src/local-replica.ts';
import { MemoryStore } from '../../src/memory-store.ts';
import { createMetrics, type AgentMetrics } from '../../src/metrics.ts';
import { inventory } from './agent.ts';
import { eventually } from '@fridgesync/shared/test-harness';

/** What a broker is built from: the same for both implementations. */
export interface BrokerParts {
  ingestor: Ingestor;
  logger: pino.Logger;
  metrics: AgentMetrics;
  writable: () => boolean;
}

/** How a contract run gets a broker of one implementation. */
export interface BrokerFactory {
  /**
   * A broker (not started) built from `parts`, and the URL fridges `f1` and `f2` connect to with
   * client id = username = fridge id and password `secret-<id>`. Cleanups go to `defer`.
   */
  fresh(parts: BrokerParts, defer: (fn: () => unknown) => void): Promise<{ broker: FridgeBroker; fridgeUrl: () => string }>;
}

const F1 = FridgeIdSchema.parse('f1');

async function world(factory: BrokerFactory, defer: (fn: () => unknown) => void) {
  const store = new MemoryStore();
  await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
  const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
  const replica: LocalReplica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store, logger, version: 't', compactEveryUpdates: 10_000 });
  const metrics = createMetrics();
  const ingestor = new Ingestor({ replica, logger, metrics, topicPrefix: '', presenceMinIntervalMs: 60_000, snapshotFoldMs: 1_000 });
  defer(async () => {
    await ingestor.flush();
    ingestor.stop();
  });
  const { broker, fridgeUrl } = await factory.fresh({ ingestor, logger, metrics, writable: () => replica.writable }, defer);
  defer(() => broker.close());
  await broker.start();
  await eventually(() => expect(broker.status().up).toBe(true));
  /** A fridge that connects (retrying while refused) and is torn down with the test. */
  const fridge = (id: string, opts: mqtt.IClientOptions = {}): MqttClient => {
    const c = mqtt.connect(fridgeUrl(), { clientId: id, username: id, password: `secret-${id}`, protocolVersion: 4, reconnectPeriod: 50, reconnectOnConnackError: true, connectTimeout: 5_000, ...opts });
    c.on('error', () => undefined); // refused connects are retried
    defer(() => c.endAsync(true));
    return c;
  };
  /** Publishes once `c` is connected; resolves on its PUBACK. */
  const publish = (c: MqttClient, topic: string, payload: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const go = () => c.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve(undefined)));
      if (c.connected) go();
      else c.once('connect', go);
    });
  /** Publishes snapshot `seq` of f1 until the document has it (an external broker's subscription may not be in place at once). */
  const ingested = async (c: MqttClient, seq: number) => {
    await eventually(async () => {
      await publish(c, 'fridges/f1/inventory', inventory(1, seq, { m1: seq }));
      expect(observedSnapshot(replica.doc, F1)?.q).toBe(seq);
    });
  };
  const dropped = async (reason: string) => (await metrics.dropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { store, replica, metrics, ingestor, broker, fridge, publish, ingested, dropped };
}

/** Runs the broker contract against `factory`. */
export function fridgeBrokerContract(name: string, factory: BrokerFactory, defer: (fn: () => unknown) => void): void {
  describe(`FridgeBroker contract: ${name}`, () => {
    it('reports itself up once started, with its mode and address, and down once closed', async () => {
      const { broker } = await world(factory, defer);
      const s = broker.status();
      expect(s.mode).toBe(name);
      expect(s.address).toEqual(expect.any(String));
      expect(s.inFlight).toBe(0);
      if (broker.port !== undefined) expect(s.address).toContain(`:${broker.port}`);
      await broker.close();
      await eventually(() => expect(broker.status().up).toBe(false));
    });

    it("feeds a fridge's messages to the ingest path; a bad one is dropped by reason and the broker keeps serving", async () => {
      const { fridge, publish, ingested, dropped, replica } = await world(factory, defer);
      const f1 = fridge('f1');
      await ingested(f1, 1);
      await publish(f1, 'fridges/f1/inventory', '{oops');
      await eventually(async () => expect(await dropped('json')).toBe(1));
      await publish(f1, 'fridges/f1/inventory', inventory(1, 2, { m1: 7 }));
      await eventually(() => expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 2, i: { m1: 7 } }));
    });

    it('counts a message in flight until its write is durable', async () => {
      const { store, broker, fridge, publish, ingested, replica, ingestor } = await world(factory, defer);
      const f1 = fridge('f1');
      await ingested(f1, 1);
      // Snapshot 1's intake record is cleared once its fold is durable.
      await ingestor.flush();
      await eventually(() => expect(store.pending()).toBe(0));
      expect((await store.load()).intake).toEqual([]);
      const release = store.holdWrites();
      defer(release); // released at teardown too, should an assertion below fail
      void publish(f1, 'fridges/f1/inventory', inventory(1, 2, { m1: 2 }));
      await eventually(() => expect(broker.status().inFlight).toBe(1));
      expect((await store.load()).intake.length, 'nothing durable yet').toBe(0);
      release();
      await eventually(() => expect(broker.status().inFlight).toBe(0));
      await eventually(() => expect(observedSnapshot(replica.doc, F1)?.q).toBe(2));
    });

    it("delivers a command to the fridge's commands topic only", async () => {
      const { broker, fridge, ingested } = await world(factory, defer);
      const f1 = fridge('f1');
      const got: Array<[string, string]> = [];
      f1.on('message', (topic, payload) => got.push([topic, payload.toString()]));
      await ingested(f1, 1);
      await f1.subscribeAsync('fridges/f1/commands', { qos: 1 });
      await broker.sendCommand(F1, { type: 'resend-inventory' });
      await eventually(() => expect(got).toEqual([['fridges/f1/commands', JSON.stringify({ type: 'resend-inventory' })]]));
    });

    it('tells whether a fridge is connected, or says it cannot tell', async () => {
      const { broker, fridge, ingested } = await world(factory, defer);
      const f1 = fridge('f1');
      await ingested(f1, 1);
      const connected = broker.fridgeConnected(F1);
      if (connected === undefined) return; // this broker does not tell (external)
      expect(connected).toBe(true);
      await f1.endAsync();
      await eventually(() => expect(broker.fridgeConnected(F1)).toBe(false));
    });

    it('takes in nothing while the replica cannot write, and what a fridge sent meanwhile once it can', async () => {
      const { broker, fridge, publish, ingested, replica, ingestor } = await world(factory, defer);
      const f1 = fridge('f1');
      await ingested(f1, 1);
      await ingestor.flush();
      await replica.markRetired();
      broker.writableChanged(false);
      // A fridge connected before, and one connecting now.
      const F2 = FridgeIdSchema.parse('f2');
      const sent = [publish(f1, 'fridges/f1/inventory', inventory(1, 2, { m1: 2 })), publish(fridge('f2'), 'fridges/f2/inventory', inventory(1, 1, { m1: 4 }))];
      // A negative: nothing may arrive within a window a running broker takes far less than.
      await new Promise((r) => setTimeout(r, 300));
      expect(observedSnapshot(replica.doc, F1)?.q).toBe(1);
      expect(observedSnapshot(replica.doc, F2)).toBeUndefined();
      await replica.becomeActive();
      broker.writableChanged(true);
      await Promise.all(sent);
      await eventually(() => {
        expect(observedSnapshot(replica.doc, F1)?.q).toBe(2);
        expect(observedSnapshot(replica.doc, F2)?.i).toEqual({ m1: 4 });
      });
    });
  });
}
