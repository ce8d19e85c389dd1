/**
 * The real processes a reliability scenario runs, started the way an operator starts them
 * (`fridgesync central`, `fridgesync gateway`, each its own process with a LevelDB store in a temp
 * dir), with the gateway's uplink through a {@link FaultProxy}, fridges as mqtt.js clients and
 * customers as HTTP clients whose every attempt lands in a {@link History}. The rig only talks to
 * the processes over their network interfaces; it reads a stopped gateway's store from disk for
 * the final comparison of folds. Everything is torn down through the caller's `defer`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { hashToken } from '@fridgesync/server';
import { hashSecret, openLevelStore } from '@fridgesync/gateway-agent';
import * as Y from 'yjs';
import { ORIGINS, VenueDoc, foldOrder, fridgeCells, orderResponse, type FridgeId, type OrderId, type ReplicaId, type VenueId } from '@fridgesync/shared';
import { FaultProxy } from './fault-proxy.ts';
import { History, orderOutcome, type OrderRead, type ReplicaRead } from './history.ts';
import { exitsWithin, freePort, spawnCli, type Spawned } from '../integration/helpers/cli.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

export type Defer = (fn: () => unknown) => void;

export const VENUE = 'venue-rel';
export const GATEWAY = 'gw-rel';
export const MEALS = ['meal-a', 'meal-b'] as const;
export const TOKENS = { app: 'app-token-rel', viewer: 'viewer-token-rel', admin: 'admin-token-rel', gateway: 'gateway-token-rel' } as const;
/** Every fridge's MQTT secret. */
export const FRIDGE_SECRET = 'fridge-secret-reliability-0001';

/** The part of a gateway's `/status` the scenarios read. */
export interface GatewayStatus {
  replica?: string;
  lifecycle: string;
  pendingUpdates: number;
  sync: { state: string; refusal?: { code: number; reason: string } };
  recovery?: { reason: string; from: string };
}

/** Options of a central process. */
export interface CentralOptions {
  /** `FRIDGESYNC_CRASH_AT` for this process. */
  crashAt?: string;
  pingIntervalMs?: number;
  /** Another port (a second central process on the same store); default the rig's. */
  port?: number;
}

/** Options of a gateway process. */
export interface GatewayOptions {
  crashAt?: string;
  /** `storage.snapshotFoldMs`. */
  snapshotFoldMs?: number;
  /** `central.pingIntervalMs`. */
  pingIntervalMs?: number;
  /** `storage.compactEveryUpdates`. */
  compactEveryUpdates?: number;
  /** Other ports and store (a second gateway process); default the rig's. */
  mqttPort?: number;
  httpPort?: number;
  /** `storage.dataDir`; default `<rig dir>/gateway`. */
  dataDir?: string;
  /** Keys of `mqtt` replacing the rig's (e.g. `mode: 'external'` with `external`). */
  mqtt?: Record<string, unknown>;
}

/** The children get the machine's environment without the tests' own FRIDGESYNC_* variables (configs are strict). */
export function childEnv(crashAt: string | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FRIDGESYNC_')));
  return crashAt === undefined ? env : { ...env, FRIDGESYNC_CRASH_AT: crashAt };
}

/** One venue: central, a gateway behind a fault proxy, fridges `f1…fN`. */
export class Rig {
  readonly dir: string;
  readonly history = new History();
  readonly proxy: FaultProxy;
  central: Spawned | undefined;
  gateway: Spawned | undefined;
  readonly ports = { central: 0, mqtt: 0, http: 0 };
  readonly fridges: string[];
  /** Each fridge's MQTT secret ({@link FRIDGE_SECRET} unless a scenario gives one its own before starting the gateway). */
  readonly secrets: Record<string, string>;

