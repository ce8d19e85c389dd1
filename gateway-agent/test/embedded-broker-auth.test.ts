/**
 * The embedded broker under wrong CONNECTs from other loopback addresses (127.0.0.x): a connected
 * fridge keeps its prompt PUBACKs, the real fridge keeps connecting with its secret, guessing
 * addresses are throttled.
 */
import { describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { hashLegacySecret, hashSecret } from '../src/fridge-secrets.ts';
import { seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { fridgeFrom, wrongConnect } from './helpers/raw-mqtt.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';
import type { GatewayConfigInput } from '../src/config-schema.ts';

const { defer, tempDir } = useTeardown();
const SECRET = 'x9Vd2kQm7PzL4tRw8yBn3sHc6fJg1aEu';

async function agentWith(hash: string, embedded: NonNullable<GatewayConfigInput['mqtt']>['embedded'] = {}) {
  const dir = tempDir();
  await seedActiveStore(dir);
  const agent = await startAgent(testConfig(dir, { fridges: { f1: hash }, mqtt: { embedded } }), defer);
  return { agent, port: agent.mqttPort! };
}

async function fridge(port: number, from: string): Promise<MqttClient> {
  const f = await fridgeFrom(port, from, 'f1', SECRET);
  defer(() => f.endAsync(true));
  return f;
}

let seq = 0;
/** PUBACK latency of one snapshot, ms. */
async function publishMs(f: MqttClient): Promise<number> {
  const t0 = performance.now();
  seq++;
  await f.publishAsync('fridges/f1/inventory', JSON.stringify({ boot: 1, seq, ts: new Date().toISOString(), items: { m1: seq % 5 } }), { qos: 1 });
  return performance.now() - t0;
}

/** The value of an unlabelled metric. */
async function metricValue(agent: Awaited<ReturnType<typeof agentWith>>['agent'], name: string): Promise<number> {
  return (await agent.metrics.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}

function refused(agent: Awaited<ReturnType<typeof agentWith>>['agent'], reason: string): Promise<number> {
  return agent.metrics.registry
    .getSingleMetric('fridgesync_gateway_mqtt_refused_total')!
    .get()
    .then((m) => m.values.find((v) => v.labels.reason === reason)?.value ?? 0);
}

/** Wrong CONNECTs for f1 from `addresses`, over and over until `stop()`. */
function flood(port: number, addresses: string[]): { stop: () => Promise<void>; count: () => number } {
  let on = true;
  let n = 0;
  const loops = addresses.map(async (a) => {
    while (on) {
      await wrongConnect(port, 'f1', a);
      n++;
    }
  });
  return {
    stop: async () => {
      on = false;
      await Promise.all(loops);
    },
    count: () => n,
  };
}

describe('embedded broker under wrong CONNECTs', () => {
  it("keeps a connected fridge's PUBACKs prompt while 100 wrong CONNECTs for its id arrive at once", async () => {
    // The hash `hashSecret` makes, as an operator's config holds it.
    const { port } = await agentWith(await hashSecret(SECRET));
    const f = await fridge(port, '127.0.0.1');
    await publishMs(f);
    const wrong = Promise.all(Array.from({ length: 100 }, (_, i) => wrongConnect(port, 'f1', `127.0.0.${2 + (i % 20)}`)));
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) latencies.push(await publishMs(f));
    const codes = await wrong;
    const max = Math.max(...latencies);
    console.log(`PUBACK latency under 100 wrong CONNECTs: max ${max.toFixed(1)} ms`);
    expect(max).toBeLessThan(2_000);
    // Every wrong CONNECT was answered (refused), none accepted.
    expect(codes.every((c) => c !== 0)).toBe(true);
  });

  it('lets the real fridge connect with its secret while others keep guessing at its id', async () => {
    const { agent, port } = await agentWith(await hashSecret(SECRET));
    const attack = flood(port, Array.from({ length: 20 }, (_, i) => `127.0.0.${10 + i}`));
    defer(() => attack.stop());
    // The throttle has engaged: guessing addresses are refused unverified.
    await eventually(async () => expect(await refused(agent, 'throttled-address')).toBeGreaterThan(20));
    const t0 = performance.now();
    const f = await fridge(port, '127.0.0.200');
    const ackMs = await publishMs(f);
    const total = performance.now() - t0;
    await attack.stop();
    console.log(`real fridge during ${attack.count()} wrong CONNECTs: connected and acknowledged in ${total.toFixed(1)} ms (PUBACK ${ackMs.toFixed(1)} ms)`);
    expect(total).toBeLessThan(2_000);
    expect(await refused(agent, 'throttled-fridge')).toBeGreaterThan(0);
  });

  it('blocks an address after maxAuthFailuresPerAddress failures for the rest of the window, and only that address', async () => {
    const { agent, port } = await agentWith(hashSecret(SECRET), { maxAuthFailuresPerAddress: 5, authFailureWindowMs: 1_500 });
    for (let i = 0; i < 5; i++) expect(await wrongConnect(port, 'f1', '127.0.0.7')).toBe(4);
    // Blocked: closed as accepted, no CONNACK, even with the right secret.
    expect(await wrongConnect(port, 'f1', '127.0.0.7')).toBe('closed');
    await expect(fridgeFrom(port, '127.0.0.7', 'f1', SECRET)).rejects.toThrow();
    expect(await refused(agent, 'throttled-address')).toBeGreaterThanOrEqual(2);
    // Another address is not affected.
    const f = await fridge(port, '127.0.0.8');
    expect(await publishMs(f)).toBeLessThan(2_000);
    await f.endAsync(true);
    // After the window the address may connect again.
    await eventually(async () => {
      const again = await fridgeFrom(port, '127.0.0.7', 'f1', SECRET);
      await again.endAsync(true);
    }, 5_000, 100);
  });

  it('verifies a guessed-at fridge id only for addresses without failures', async () => {
    const { agent, port } = await agentWith(hashSecret(SECRET), { maxAuthFailuresPerFridge: 4 });
    for (let i = 0; i < 4; i++) expect(await wrongConnect(port, 'f1', `127.0.0.${40 + i}`)).toBe(4);
    // An address with a failure is refused unverified ("server unavailable"), right secret or not.
    expect(await wrongConnect(port, 'f1', '127.0.0.40')).toBe(3);
    await expect(fridgeFrom(port, '127.0.0.41', 'f1', SECRET)).rejects.toThrow(/unavailable/i);
    expect(await refused(agent, 'throttled-fridge')).toBe(2);
    // A clean address is verified: the real fridge connects.
    const f = await fridge(port, '127.0.0.50');
    expect(await publishMs(f)).toBeLessThan(2_000);
  });

  it('keeps verifying scrypt hashes of older configs, one at a time, off the PUBACK path', async () => {
    // The older format at its real cost (2^15, about 32 MiB and 50–400 ms per verification).
    const { agent, port } = await agentWith(await hashLegacySecret(SECRET));
    const f = await fridge(port, '127.0.0.1');
    await publishMs(f);
    const wrong = Promise.all(Array.from({ length: 60 }, (_, i) => wrongConnect(port, 'f1', `127.0.0.${60 + i}`)));
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) latencies.push(await publishMs(f));
    const codes = await wrong;
    expect(Math.max(...latencies)).toBeLessThan(2_000);
    // At most one running and eight queued at a time: the rest refused at once as busy.
    expect(codes.filter((c) => c === 3).length).toBeGreaterThan(0);
    expect(await refused(agent, 'legacy-busy')).toBeGreaterThan(0);
    // The fridge reconnects from a clean address; its secret was verified once and is remembered:
    // the reconnect runs no scrypt verification.
    await f.endAsync(true);
    const verifications = await metricValue(agent, 'fridgesync_gateway_mqtt_legacy_verifications_total');
    expect(verifications).toBeGreaterThanOrEqual(1);
    const again = await fridge(port, '127.0.0.250');
    expect(await metricValue(agent, 'fridgesync_gateway_mqtt_legacy_verifications_total')).toBe(verifications);
    expect(await publishMs(again)).toBeLessThan(2_000);
  });
});
