/**
 * A real fridgesync stack on loopback for the browser test: central (`buildApp`) on a free port
 * with a LevelDB data dir, one gateway agent (`createAgent`) with its embedded broker, and an
 * mqtt.js client playing a fridge. Central can be stopped and started again on the same port and
 * data dir. Everything is torn down by {@link Stack.close}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { buildApp, CentralConfigSchema, hashToken, type Central } from '@fridgesync/server';
import { createAgent, GatewayConfigSchema, hashSecret, type Agent } from '@fridgesync/gateway-agent';
import { waitFor } from '@fridgesync/shared/test-harness';

export const VENUE = 'venue-e2e';
export const CITY = 'Testville';
export const FRIDGE = 'fr-e2e-1';
export const GATEWAY = 'gw-e2e';
export const MEALS = ['meal-bowl', 'meal-salad'] as const;
export const TOKENS = { viewer: 'viewer-token-e2e', app: 'app-token-e2e', kitchen: 'kitchen-token-e2e', admin: 'admin-token-e2e', gateway: 'gateway-token-e2e' } as const;
const FRIDGE_SECRET = 'fridge-secret-e2e';

/** Everything the test drives. */
export class Stack {
  central: Central | undefined;
  agent: Agent | undefined;
  fridge: MqttClient | undefined;
  centralUrl = '';
  private port = 0;
  private seq = 0;
  private dirPath: string | undefined;

  /** The temp dir, created on first use (a skipped suite creates nothing). */
  private get dir(): string {
    return (this.dirPath ??= mkdtempSync(join(tmpdir(), 'fridgesync-e2e-')));
  }

  private centralConfig() {
    return CentralConfigSchema.parse({
      instanceId: 'c1',
      http: { host: '127.0.0.1', port: this.port, shutdownGraceMs: 500 },
      storage: { engine: 'level', dataDir: join(this.dir, 'central') },
      events: { heartbeatMs: 1000 },
      orders: { sweepMs: 200 },
      tokens: [
        { role: 'viewer', name: 'dashboard', hash: hashToken(TOKENS.viewer) },
        { role: 'app', name: 'app', hash: hashToken(TOKENS.app) },
        { role: 'kitchen', name: 'kitchen', hash: hashToken(TOKENS.kitchen) },
        { role: 'admin', name: 'operator', hash: hashToken(TOKENS.admin) },
        { role: 'gateway', name: 'gw', hash: hashToken(TOKENS.gateway), venueId: VENUE, gatewayId: GATEWAY },
      ],
      registry: {
        venues: [{ id: VENUE, name: 'E2E Venue', city: CITY, timezone: 'Europe/Berlin', fridges: [{ id: FRIDGE, name: 'Lobby', reconciler: GATEWAY, par: { 'meal-bowl': 8 } }], gateways: [{ id: GATEWAY }] }],
        meals: MEALS.map((id) => ({ id, name: id, priceCents: 650 })),
      },
      logLevel: 'silent',
    });
  }

  /** Starts (or restarts, same port and data dir) central. */
  async startCentral(): Promise<void> {
    this.central = await buildApp(this.centralConfig());
    this.centralUrl = await this.central.listen();
    this.port = Number(new URL(this.centralUrl).port);
  }

  /** Stops central gracefully (its SSE streams and sync sockets end). */
  async stopCentral(): Promise<void> {
    await this.central?.close();
    this.central = undefined;
  }

  /** Central's port (for a relay in front of it). */
  get centralPort(): number {
    return this.port;
  }

