/**
 * One simulated fridge's MQTT connection (README "Contracts"): client id and username are the fridge id,
 * the password is its secret; `status` is retained and also the will (`online:false`); inventory
 * and pickups go out at QoS 1 (or the `--qos` chosen), telemetry at QoS 0; commands come in on
 * `fridges/{id}/commands`. Publishes pass through a bounded {@link InflightWindow}; a snapshot
 * still waiting for a slot is replaced by a newer one (full totals make the older one useless).
 * Duplicate and reorder faults are injected here, on the wire.
 */
import mqtt, { type MqttClient } from 'mqtt';
import {
  CommandPayloadSchema, fridgeTopic, type CommandPayload, type FridgeId, type FridgeTopicKind,
  type InventoryPayload, type PickupPayload, type StatusPayload, type TelemetryPayload,
} from '@fridgesync/shared';
import { InflightWindow } from './inflight-window.ts';
import type { Prng } from './prng.ts';
import type { RunStats } from './stats.ts';

/** Wire faults applied to inventory and pickup messages. */
export interface WireFaults {
  /** Probability that a message is sent twice (0–1). */
  duplicate: number;
  /** Probability that a message is held back and sent after the next one (0–1). */
  reorder: number;
  /** Longest a held-back message waits for a successor, ms (default 2,000). */
  reorderHoldMs?: number;
  /** This fridge's fault stream. */
  prng: Prng;
}

/** Options of {@link FridgeClient}. */
export interface FridgeClientOptions {
  url: string;
  fridgeId: string;
  secret: string;
  /** Topic prefix before `fridges/` (default empty). */
  topicPrefix?: string;
  /** QoS of inventory and pickup messages (default 1, as the contract says). */
  qos?: 0 | 1;
  /** QoS 1 publishes in flight at once (default 32). Larger windows gain nothing; see the class doc. */
  window?: number;
  /** Delay between reconnect attempts, ms (default 1,000). */
  reconnectPeriodMs?: number;
  /** Firmware string reported in `status`. */
  firmware?: string;
  stats: RunStats;
  faults?: WireFaults;
  /** Called on every (re)connection, after the online status is sent. */
  onConnect?: () => void;
  /** Called for each valid command. */
  onCommand?: (cmd: CommandPayload) => void;
  /** Current temperature and door, for the status message. */
  sensors?: () => { temperatureC: number; door: 'open' | 'closed' };
}

type DataKind = Extract<FridgeTopicKind, 'inventory' | 'pickup'>;

/** One fridge's MQTT connection (see the module doc). */
export class FridgeClient {
  readonly window: InflightWindow;
  private client: MqttClient | undefined;
  private pendingSnapshot: InventoryPayload | undefined;
  private pendingSnapshotSend: Promise<void> | undefined;
  private held: { kind: DataKind; payload: string; timer: NodeJS.Timeout } | undefined;
  private connectedOnce: Promise<void> | undefined;
  private readonly prefix: string;
  private readonly qos: 0 | 1;

  private readonly opts: FridgeClientOptions;

  constructor(options: FridgeClientOptions) {
    this.opts = { ...options };
    const o = this.opts;
    this.window = new InflightWindow(o.window ?? 32);
    this.prefix = o.topicPrefix ?? '';
    this.qos = o.qos ?? 1;
  }

