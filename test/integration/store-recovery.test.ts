/**
 * Cross-package: a real central (LevelDB) and real gateway agents (embedded broker, LevelDB) whose
 * store central refuses — a store that lost its newest writes (a damaged LevelDB log) or a copy of
 * a store that kept running elsewhere (a restored backup). The gateway must notice, stop claiming
 * readiness while central refuses it, back off, recover under a new epoch from central's state and
 * bring what it acknowledged meanwhile to central (docs/operations.md "Durability and recovery").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import pino from 'pino';
import { ORIGINS, VenueDoc, fridgeCells, gatewayReplicaId, isRetired, keys, observedSnapshot, type EntryWriter, type FridgeId, type GatewayId } from '@fridgesync/shared';
import * as Y from 'yjs';
import { createAgent, GatewayConfigSchema, hashSecret, openLevelStore, type Agent } from '@fridgesync/gateway-agent';
import { FRIDGE, GATEWAY, MEALS, Stack, TOKENS, VENUE } from '../e2e/helpers/stack.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { freePort } from '../../gateway-agent/test/helpers/agent.ts';

const SECRET = 'fridge-secret-store';
const REPO = fileURLToPath(new URL('../..', import.meta.url));

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
      mqtt: { embedded: { host: '127.0.0.1', port: 0 }, fridges: { [FRIDGE]: hashSecret(SECRET) } },
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
  async fridge(agent: Agent | number, seq = 0, items: Record<string, number> = {}): Promise<SimFridge> {
    const port = typeof agent === 'number' ? agent : agent.mqttPort;
    // A gateway that cannot store messages yet (joining) refuses fridges: try again, as fridges do.
    let c: MqttClient | undefined;
    for (let i = 0; c === undefined; i++) {
      try {
        // A persistent session: its command subscription outlives a reconnect, so a command the
        // gateway sends as the fridge comes back (before it subscribed again) is not lost. A
        // reconnect refused while the gateway rebuilds its store (joining) is retried, as the
        // first connect is: mqtt.js gives up after a refused CONNACK unless told otherwise.
        c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: FRIDGE, username: FRIDGE, password: SECRET, protocolVersion: 4, reconnectPeriod: 100, reconnectOnConnackError: true, clean: false });
      } catch (e) {
        if (i >= 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
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
      // Subscribed to its commands before it says it is online (the gateway answers that with a command).
      c.subscribe(`fridges/${FRIDGE}/commands`, { qos: 1 }, (err) => {
        if (err === null || err === undefined) c.publish(`fridges/${FRIDGE}/status`, JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1, retain: true }, () => undefined);
      });
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

  /**
   * Runs a gateway as its own process (`fridgesync gateway run`) on fixed ports; `kill -9` it with
   * `child.kill('SIGKILL')`.
   */
  async gatewayProcess(dataDir: string, ports: { mqtt: number; http: number }): Promise<ChildProcess> {
    const file = join(this.dir, `gateway-${ports.http}.yaml`);
    writeFileSync(
      file,
      stringify({
        gatewayId: GATEWAY,
        venueId: VENUE,
        mqtt: { embedded: { host: '127.0.0.1', port: ports.mqtt }, fridges: { [FRIDGE]: hashSecret(SECRET) } },
        central: { url: this.stack.centralUrl.replace(/^http/, 'ws'), token: TOKENS.gateway, backoffMinMs: 50, backoffMaxMs: 2_000 },
        http: { host: '127.0.0.1', port: ports.http },
        storage: { dataDir },
        reconcile: { debounceMs: 10 },
        presence: { minIntervalMs: 0 },
        shutdown: { retire: 'never' },
        logLevel: process.env.TEST_LOG ?? 'silent',
      }),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'fridgesync.ts'), 'gateway', 'run', '--config', file], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    this.children.push(child);
    return child;
  }
  private children: ChildProcess[] = [];

  async close(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
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
const kioskOrder = (a: Agent, orderId: string, mealId: string) =>
  fetch(`http://127.0.0.1:${a.httpPort}/v1/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId, venueId: VENUE, fridgeId: FRIDGE, items: [{ mealId, qty: 1 }], holdSeconds: 600 }),
  });

async function centralOrder(rig: Rig, orderId: string): Promise<{ state: string } | undefined> {
  const r = await fetch(`${rig.stack.centralUrl}/v1/orders/${orderId}`, { headers: { authorization: `Bearer ${TOKENS.app}` } });
  return r.status === 200 ? ((await r.json()) as { state: string }) : undefined;
}

/**
 * Appends to a stopped gateway's store one update of its replica, written by `fn` on top of what
 * the store holds (a store that holds something central will refuse).
 */
async function injectIntoStore(dir: string, epoch: number, fn: (w: EntryWriter) => void): Promise<void> {
  const store = await openLevelStore(dir);
  const stored = await store.load();
  const doc = new VenueDoc({ replica: gatewayReplicaId(GATEWAY as GatewayId, epoch) });
  doc.applyUpdate(Y.mergeUpdates(stored.updates), ORIGINS.storageLoad);
  const before = Y.encodeStateVector(doc.ydoc);
  doc.transact(ORIGINS.test, fn);
  await store.append(Y.encodeStateAsUpdate(doc.ydoc, before));
  await store.close();
}

/** Sum of a metric's values whose labels include `labels`. */
async function metric(a: Agent, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await a.metrics.registry.getMetricsAsJSON();
  return (m.find((x) => x.name === name)?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}

const ready = async (a: Agent | number) => (await fetch(`http://127.0.0.1:${typeof a === 'number' ? a : a.httpPort}/readyz`)).status;

/** `/status` of a gateway process (undefined while it does not answer). */
async function statusOf(httpPort: number): Promise<{ replica?: string; lifecycle: string; pendingUpdates: number; recovery?: { reason: string; from: string } } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/status`);
    return r.status === 200 ? ((await r.json()) as never) : undefined;
  } catch {
    return undefined;
  }
}

describe('a store central refuses', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it.each([
    ['truncated', (log: string) => truncateSync(log, Math.floor(statSync(log).size / 2))],
    [
      'corrupted (8 bytes flipped)',
      (log: string) => {
        const bytes = readFileSync(log);
        const at = Math.floor(bytes.length * 0.6);
        for (let i = at; i < at + 8; i++) bytes[i] = bytes[i]! ^ 0xff;
        writeFileSync(log, bytes);
      },
    ],
  ] as const)('a store whose newest log is %s recovers under a new epoch and central gets what was acknowledged', async (_how, damage) => {
    rig = new Rig();
    await rig.stack.startCentral();
    const gwDir = join(rig.dir, 'gw');
    const a1 = await rig.gateway(gwDir);
    await waitFor(() => a1.sync?.state === 'synced', 15_000, 'first gateway synced');
    const f1 = await rig.fridge(a1);
    for (let i = 1; i <= 30; i++) await f1.publish({ [MEALS[0]]: 10 + i, [MEALS[1]]: 3 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 40, 15_000, 'central sees T = 40');
    await waitFor(() => a1.status().pendingUpdates === 0, 10_000, 'all durable at central');
    await f1.client.endAsync(true);
    await a1.close();
    // The newest LevelDB log is damaged (a disk's lost write cache, a bad copy, bit rot).
    damage(newestLog(gwDir));

    const t0 = Date.now();
    const a2 = await rig.gateway(gwDir);
    // The damaged store opens as the same replica, behind what central holds of it.
    expect(a2.replica.replica).toBe(`gw:${GATEWAY}:1`);
    expect(observedSnapshotOf(a2)!.q).toBeLessThan(30);
    // Meanwhile a walk-in took one: the fridge's totals (39) reach the gateway only when it asks.
    const f2 = await rig.fridge(a2, 30, { [MEALS[0]]: 39, [MEALS[1]]: 3 });
    await waitFor(() => a2.replica.replica === `gw:${GATEWAY}:2` && a2.replica.writable, 15_000, 'active under a new epoch');
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 39, 15_000, 'central sees the fridge\'s current totals');
    await waitFor(async () => (await ready(a2)) === 200, 10_000, 'ready again');
    const recoveredMs = Date.now() - t0;
    console.log(`damaged log: start to recovered (new epoch, central has the fridge's current totals, /readyz 200) in ${recoveredMs} ms`);
    // Central's state is what the new epoch started from; the damaged epoch is retired there.
    const doc = rig.stack.central!.registry.peek(VENUE as never)!.doc;
    await waitFor(() => isRetired(doc, `gw:${GATEWAY}:1` as never), 10_000, 'old epoch retired at central');
    // Never sent what contradicts central: no refusal, one rebuild for lost writes.
    const m = await a2.metrics.registry.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string> = {}) =>
      (m.find((x) => x.name === name)?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
    expect(value('fridgesync_gateway_sync_errors_total', { reason: 'close-4403' })).toBe(0);
    expect(value('fridgesync_gateway_store_rebuilds_total', { reason: 'lost-writes' })).toBe(1);
    expect(a2.status().recovery).toMatchObject({ reason: 'lost-writes', from: `gw:${GATEWAY}:1`, problems: [] });
    // The fridge was asked for its totals (what a damaged log lost comes again that way).
    expect(f2.resends).toBeGreaterThan(0);
    // Both sides fold the same cells.
    await waitFor(async () => {
      const c = (await rig!.centralCells()).get(MEALS[0]);
      const g = fridgeCells(a2.replica.doc, FRIDGE as FridgeId).find((x) => x.meal === MEALS[0]);
      return c !== undefined && g !== undefined && c.T === g.T && c.S === g.S && c.R === g.R && c.S === c.T - c.R;
    }, 15_000, 'same folds on both sides');
  }, 60_000);

  it('a copy of a store that ran on elsewhere rejoins under a new epoch and brings its offline snapshot and kiosk order', async () => {
    rig = new Rig();
    await rig.stack.startCentral();
    const dirA = join(rig.dir, 'a');
    const dirB = join(rig.dir, 'b');
    const a1 = await rig.gateway(dirA);
    await waitFor(() => a1.sync?.state === 'synced', 15_000, 'original synced');
    const fa = await rig.fridge(a1);
    await fa.publish({ [MEALS[0]]: 20, [MEALS[1]]: 4 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.S === 20, 15_000, 'central counts the stock in');
    await waitFor(() => a1.status().pendingUpdates === 0 && Object.keys(a1.status().rightsHeld).length > 0, 10_000, 'gateway holds rights, all at central');
    await fa.client.endAsync(true);
    await a1.close();
    cpSync(dirA, dirB, { recursive: true });
    // The original runs on and central has what it writes.
    const a2 = await rig.gateway(dirA);
    await waitFor(() => a2.sync?.state === 'synced', 15_000, 'original synced again');
    const fa2 = await rig.fridge(a2, fa.seq, fa.items);
    await fa2.publish({ [MEALS[0]]: 19, [MEALS[1]]: 4 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 19, 15_000, 'central sees T = 19');
    // Its kiosk sells every unit the gateway holds rights for: the copy's view of them is stale.
    let sold = 0;
    for (let i = 0; i < 10; i++) if ((await kioskOrder(a2, `kiosk-original-${i}`, MEALS[0])).status === 201) sold++;
    expect(sold).toBeGreaterThan(0);
    await waitFor(() => a2.status().pendingUpdates === 0, 10_000, 'original all at central');
    await fa2.client.endAsync(true);
    await a2.close();
    await rig.stack.stopCentral();

    // The copy starts with central unreachable: it sells and takes snapshots on its own.
    const b = await rig.gateway(dirB);
    expect(b.replica.replica).toBe(`gw:${GATEWAY}:1`);
    expect(b.replica.writable).toBe(true);
    const fb = await rig.fridge(b, fa2.seq, fa2.items);
    await fb.publish({ [MEALS[0]]: 18, [MEALS[1]]: 4 });
    const order = await kioskOrder(b, 'kiosk-offline-1', MEALS[0]);
    expect(order.status).toBe(201);

    const t0 = Date.now();
    await rig.stack.startCentral();
    await waitFor(() => b.replica.replica === `gw:${GATEWAY}:2` && b.replica.writable, 20_000, 'the copy active under a new epoch');
    // The acknowledged snapshot and the confirmed kiosk order reach central under the new epoch.
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 18, 15_000, 'central sees the offline snapshot');
    await waitFor(async () => (await centralOrder(rig!, 'kiosk-offline-1'))?.state === 'reserved', 15_000, 'central holds the offline kiosk order');
    await waitFor(async () => (await ready(b)) === 200, 10_000, 'ready again');
    console.log(`restored copy: central back to recovered (new epoch, snapshot and kiosk order at central, /readyz 200) in ${Date.now() - t0} ms`);
    // And it stays in sync: central refuses nothing of what follows (no FOREIGN_DELETE loop).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await metric(b, 'fridgesync_gateway_sync_errors_total', { reason: 'close-4403' })).toBe(0);
    expect(b.sync?.state).toBe('synced');
    // The copy sold from a stale view of the rights: its confirmed order is recorded without them and reported.
    expect(b.status().recovery).toMatchObject({ reason: 'foreign-writes', from: `gw:${GATEWAY}:1`, waiting: 0, problems: [{ key: 'o/kiosk-offline-1', problem: 'unbacked' }] });
    const doc = rig.stack.central!.registry.peek(VENUE as never)!.doc;
    await waitFor(() => isRetired(doc, `gw:${GATEWAY}:1` as never), 10_000, 'old epoch retired at central');
    await waitFor(async () => {
      const c = (await rig!.centralCells()).get(MEALS[0]);
      return c !== undefined && c.R === sold + 1 && c.S === c.T - c.R;
    }, 15_000, 'central: R = both kiosks\' orders, S = T - R');
  }, 90_000);
  it('central refusing what the store sends: not ready, alert, and the retries back off', async () => {
    rig = new Rig();
    await rig.stack.startCentral();
    const dir = join(rig.dir, 'gw');
    const a1 = await rig.gateway(dir);
    await waitFor(() => a1.sync?.state === 'synced' && a1.replica.writable, 15_000, 'gateway synced');
    await a1.close();
    // The store holds an entry only central may write: central refuses it (NOT_PERMITTED), which
    // no new epoch can cure; the gateway must say so and wait ever longer between attempts.
    await injectIntoStore(dir, 1, (w) => w.set(keys.delivery('d-forged' as never), { f: FRIDGE, i: { [MEALS[0]]: 1 }, at: Date.now() }));
    const a = await rig.gateway(dir);
    await waitFor(() => a.sync?.refusal !== undefined, 15_000, 'central refuses the gateway');
    expect(a.sync!.refusal!.reason).toMatch(/^NOT_PERMITTED/);
    expect(await ready(a)).toBe(503);
    expect(await metric(a, 'fridgesync_gateway_central_refused')).toBe(1);
    expect(a.status().sync).toMatchObject({ refusal: { code: 4403 } });
    // Attempts over a window: backoff 50 ms doubling to 2 s with full jitter makes a handful; a
    // retry loop without growth (every 25–50 ms) would make dozens.
    const before = await metric(a, 'fridgesync_gateway_sync_errors_total', { reason: 'close-4403' });
    await new Promise((r) => setTimeout(r, 4_000));
    const during = (await metric(a, 'fridgesync_gateway_sync_errors_total', { reason: 'close-4403' })) - before;
    console.log(`refused store: ${during} refused attempts in 4 s (backoff 50 ms .. 2 s)`);
    expect(during).toBeGreaterThan(0);
    expect(during).toBeLessThan(15);
    expect(a.sync!.refusal!.count).toBeGreaterThan(1);
    expect(await ready(a)).toBe(503);
    expect(await metric(a, 'fridgesync_gateway_store_rebuilds_total')).toBe(0);
  }, 60_000);

  it('central refusing the store as contradicting it rebuilds the store under a new epoch', async () => {
    rig = new Rig();
    await rig.stack.startCentral();
    const dir = join(rig.dir, 'gw');
    const a1 = await rig.gateway(dir);
    await waitFor(() => a1.sync?.state === 'synced' && a1.replica.writable, 15_000, 'gateway synced');
    const f = await rig.fridge(a1);
    await f.publish({ [MEALS[0]]: 6 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.S === 6, 15_000, 'central counts the stock in');
    await f.client.endAsync(true);
    await a1.close();
    // The store's snapshot of the fridge goes backwards: central refuses it (NOT_FORWARD) although
    // the store lost nothing central has and holds no foreign writes.
    await injectIntoStore(dir, 1, (w) => {
      const prev = w.get(keys.snapshot(FRIDGE as FridgeId)) as { ts: number; i: Record<string, number> };
      w.set(keys.snapshot(FRIDGE as FridgeId), { b: 1, e: 0, q: 0, ts: prev.ts - 1_000, i: prev.i });
    });
    const t0 = Date.now();
    const a = await rig.gateway(dir);
    await waitFor(() => a.replica.replica === `gw:${GATEWAY}:2` && a.replica.writable, 15_000, 'active under a new epoch');
    await waitFor(async () => (await ready(a)) === 200 && a.sync?.refusal === undefined, 15_000, 'accepted and ready again');
    console.log(`store refused as contradicting central: recovered in ${Date.now() - t0} ms`);
    expect(await metric(a, 'fridgesync_gateway_store_rebuilds_total', { reason: 'refused' })).toBe(1);
    expect(await metric(a, 'fridgesync_gateway_central_refused')).toBe(0);
    expect(a.status().recovery).toMatchObject({ reason: 'refused', from: `gw:${GATEWAY}:1` });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.S === 6, 15_000, 'central: S = 6');
  }, 60_000);
  it('kill -9 of a gateway process, then its newest log truncated: the next process recovers by itself', async () => {
    rig = new Rig();
    await rig.stack.startCentral();
    const dir = join(rig.dir, 'gw');
    const ports = { mqtt: await freePort(), http: await freePort() };
    const first = await rig.gatewayProcess(dir, ports);
    await waitFor(async () => (await statusOf(ports.http))?.replica === `gw:${GATEWAY}:1` && (await ready(ports.http)) === 200, 30_000, 'gateway process ready');
    const f = await rig.fridge(ports.mqtt);
    for (let i = 1; i <= 30; i++) await f.publish({ [MEALS[0]]: 10 + i, [MEALS[1]]: 3 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 40, 15_000, 'central sees T = 40');
    await waitFor(async () => (await statusOf(ports.http))?.pendingUpdates === 0, 10_000, 'all durable at central');
    const killed = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await killed;
    const log = newestLog(dir);
    truncateSync(log, Math.floor(statSync(log).size / 2));

    const t0 = Date.now();
    await rig.gatewayProcess(dir, ports);
    // The fridge reconnects by itself; what it sends next must reach central.
    await waitFor(async () => (await statusOf(ports.http))?.replica === `gw:${GATEWAY}:2` && (await ready(ports.http)) === 200, 30_000, 'recovered under a new epoch, ready');
    await f.publish({ [MEALS[0]]: 50, [MEALS[1]]: 3 });
    await waitFor(async () => (await rig!.centralCells()).get(MEALS[0])?.T === 50, 15_000, 'central sees the next snapshot');
    console.log(`kill -9 + truncated log: process start to recovered (new epoch, /readyz 200, central has the next snapshot) in ${Date.now() - t0} ms`);
    expect((await statusOf(ports.http))?.recovery).toMatchObject({ reason: 'lost-writes', from: `gw:${GATEWAY}:1` });
    const metrics = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
    expect(metrics).not.toMatch(/fridgesync_gateway_sync_errors_total\{reason="close-4403"\}/);
    expect(metrics).toMatch(/fridgesync_gateway_store_rebuilds_total\{reason="lost-writes"\} 1/);
  }, 90_000);
});
