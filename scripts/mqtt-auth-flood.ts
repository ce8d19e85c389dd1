/**
 * Measures what wrong-password CONNECTs cost a connected fridge: the PUBACK latency of a real
 * fridge (mqtt.js, from 127.0.0.1) while N CONNECTs with a wrong secret for that same fridge id
 * arrive at once from 127.0.0.2…, against a real agent (embedded aedes broker, LevelDB in a temp
 * dir, synced writes).
 *
 * Usage: `npx tsx scripts/mqtt-auth-flood.ts [N] [--legacy]` (N default 100; `--legacy` configures
 * the fridge with an scrypt hash of the older format, cost 2^15). Results: docs/operations.md,
 * "Limits at the MQTT edge".
 * Prints one line per phase: PUBACK latency median and max over the publishes, and what the
 * wrong CONNECTs got back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAgent, GatewayConfigSchema, openLevelStore } from '@fridgesync/gateway-agent';
import { hashLegacySecret, hashSecret } from '../gateway-agent/src/fridge-secrets.ts';
import { fridgeFrom, wrongConnect } from '../gateway-agent/test/helpers/raw-mqtt.ts';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100);
const legacy = process.argv.includes('--legacy');
const SECRET = 'Zm9vYmFyLWJhei1xdXV4LXNlY3JldC0xMjM0NTY3';

async function fridgeHash(): Promise<string> {
  return legacy ? hashLegacySecret(SECRET) : hashSecret(SECRET);
}

const dir = mkdtempSync(join(tmpdir(), 'auth-flood-'));
const store = await openLevelStore(dir);
await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: Date.now() });
await store.close();
const config = GatewayConfigSchema.parse({
  gatewayId: 'gw1',
  venueId: 'v1',
  logLevel: 'silent',
  storage: { dataDir: dir },
  http: { host: '127.0.0.1', port: 0 },
  mqtt: { embedded: { host: '127.0.0.1', port: 0 }, fridges: { f1: await fridgeHash() } },
});
const agent = await createAgent(config, { logger: pino({ level: 'silent' }) });
const port = agent.mqttPort!;
const fridge = await fridgeFrom(port, '127.0.0.1', 'f1', SECRET, { reconnectPeriod: 1_000 });

let seq = 0;
async function publishRound(count: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await fridge.publishAsync('fridges/f1/inventory', JSON.stringify({ boot: 1, seq: ++seq, ts: new Date().toISOString(), items: { m1: seq % 7 } }), { qos: 1 });
    lat.push(performance.now() - t0);
  }
  return lat;
}
const fmt = (lat: number[]) => {
  const s = [...lat].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
};

await publishRound(20);
console.log(`no flood:            PUBACK ${fmt(await publishRound(20))}`);
const rss0 = process.memoryUsage().rss;
const flood = Promise.all(Array.from({ length: n }, (_, i) => wrongConnect(port, 'f1', `127.0.0.${2 + (i % 50)}`)));
const lat = await publishRound(20);
const codes = await flood;
const tally = new Map<string, number>();
for (const c of codes) tally.set(String(c), (tally.get(String(c)) ?? 0) + 1);
console.log(`${n} wrong CONNECTs: PUBACK ${fmt(lat)}; CONNACK codes ${JSON.stringify(Object.fromEntries(tally))}; RSS ${(rss0 / 2 ** 20).toFixed(0)} -> ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB${legacy ? ' (legacy scrypt hash)' : ''}`);
fridge.end(true);
await agent.close();
rmSync(dir, { recursive: true, force: true });