  topic(kind: FridgeTopicKind): string {
    return fridgeTopic(this.prefix, this.opts.fridgeId as FridgeId, kind);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Opens the connection (mqtt.js keeps reconnecting); resolves at the first CONNACK or rejects after `timeoutMs`. */
  start(timeoutMs = 10_000): Promise<void> {
    if (this.client) return this.connectedOnce!;
    const willPayload = (): string => JSON.stringify({ online: false, ts: new Date().toISOString() } satisfies StatusPayload);
    const client = mqtt.connect(this.opts.url, {
      protocolVersion: 4,
      clientId: this.opts.fridgeId,
      username: this.opts.fridgeId,
      password: this.opts.secret,
      clean: true,
      reconnectPeriod: this.opts.reconnectPeriodMs ?? 1_000,
      connectTimeout: Math.min(timeoutMs, 30_000),
      will: { topic: this.topic('status'), payload: Buffer.from(willPayload()), qos: 1, retain: true },
    });
    this.client = client;
    // Refresh the will's timestamp before each reconnection attempt.
    client.on('reconnect', () => {
      if (client.options.will) client.options.will.payload = Buffer.from(willPayload());
    });
    client.on('close', () => this.opts.stats.inc('mqttDisconnects'));
    client.on('error', (e) => this.opts.stats.error(`${this.opts.fridgeId} mqtt: ${e.message}`));
    client.on('message', (_topic, buf) => this.onMessage(buf));
    client.on('connect', () => {
      this.opts.stats.inc('mqttConnects');
      void this.onConnected();
    });
    this.connectedOnce = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.opts.fridgeId}: no CONNACK from ${this.opts.url} within ${timeoutMs} ms`)), timeoutMs);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.connectedOnce;
  }

  private async onConnected(): Promise<void> {
    const c = this.client;
    if (!c) return;
    try {
      await c.subscribeAsync(this.topic('commands'), { qos: 1 });
      await this.publishStatus(true);
    } catch (e) {
      // A crash or stop in the middle fails what was in flight; that is the point, not an error.
      if (this.client !== c) return;
      this.opts.stats.inc('publishErrors');
      this.opts.stats.error(`${this.opts.fridgeId} on connect: ${(e as Error).message}`);
    }
    this.opts.onConnect?.();
  }

  private onMessage(buf: Buffer): void {
    this.opts.stats.inc('commandsReceived');
    let cmd: CommandPayload;
    try {
      cmd = CommandPayloadSchema.parse(JSON.parse(buf.toString('utf8')));
    } catch {
      this.opts.stats.inc('badCommands');
      return;
    }
    this.opts.onCommand?.(cmd);
  }

  /** Sends one message through the window, measuring PUBLISH → PUBACK for QoS 1. */
  private async send(kind: FridgeTopicKind, payload: string, qos: 0 | 1, retain = false): Promise<void> {
    const c = this.client;
    if (!c) {
      // Crashed or stopped: a real fridge cannot send either. Counted, never thrown into a timer.
      this.opts.stats.inc('publishErrors');
      this.opts.stats.error(`${this.opts.fridgeId} publish ${kind}: not connected (crashed or stopped)`);
      return;
    }
    await this.window.run(async () => {
      const t0 = performance.now();
      try {
        await c.publishAsync(this.topic(kind), payload, { qos, retain });
        if (qos === 1) this.opts.stats.recordPublishAck(performance.now() - t0);
      } catch (e) {
        if (this.client !== c) return; // crashed or stopped on purpose meanwhile
        this.opts.stats.inc('publishErrors');
        this.opts.stats.error(`${this.opts.fridgeId} publish ${kind}: ${(e as Error).message}`);
      }
    });
  }

  /** Sends a data message, applying the duplicate and reorder faults. */
  private async sendData(kind: DataKind, payload: string): Promise<void> {
    const f = this.opts.faults;
    if (f && this.held === undefined && f.reorder > 0 && f.prng.chance(f.reorder)) {
      // Hold this one back; the next data message (or the timer) releases it, after the newer one.
      const timer = setTimeout(() => this.releaseHeld(), f.reorderHoldMs ?? 2_000);
      this.held = { kind, payload, timer };
      this.opts.stats.inc('reorderedSent');
      return;
    }
    const sends = [this.send(kind, payload, this.qos)];
    if (f && f.duplicate > 0 && f.prng.chance(f.duplicate)) {
      this.opts.stats.inc('duplicatesSent');
      sends.push(this.send(kind, payload, this.qos));
    }
    const released = this.releaseHeld();
    if (released) sends.push(released);
    await Promise.all(sends);
  }

  private releaseHeld(): Promise<void> | undefined {
    const h = this.held;
    if (!h) return undefined;
    this.held = undefined;
    clearTimeout(h.timer);
    return this.send(h.kind, h.payload, this.qos);
  }

  /** True while a snapshot waits for a window slot (a new one would replace it). */
  get snapshotPending(): boolean {
    return this.pendingSnapshot !== undefined;
  }

  /**
   * Publishes a full-totals snapshot. If an earlier snapshot is still waiting for a window slot,
   * it is replaced (counted as `snapshotsCoalesced`) and both callers share one send, unless
   * `coalesce: false`.
   */
  publishInventory(p: InventoryPayload, opts: { coalesce?: boolean } = {}): Promise<void> {
    this.opts.stats.inc('inventoryPublished');
    // Load generators want every snapshot on the wire, waiting for a slot like any publish.
    if (opts.coalesce === false) return this.sendData('inventory', JSON.stringify(p));
    if (this.pendingSnapshot !== undefined && this.pendingSnapshotSend) {
      this.pendingSnapshot = p;
      this.opts.stats.inc('snapshotsCoalesced');
      return this.pendingSnapshotSend;
    }
    this.pendingSnapshot = p;
    const send = (async () => {
      // Wait for a free slot before taking the (possibly newer) snapshot out of the slot.
      const release = await this.window.acquire();
      release();
      const snap = this.pendingSnapshot!;
      this.pendingSnapshot = undefined;
      this.pendingSnapshotSend = undefined;
      await this.sendData('inventory', JSON.stringify(snap));
    })();
    this.pendingSnapshotSend = send;
    return send;
  }

  /** Publishes a pickup event (never coalesced). */
  publishPickup(p: PickupPayload): Promise<void> {
    this.opts.stats.inc('pickupPublished');
    return this.sendData('pickup', JSON.stringify(p));
  }

  /** Publishes the retained status. */
  publishStatus(online: boolean): Promise<void> {
    const s = this.opts.sensors?.();
    const payload: StatusPayload = { online, ts: new Date().toISOString(), ...(s ?? {}), firmware: this.opts.firmware ?? 'fridgesim/0.1.0' };
    this.opts.stats.inc('statusPublished');
    return this.send('status', JSON.stringify(payload), 1, true);
  }

  /** Publishes telemetry at QoS 0 (dropped by mqtt.js while offline). */
  publishTelemetry(t: TelemetryPayload): Promise<void> {
    if (!this.connected) return Promise.resolve();
    this.opts.stats.inc('telemetryPublished');
    return this.send('telemetry', JSON.stringify(t), 0);
  }

  /** Stops injecting wire faults and sends any held-back message now. */
  disableFaults(): Promise<void> | undefined {
    delete this.opts.faults;
    return this.releaseHeld();
  }

  /** Power loss: the connection drops without a DISCONNECT, so the broker publishes the will. */
  async crash(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.connectedOnce = undefined;
    if (this.held) clearTimeout(this.held.timer);
    this.held = undefined;
    if (!c) return;
    // Destroying the socket (not end()) is what a power cut looks like to the broker.
    c.stream?.destroy();
    await c.endAsync(true).catch(() => undefined);
  }

  /**
   * Graceful shutdown: flush held messages, wait (bounded) for in-flight publishes, send
   * `online:false`, disconnect cleanly.
   */
  async stop(timeoutMs = 3_000): Promise<void> {
    const c = this.client;
    if (!c) return;
    const flush = (async () => {
      await this.releaseHeld();
      if (c.connected) {
        await this.window.drain();
        await this.publishStatus(false);
      }
    })();
    await race(flush, timeoutMs);
    this.client = undefined;
    // A clean end waits for in-flight PUBACKs; a broker that never answers must not hang shutdown.
    const ended = await race(c.endAsync(!c.connected).catch(() => undefined), timeoutMs);
    if (!ended) await c.endAsync(true).catch(() => undefined);
  }
}

/** Resolves true when `p` settles within `ms`, false otherwise (the timer never outlives the race). */
async function race(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const, () => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