  constructor(
    private readonly defer: Defer,
    readonly seed: number,
    fridgeCount = 1,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'fs-rel-'));
    defer(() => rmSync(this.dir, { recursive: true, force: true }));
    this.proxy = new FaultProxy(() => this.ports.central, seed);
    this.fridges = Array.from({ length: fridgeCount }, (_, i) => `f${i + 1}`);
    this.secrets = Object.fromEntries(this.fridges.map((f) => [f, FRIDGE_SECRET]));
    defer(() => this.proxy.close());
  }

  get centralUrl(): string {
    return `http://127.0.0.1:${this.ports.central}`;
  }

  get kioskUrl(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  async init(): Promise<void> {
    this.ports.central = await freePort();
    this.ports.mqtt = await freePort();
    this.ports.http = await freePort();
    await this.proxy.start();
  }

  /** Ports, central and the gateway, each started and ready. */
  async start(o: { central?: CentralOptions; gateway?: GatewayOptions } = {}): Promise<void> {
    await this.init();
    await this.startCentral(o.central);
    await this.startGateway(o.gateway);
    await waitFor(async () => (await fetch(`${this.kioskUrl}/readyz`)).ok, 30_000, 'gateway ready');
  }

  /** Starts central (or starts it again on the same port and store) and waits until it is ready. */
  async startCentral(o: CentralOptions = {}): Promise<Spawned> {
    this.central = this.spawnCentral(o);
    await waitFor(async () => (await fetch(`${this.centralUrl}/readyz`)).ok || this.exited(this.central), 30_000, 'central ready');
    return this.central;
  }

  /** Spawns a central process on the rig's store (`o.port` or the rig's port) without waiting. */
  spawnCentral(o: CentralOptions = {}): Spawned {
    const port = o.port ?? this.ports.central;
    const file = join(this.dir, `central-${port}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        instanceId: 'c1',
        http: { host: '127.0.0.1', port, shutdownGraceMs: 1_000, writeRateLimitPerMinute: 100_000 },
        storage: { engine: 'level', dataDir: join(this.dir, 'central') },
        orders: { sweepMs: 200 },
        sync: { pingIntervalMs: o.pingIntervalMs ?? 15_000 },
        tokens: [
          { role: 'app', name: 'app', hash: hashToken(TOKENS.app) },
          { role: 'viewer', name: 'viewer', hash: hashToken(TOKENS.viewer) },
          { role: 'admin', name: 'admin', hash: hashToken(TOKENS.admin) },
          { role: 'gateway', name: 'gw', hash: hashToken(TOKENS.gateway), venueId: VENUE, gatewayId: GATEWAY },
        ],
        registry: {
          venues: [{ id: VENUE, name: 'Reliability', city: 'Testville', timezone: 'UTC', fridges: this.fridges.map((id) => ({ id, name: id, reconciler: GATEWAY })), gateways: [{ id: GATEWAY }] }],
          meals: MEALS.map((id) => ({ id, name: id, priceCents: 500 })),
        },
        logLevel: process.env.TEST_LOG ?? 'warn',
      }),
    );
    return spawnCli(this.defer, ['central', '--config', file], { env: childEnv(o.crashAt) });
  }

  /** Starts the gateway (or again, same ports and store); resolves once it answers `/livez`. */
  async startGateway(o: GatewayOptions = {}): Promise<Spawned> {
    this.gateway = this.spawnGateway(o);
    await waitFor(async () => (await fetch(`${this.kioskUrl}/livez`)).ok || this.exited(this.gateway), 30_000, 'gateway answers');
    return this.gateway;
  }

  /** Spawns a gateway process (the rig's ports and store unless `o` names others) without waiting. */
  spawnGateway(o: GatewayOptions = {}): Spawned {
    const http = o.httpPort ?? this.ports.http;
    const file = this.gatewayConfigFile(http);
    writeFileSync(
      file,
      JSON.stringify({
        gatewayId: GATEWAY,
        venueId: VENUE,
        mqtt: { embedded: { host: '127.0.0.1', port: o.mqttPort ?? this.ports.mqtt }, fridges: Object.fromEntries(this.fridges.map((f) => [f, hashSecret(this.secrets[f]!)])), ...o.mqtt },
        central: { url: `ws://127.0.0.1:${this.proxy.port}`, token: TOKENS.gateway, backoffMinMs: 50, backoffMaxMs: 1_000, pingIntervalMs: o.pingIntervalMs ?? 15_000 },
        http: { host: '127.0.0.1', port: http },
        storage: { dataDir: o.dataDir ?? this.gatewayDir, snapshotFoldMs: o.snapshotFoldMs ?? 1_000, ...(o.compactEveryUpdates === undefined ? {} : { compactEveryUpdates: o.compactEveryUpdates }) },
        reconcile: { debounceMs: 20, takerShare: 0.5 },
        presence: { minIntervalMs: 0, resendInventoryOnConnect: false },
        shutdown: { retire: 'never', graceMs: 2_000 },
        logLevel: process.env.TEST_LOG ?? 'warn',
      }),
    );
    return spawnCli(this.defer, ['gateway', '--config', file], { env: childEnv(o.crashAt) });
  }

  /** The config file of the gateway process answering on `httpPort` (written when it was spawned). */
  gatewayConfigFile(httpPort = this.ports.http): string {
    return join(this.dir, `gateway-${httpPort}.json`);
  }

  /** The gateway's store directory. */
  get gatewayDir(): string {
    return join(this.dir, 'gateway');
  }

  private exited(p: Spawned | undefined): boolean {
    if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null) return false;
    throw new Error(`process exited at start:\n${p?.output().slice(-2000)}`);
  }

  /** `kill -9` (or another signal) and wait for the exit. */
  async kill(p: Spawned | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill(signal);
    await exitsWithin(p, 15_000);
  }

  /** `/status` of the gateway (or of the one answering on `httpPort`; undefined while it does not answer). */
  async gatewayStatus(httpPort = this.ports.http): Promise<GatewayStatus | undefined> {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/status`, { signal: AbortSignal.timeout(2_000) });
      return r.ok ? ((await r.json()) as never) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Until the gateway is synced with nothing waiting for central. */
  async quiesced(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      const s = await this.gatewayStatus();
      return s?.sync.state === 'synced' && s.pendingUpdates === 0;
    }, timeoutMs, 'gateway synced, nothing pending');
  }

  /** Connects fridge `id` (MQTT 3.1.1, clean session, no automatic reconnect). */
  async fridge(id: string): Promise<Fridge> {
    let client: MqttClient | undefined;
    await waitFor(async () => {
      client = await mqtt.connectAsync(`mqtt://127.0.0.1:${this.ports.mqtt}`, { clientId: id, username: id, password: this.secrets[id], protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 2_000 });
      return true;
    }, 30_000, `fridge ${id} connected`);
    const f = new Fridge(id, client!, this.history);
    this.defer(() => f.client.endAsync(true).catch(() => undefined));
    return f;
  }

  /** An order through central (`central`) or the gateway's kiosk (`kiosk`), recorded with its outcome. */
  async order(via: 'central' | 'kiosk', orderId: string, fridge: string, items: Record<string, number>, timeoutMs = 5_000): Promise<number | undefined> {
    const done = this.history.invoke<import('./history.ts').OrderOp>({ kind: 'order', orderId, taker: via === 'central' ? 'central' : `kiosk:${GATEWAY}`, fridge, items });
    const url = via === 'central' ? `${this.centralUrl}/v1/orders` : `${this.kioskUrl}/v1/orders`;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(via === 'central' ? { authorization: `Bearer ${TOKENS.app}` } : {}) };
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ orderId, venueId: VENUE, fridgeId: fridge, items: Object.entries(items).map(([mealId, qty]) => ({ mealId, qty })), holdSeconds: 3_600 }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await r.arrayBuffer();
      done(orderOutcome(r.status), { status: r.status });
      return r.status;
    } catch {
      done('unknown');
      return undefined;
    }
  }

  /** What central reads: the venue's cells and every order the history names (or only `ids`). */
  async centralRead(ids?: Iterable<string>): Promise<ReplicaRead> {
    const auth = { authorization: `Bearer ${TOKENS.viewer}` };
    const v = (await (await fetch(`${this.centralUrl}/v1/venues/${VENUE}`, { headers: auth })).json()) as { fridges: Array<{ fridgeId: string; cells: Array<{ mealId: string; T: number; R: number; S: number }> }> };
    const cells = Object.fromEntries(v.fridges.map((f) => [f.fridgeId, Object.fromEntries(f.cells.map((c) => [c.mealId, { T: c.T, R: c.R, S: c.S }]))]));
    return { replica: 'central', cells, orders: await this.ordersFrom(this.centralUrl, auth, ids) };
  }

  /** The orders the history names (or only `ids`), as the gateway's kiosk API folds them. */
  async kioskOrders(ids?: Iterable<string>): Promise<Record<string, OrderRead>> {
    return this.ordersFrom(this.kioskUrl, {}, ids);
  }

  /**
   * What the stopped gateway's store folds (its document as it would load it): the cells of every
   * fridge and the orders the history names. Intake records not yet folded are not in it: read
   * only after the gateway was quiet (synced, nothing pending) when it stopped.
   */
  async gatewayStoreRead(): Promise<ReplicaRead> {
    const store = await openLevelStore(this.gatewayDir);
    try {
      const stored = await store.load();
      const doc = new VenueDoc({ replica: 'central:reader' as ReplicaId });
      doc.applyUpdate(Y.mergeUpdates(stored.updates), ORIGINS.storageLoad);
      const cells = Object.fromEntries(this.fridges.map((f) => [f, Object.fromEntries(fridgeCells(doc, f as FridgeId).map((c) => [c.meal, { T: c.T, R: c.R, S: c.S }]))]));
      const orders: Record<string, OrderRead> = {};
      for (const id of new Set(this.history.orders().map((o) => o.orderId))) {
        const fold = foldOrder(doc, id as OrderId);
        if (fold !== undefined) orders[id] = toOrderRead(orderResponse(VENUE as VenueId, fold));
      }
      return { replica: 'gateway (store)', cells, orders };
    } finally {
      await store.close();
    }
  }

  private async ordersFrom(base: string, headers: Record<string, string>, ids?: Iterable<string>): Promise<Record<string, OrderRead>> {
    const out: Record<string, OrderRead> = {};
    for (const id of new Set(ids ?? this.history.orders().map((o) => o.orderId))) {
      const r = await fetch(`${base}/v1/orders/${id}`, { headers });
      if (r.status === 404) continue;
      if (!r.ok) throw new Error(`GET ${base}/v1/orders/${id}: ${r.status}`);
      out[id] = toOrderRead((await r.json()) as OrderJson);
    }
    return out;
  }
}

