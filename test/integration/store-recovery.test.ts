/**
 * Cross-package: a real central (LevelDB) and real gateway agents (embedded broker, LevelDB) whose
 * store central refuses — a store that lost its newest writes (a damaged LevelDB log) or a copy of
 * a store that kept running elsewhere (a restored backup). The gateway must notice, stop claiming
 * readiness while central refuses it, back off, recover under a new epoch from central's state and
 * bring what it acknowledged meanwhile to central (docs/operations.md "Durability and recovery").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { observedSnapshot, type FridgeId } from '@fridgesync/shared';
import { createAgent, GatewayConfigSchema, hashSecret, type Agent } from '@fridgesync/gateway-agent';
import { FRIDGE, GATEWAY, MEALS, Stack, TOKENS, VENUE, waitFor } from '../e2e/helpers/stack.ts';

const SECRET = 'fridge-secret-store';

type Cell = { mealId: string; T: number; R: number; S: number };

class Rig {
  readonly stack = new Stack();
  readonly dir = mkdtempSync(join(tmpdir(), 'fridgesync-store-'));
  private agents: Agent[] = [];
  private fridges: MqttClient[] = [];

  async gateway(dataDir: string, centralUrl = this.stack.centralUrl.replace(/^http/, 'ws')): Promise<Agent> {
    const config = GatewayConfigSchema.parse({
      gatewayId: GATEWAY,
      venueId: VENUE,
      mqtt: { embedded: { host: '127.0.0.1', port: 0 }, fridges: { [FRIDGE]: await hashSecret(SECRET, 10) } },
      central: { url: centralUrl, token: TOKENS.gateway, backoffMinMs: 50, backoffMaxMs: 2_000 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { dataDir },
      reconcile: { debounceMs: 10 },
      presence: { minIntervalMs: 0 },
      shutdown: { retire: 'never' },
      logLevel: 'silent',
    });
    const a = await createAgent(config, { logger: pino({ level: process.env.TEST_LOG ?? 'silent' }) });
    this.agents.push(a);
    return a;
  }

  /**
   * A fridge as the contract describes it: reconnects, says it is online, and answers
   * `resend-inventory` with its current totals under the next sequence number.
   */
  async fridge(agent: Agent, seq = 0, items: Record<string, number> = {}): Promise<SimFridge> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${agent.mqttPort}`, { clientId: FRIDGE, username: FRIDGE, password: SECRET, protocolVersion: 4, reconnectPeriod: 100 });
    const f: SimFridge = {
      client: c,
      seq,
      items,
      resends: 0,
      publish: async (next) => {
        f.items = next;
        await c.publishAsync(`fridges/${FRIDGE}/inventory`, JSON.stringify({ boot: 1, seq: ++f.seq, ts: new Date().toISOString(), items: next }), { qos: 1 });
      },
    };
    const online = () => {
      c.subscribe(`fridges/${FRIDGE}/commands`, { qos: 1 }, () => undefined);
      c.publish(`fridges/${FRIDGE}/status`, JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1, retain: true }, () => undefined);
    };
    c.on('connect', online);
    c.on('message', (_t, payload) => {
      if ((JSON.parse(payload.toString()) as { type?: string }).type !== 'resend-inventory') return;
      f.resends++;
      void f.publish(f.items).catch(() => undefined);
    });
    online();
    this.fridges.push(c);
    return f;
  }

  async centralCells(): Promise<Map<string, Cell>> {
    const v = await this.stack.venue();
    return new Map((v.fridges.find((f) => f.fridgeId === FRIDGE)?.cells ?? []).map((c) => [c.mealId, c as Cell]));
  }

  async close(): Promise<void> {
    for (const f of this.fridges) await f.endAsync(true).catch(() => undefined);
    for (const a of this.agents) await a.close().catch(() => undefined);
    await this.stack.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface SimFridge {
  client: MqttClient;
  seq: number;
  items: Record<string, number>;
  /** `resend-inventory` commands answered. */
  resends: number;
  /** Publishes full totals under the next sequence number; resolves on PUBACK. */
  publish(items: Record<string, number>): Promise<void>;
}

/** The newest LevelDB write-ahead log of a store. */
function newestLog(dir: string): string {
  const logs = readdirSync(dir).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => Number.parseInt(a) - Number.parseInt(b));
  return join(dir, logs.at(-1)!);
}

const observedSnapshotOf = (a: Agent) => observedSnapshot(a.replica.doc, FRIDGE as FridgeId);
const ready = async (a: Agent) => (await fetch(`http://127.0.0.1:${a.httpPort}/readyz`)).status;

describe('a store central refuses', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('a store that lost the tail of its log recovers under a new epoch and central gets what was acknowledged', async () => {
    rig = new Rig();
    await rig.stack.startCentral();
    const gwDir = join(rig.dir, 'gw');
    const a1 = await rig.gateway(gwDir);
    await waitFor(() => a1.sync?.state === 'synced', 15_000, 'first gateway synced');
    const f1 = await rig.fridge(a1);
    for (let seq = 1; seq <= 30; seq++) await f1.publish({ [MEALS[0]]: 10 + seq, [MEALS[1]]: 3 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 40, 15_000, 'central sees T = 40');
    await waitFor(() => a1.status().pendingUpdates === 0, 10_000, 'all durable at central');
    await f1.client.endAsync(true);
    await a1.close();
    const log = newestLog(gwDir);
    truncateSync(log, Math.floor(statSync(log).size / 2));

    console.log(readdirSync(gwDir).map((f) => `${f}:${statSync(join(gwDir, f)).size}`).join(' '));
    const a2 = await rig.gateway(gwDir);
    console.log('after restart', a2.replica.replica, a2.replica.state, JSON.stringify(observedSnapshotOf(a2)));
    const t0 = Date.now();
    const f2 = await rig.fridge(a2, 30, { [MEALS[0]]: 40, [MEALS[1]]: 3 });
    void f2.publish({ [MEALS[0]]: 50, [MEALS[1]]: 3 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 50, 30_000, 'central sees the snapshot acknowledged after the damage');
    console.log('recovered in', Date.now() - t0, 'ms; replica', a2.replica.replica, 'ready', await ready(a2));
  }, 60_000);
});
