/**
 * Starting agents and fridges in tests: real components on port 0 in temp dirs, torn down by the
 * one teardown helper.
 */
import pino from 'pino';
import mqtt, { type MqttClient } from 'mqtt';
import { GatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from '../../src/config-schema.ts';
import { createAgent, type Agent, type AgentDeps } from '../../src/agent.ts';
import { hashSecret } from '../../src/fridge-secrets.ts';
import { openLevelStore } from '../../src/level-store.ts';

/** Fridge secrets for tests: `secret-<id>`, as keyed hashes. */
export async function fridgeHashes(ids: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of ids) out[id] = hashSecret(`secret-${id}`);
  return out;
}

/** A test config: ports 0, loopback, fast timers; `over` merges one level deep. */
export function testConfig(dataDir: string, over: Partial<GatewayConfigInput> & { fridges?: Record<string, string> } = {}): GatewayConfig {
  const { fridges, ...rest } = over;
  return GatewayConfigSchema.parse({
    gatewayId: 'gw1',
    venueId: 'v1',
    ...rest,
    mqtt: { topicPrefix: '', ...rest.mqtt, embedded: { host: '127.0.0.1', port: 0, ...rest.mqtt?.embedded }, fridges: fridges ?? {} },
    http: { host: '127.0.0.1', port: 0, ...rest.http },
    storage: { dataDir, ...rest.storage },
    central: { backoffMinMs: 50, backoffMaxMs: 200, ...rest.central },
    reconcile: { debounceMs: 10, sweepIntervalMs: 200, ...rest.reconcile },
    presence: { minIntervalMs: 60_000, ...rest.presence },
  });
}

/** Marks a data dir as an intact store of replica `gw:<gatewayId>:<epoch>` (no central needed). */
export async function seedActiveStore(dataDir: string, epoch = 1, gatewayId = 'gw1', venueId = 'v1', updates: Uint8Array[] = []): Promise<void> {
  const s = await openLevelStore(dataDir);
  for (const u of updates) await s.append(u);
  await s.writeMeta({ gatewayId, venueId, epoch, state: 'active', updatedAt: Date.now() });
  await s.close();
}

/** Starts an agent and registers its shutdown. */
export async function startAgent(config: GatewayConfig, defer: (fn: () => unknown) => void, deps: AgentDeps = {}): Promise<Agent> {
  const agent = await createAgent(config, { logger: pino({ level: process.env.TEST_LOG ?? 'silent' }), ...deps });
  defer(() => agent.close());
  return agent;
}

/** Connects a fridge (client id = username = fridge id) with MQTT 3.1.1. */
export async function connectFridge(port: number, id: string, defer: (fn: () => unknown) => void, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: id,
    username: id,
    password: `secret-${id}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...opts,
  });
  defer(() => c.endAsync(true));
  return c;
}

/** An inventory payload. */
export function inventory(boot: number, seq: number, items: Record<string, number>, ts = new Date().toISOString()): string {
  return JSON.stringify({ boot, seq, ts, items });
}

/** A free TCP port on loopback (for a server that starts later). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