type Lines = Array<{ mealId: string; qty: number }>;
/** An order as both HTTP APIs answer it (shared `orderResponse`). */
interface OrderJson {
  state: OrderRead['state'];
  items: Lines;
  conflicts?: string[];
  variants?: Array<{ items: Lines }>;
}

function toOrderRead(o: OrderJson): OrderRead {
  const lines = (items: Lines) => Object.fromEntries(items.map((l) => [l.mealId, l.qty]));
  return { state: o.state, conflicts: o.conflicts ?? [], variants: (o.variants ?? [{ items: o.items }]).map((v) => lines(v.items)) };
}

/** A fridge that reports full totals and records each report in the history. */
export class Fridge {
  seq = 0;
  boot = 1;

  constructor(
    readonly id: string,
    public client: MqttClient,
    private readonly history: History,
  ) {}

  /** Publishes the next snapshot; `ok` on PUBACK within `timeoutMs`, `unknown` otherwise. */
  async snapshot(items: Record<string, number>, timeoutMs = 5_000): Promise<boolean> {
    return this.report(++this.seq, new Date().toISOString(), items, timeoutMs);
  }

  /** Publishes a snapshot with the given tag and time (duplicates, replays, reordering); recorded like {@link snapshot}. */
  async report(seq: number, ts: string, items: Record<string, number>, timeoutMs = 5_000): Promise<boolean> {
    const done = this.history.invoke<import('./history.ts').SnapshotOp>({ kind: 'snapshot', fridge: this.id, boot: this.boot, seq, items });
    const payload = JSON.stringify({ boot: this.boot, seq, ts, items });
    let timer: NodeJS.Timeout | undefined;
    const acked = await Promise.race([
      this.client.publishAsync(`fridges/${this.id}/inventory`, payload, { qos: 1 }).then(() => true, () => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    done(acked ? 'ok' : 'unknown');
    return acked;
  }
}
