/**
 * A simulated fridge: the physical {@link FridgeModel}, its MQTT {@link FridgeClient}, and the
 * firmware's timers (a snapshot every interval, telemetry, reboots when the fault is on).
 */
import type { CommandPayload, TelemetryPayload } from '@fridgesync/shared';
import { FridgeClient, type WireFaults } from './fridge-client.ts';
import { FridgeModel, type Items } from './fridge-model.ts';
import type { FleetFridge, FleetVenue } from './fleet-spec.ts';
import type { Prng } from './prng.ts';
import type { RunStats } from './stats.ts';

/** Options of {@link SimFridge}. */
export interface SimFridgeOptions {
  venue: FleetVenue;
  fridge: FleetFridge;
  brokerUrl: string;
  topicPrefix: string;
  qos: 0 | 1;
  window: number;
  /** Boot counter at start. */
  boot: number;
  /** Snapshot period, ms. */
  intervalMs: number;
  /** Telemetry period, ms. */
  telemetryIntervalMs: number;
  /** This fridge's random stream. */
  prng: Prng;
  stats: RunStats;
  wireFaults?: Omit<WireFaults, 'prng'>;
  /** Probability of a reboot at each snapshot tick, and of forgetting the boot counter then. */
  reboot: number;
  forgetBoot: number;
  /** Called when the fridge reboots (for the oversell check's fault windows). */
  onReboot?: (forgotBoot: boolean) => void;
  onCommand?: (cmd: CommandPayload) => void;
}

/** A simulated fridge: model, connection and firmware timers. */
export class SimFridge {
  readonly model: FridgeModel;
  client: FridgeClient;
  readonly venueId: string;
  readonly fridgeId: string;
  /** Full stock per meal, what the kitchen refills to. */
  readonly par: Items;
  private temperatureC: number;
  private doorOpenUntil = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly faultPrng: Prng;
  private rebooting = false;
  private rebootDone: Promise<void> = Promise.resolve();
  private quieted = false;

  constructor(private readonly opts: SimFridgeOptions) {
    this.venueId = opts.venue.venueId;
    this.fridgeId = opts.fridge.fridgeId;
    this.par = { ...opts.fridge.par };
    this.model = new FridgeModel({ initial: this.par, boot: opts.boot });
    this.temperatureC = 3 + opts.prng.next();
    this.faultPrng = opts.prng.fork('faults');
    this.client = this.makeClient();
  }

  private makeClient(): FridgeClient {
    const o = this.opts;
    return new FridgeClient({
      url: o.brokerUrl,
      fridgeId: this.fridgeId,
      secret: o.fridge.secret,
      topicPrefix: o.topicPrefix,
      qos: o.qos,
      window: o.window,
      stats: o.stats,
      ...(o.wireFaults && !this.quieted ? { faults: { ...o.wireFaults, prng: this.faultPrng.fork('wire') } } : {}),
      // A fridge reports its totals whenever it (re)connects.
      onConnect: () => void this.publishSnapshot(),
      onCommand: (cmd) => {
        if (cmd.type === 'resend-inventory') void this.publishSnapshot();
        o.onCommand?.(cmd);
      },
      sensors: () => this.sensors(),
    });
  }

  /** False while the fridge reboots: its door stays locked and it cannot report. */
  get available(): boolean {
    return !this.rebooting;
  }

  /** Temperature and door now. */
  sensors(): { temperatureC: number; door: 'open' | 'closed' } {
    return { temperatureC: Math.round(this.temperatureC * 10) / 10, door: Date.now() < this.doorOpenUntil ? 'open' : 'closed' };
  }

  /** Someone opened the door (walk-in, pickup, restock). */
  openDoor(ms = 4_000): void {
    this.doorOpenUntil = Date.now() + ms;
    this.temperatureC = Math.min(9, this.temperatureC + 0.3);
  }

  /** Connects and starts the firmware timers, phase-shifted so fridges do not publish in lockstep. */
  async start(connectTimeoutMs: number): Promise<void> {
    await this.client.start(connectTimeoutMs);
    const o = this.opts;
    const phase = Math.floor(o.prng.next() * o.intervalMs);
    this.timers.push(
      setTimeout(() => {
        this.timers.push(setInterval(() => this.tick(), o.intervalMs));
      }, phase),
    );
    this.timers.push(setInterval(() => this.telemetry(), o.telemetryIntervalMs));
  }

  private tick(): void {
    if (this.rebooting) return;
    if (this.opts.reboot > 0 && this.faultPrng.chance(this.opts.reboot)) {
      void this.reboot(this.faultPrng.chance(this.opts.forgetBoot));
      return;
    }
    void this.publishSnapshot();
  }

  private telemetry(): void {
    // Drift back toward 3.5 °C with a little noise.
    this.temperatureC += (3.5 - this.temperatureC) * 0.2 + (this.opts.prng.next() - 0.5) * 0.2;
    const s = this.sensors();
    const t: TelemetryPayload = { ts: new Date().toISOString(), temperatureC: s.temperatureC, door: s.door };
    void this.client.publishTelemetry(t);
  }

  /** Publishes a full-totals snapshot now. */
  publishSnapshot(): Promise<void> {
    if (this.rebooting) return Promise.resolve();
    return this.client.publishInventory(this.model.snapshot(new Date()));
  }

  /**
   * Reboots: the connection drops without DISCONNECT (the broker sends the will), the sequence
   * restarts, and after `downMs` the fridge reconnects and reports. A firmware that `forgetsBoot`
   * keeps its old boot counter.
   */
  reboot(forgetsBoot: boolean, downMs = 1_500): Promise<void> {
    if (this.rebooting) return this.rebootDone;
    this.rebooting = true;
    this.rebootDone = this.doReboot(forgetsBoot, downMs);
    return this.rebootDone;
  }

  private async doReboot(forgetsBoot: boolean, downMs: number): Promise<void> {
    this.opts.stats.inc('reboots');
    if (forgetsBoot) this.opts.stats.inc('forgottenBoots');
    this.opts.onReboot?.(forgetsBoot);
    await this.client.crash();
    this.model.reboot(forgetsBoot);
    await new Promise((r) => setTimeout(r, downMs));
    this.client = this.makeClient();
    this.rebooting = false;
    await this.client.start(30_000).catch((e: Error) => this.opts.stats.error(`${this.fridgeId} after reboot: ${e.message}`));
  }

  /**
   * Stops the timers and the fault injection and waits for a reboot in progress; the connection
   * stays up.
   */
  async quiet(): Promise<void> {
    this.quieted = true;
    for (const t of this.timers.splice(0)) clearTimeout(t);
    await this.rebootDone;
    await this.client.disableFaults();
  }

  /** Stops everything and disconnects cleanly (status `online:false`). */
  async stop(): Promise<void> {
    await this.quiet();
    await this.client.stop();
  }
}