  /**
   * Starts the gateway agent. `centralPort` points it at a relay instead of central; `now` is its
   * clock (a skewed host); `sweepIntervalMs` how often it expires holds.
   */
  async startGateway(opts: { centralPort?: number; now?: () => number; sweepIntervalMs?: number } = {}): Promise<void> {
    const config = GatewayConfigSchema.parse({
      gatewayId: GATEWAY,
      venueId: VENUE,
      mqtt: { embedded: { host: '127.0.0.1', port: 0 }, fridges: { [FRIDGE]: hashSecret(FRIDGE_SECRET) } },
      central: { url: `ws://127.0.0.1:${opts.centralPort ?? this.port}`, token: TOKENS.gateway, backoffMinMs: 50, backoffMaxMs: 500 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { dataDir: join(this.dir, 'gateway') },
      reconcile: { debounceMs: 10, ...(opts.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: opts.sweepIntervalMs }) },
      presence: { minIntervalMs: 0 },
      logLevel: 'silent',
    });
    this.agent = await createAgent(config, opts.now === undefined ? {} : { now: opts.now });
    // A new replica writes nothing (and its broker refuses fridges) before its first full sync
    // with central (docs/design.md "Replica lifecycle").
    await waitFor(() => this.agent!.replica.writable, 15_000, 'gateway replica writable');
  }

  /** Connects the simulated fridge (MQTT 3.1.1, will = offline) and says it is online. */
  async connectFridge(): Promise<void> {
    const will = { topic: `fridges/${FRIDGE}/status`, payload: Buffer.from(JSON.stringify({ online: false, ts: new Date().toISOString() })), qos: 1 as const, retain: true };
    this.fridge = await mqtt.connectAsync(`mqtt://127.0.0.1:${this.agent!.mqttPort}`, { clientId: FRIDGE, username: FRIDGE, password: FRIDGE_SECRET, protocolVersion: 4, reconnectPeriod: 200, will });
    await this.fridge.publishAsync(`fridges/${FRIDGE}/status`, JSON.stringify({ online: true, ts: new Date().toISOString(), temperatureC: 3.5, door: 'closed', firmware: '1.2.3' }), { qos: 1, retain: true });
  }

  /** Publishes a full inventory snapshot (QoS 1; resolves on PUBACK, i.e. once durable at the gateway). */
  async snapshot(items: Record<string, number>): Promise<void> {
    await this.fridge!.publishAsync(`fridges/${FRIDGE}/inventory`, JSON.stringify({ boot: 1, seq: ++this.seq, ts: new Date().toISOString(), items }), { qos: 1 });
  }

  /** Publishes telemetry (QoS 0). */
  async telemetry(temperatureC: number, door: 'open' | 'closed'): Promise<void> {
    await this.fridge!.publishAsync(`fridges/${FRIDGE}/telemetry`, JSON.stringify({ ts: new Date().toISOString(), temperatureC, door }), { qos: 0 });
  }

  /** Cuts the fridge's TCP connection without DISCONNECT, so the broker publishes its will (offline). */
  killFridge(): void {
    const c = this.fridge!;
    c.options.reconnectPeriod = 0;
    c.stream.destroy();
  }

  /** `POST /v1/orders` with the app token (a 10-minute hold unless `holdSeconds`). */
  async order(orderId: string, mealId: string, qty = 1, holdSeconds = 600): Promise<Response> {
    return fetch(`${this.centralUrl}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.app}`, 'content-type': 'application/json' },
      body: JSON.stringify({ orderId, venueId: VENUE, fridgeId: FRIDGE, items: [{ mealId, qty }], holdSeconds }),
    });
  }

  /** `POST /v1/kitchen/deliveries` with the kitchen token. */
  async delivery(deliveryId: string, items: Record<string, number>): Promise<Response> {
    return fetch(`${this.centralUrl}/v1/kitchen/deliveries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.kitchen}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deliveryId, venueId: VENUE, fridgeId: FRIDGE, items }),
    });
  }

  /** The merged venue state as central serves it (viewer token). */
  async venue(): Promise<{ fridges: Array<{ fridgeId: string; cells: Array<{ mealId: string; T: number; R: number; S: number; centralRights?: number }> }> }> {
    const res = await fetch(`${this.centralUrl}/v1/venues/${VENUE}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    return res.json() as never;
  }

  /** One teardown for everything, in reverse order of start; safe to call twice. */
  async close(): Promise<void> {
    await this.fridge?.endAsync(true).catch(() => undefined);
    this.fridge = undefined;
    await this.agent?.close().catch(() => undefined);
    this.agent = undefined;
    await this.stopCentral().catch(() => undefined);
    if (this.dirPath !== undefined) rmSync(this.dirPath, { recursive: true, force: true });
  }
}
