/**
 * `createFleet(options)`: a whole simulated fleet that the CLI, the demo and the benchmarks drive.
 * Fridges over MQTT, customers and the kitchen over HTTP, walk-ins, faults; client-side checks
 * (no oversell, catalog convergence) and a report. Time is real (timers), the schedule is seeded:
 * who arrives when, at which fridge, for which meal, and what they do next is a pure function of
 * the seed; what the system answers is not.
 */
import { awaitCatalogConvergence, type CatalogCheckResult, type Expectation } from './catalog-check.ts';
import { Customers, type Fate } from './customers.ts';
import { NO_FAULTS, type FaultHooks, type FaultSettings } from './faults.ts';
import { fleetFridges, type FleetSpec } from './fleet-spec.ts';
import type { Items } from './fridge-model.ts';
import { HttpApi } from './http-api.ts';
import { Kitchen } from './kitchen.ts';
import { OrderBook, type OrderRecord } from './order-book.ts';
import { OversellCheck } from './oversell-check.ts';
import { Prng } from './prng.ts';
import { buildReport, type FleetReport } from './report.ts';
import { msUntilNextRun, type KitchenSchedule } from './schedule.ts';
import { SimFridge } from './sim-fridge.ts';
import { RunStats } from './stats.ts';
import { VenueFaults } from './venue-faults.ts';

/** Options of {@link createFleet}. Durations in ms, rates per minute for the whole fleet. */
export interface FleetOptions {
  fleet: FleetSpec;
  /** Broker URL per venue id, overriding the fleet file's `brokerUrl`. */
  brokerUrls?: Record<string, string>;
  /** Central base URL and tokens (default: the fleet file's `central`). Without it, customers use kiosks only. */
  central?: { url: string; appToken?: string; kitchenToken?: string };
  /** Kiosk URL per venue id, overriding the fleet file's `kioskUrl`. */
  kioskUrls?: Record<string, string>;
  /** Seed of every random choice (default 1). */
  seed?: string | number;
  /** Distinguishes order and delivery ids from those of earlier runs against the same central (default: base-36 start time). */
  runId?: string;
  /** Snapshot period per fridge (default 5,000). Real fridges report every few minutes. */
  intervalMs?: number;
  /** Telemetry period per fridge (default: `intervalMs`). */
  telemetryIntervalMs?: number;
  /** QoS of inventory and pickup messages (default 1). */
  qos?: 0 | 1;
  /** QoS 1 publishes in flight per fridge (default 32). */
  window?: number;
  /** App/kiosk orders per minute across the fleet (default 30). */
  customersPerMinute?: number;
  /** Walk-in takes per minute across the fleet (default 10). */
  walkInsPerMinute?: number;
  /** Share of orders placed at the venue's kiosk when it has one (default 0.2). */
  kioskShare?: number;
  /** Hold asked for per order, seconds (default 120). */
  holdSeconds?: number;
  /** Shares of confirmed orders that are picked up / cancelled (default 0.8 / 0.1; the rest expire). */
  pickupShare?: number;
  cancelShare?: number;
  /** When the kitchen restocks (default every 2 minutes). */
  kitchen?: KitchenSchedule;
  /** Probability that a delivery brings one unit less of a meal than announced (default 0.1). */
  kitchenShortfall?: number;
  /** Between announcing a delivery and the meals being in the fridge (default 1,000). */
  unloadMs?: number;
  faults?: FaultSettings;
  hooks?: FaultHooks;
  /** Boot counter of every fridge at start (default: unix seconds, so it grows across runs). */
  boot?: number;
  /** Time the system gets to learn about a walk-in before the oversell check counts it (default max(15 s, 3 × interval)). */
  checkGraceMs?: number;
  /** How long the catalog may take to converge after the run (default 30,000). */
  convergeTimeoutMs?: number;
  /** Time limit for each fridge's first connection (default 15,000). */
  connectTimeoutMs?: number;
  /** HTTP timeout (default 5,000). */
  httpTimeoutMs?: number;
  stats?: RunStats;
}

/** A running simulated fleet. */
export interface Fleet {
  readonly stats: RunStats;
  readonly book: OrderBook;
  readonly oversell: OversellCheck;
  readonly fridges: ReadonlyMap<string, SimFridge>;
  readonly runId: string;
  /**
   * Connects every fridge and starts customers, walk-ins, kitchen and faults. Rejects (after
   * closing every connection) when a fridge gets no CONNACK within `connectTimeoutMs`.
   */
  start(): Promise<void>;
  /** Stops the load, waits for answers, cancels unknown orders, ends faults, sends final snapshots. */
  quiesce(): Promise<void>;
  /** Polls central's catalog until it matches the fridges (call after {@link quiesce}). */
  checkCatalog(): Promise<CatalogCheckResult>;
  /** Disconnects every fridge cleanly. */
  stop(): Promise<void>;
  /** start → wait `durationMs` (or `signal`) → quiesce → check catalog → stop → report. */
  run(durationMs: number, signal?: AbortSignal): Promise<FleetReport>;
  /** The report so far. */
  report(catalog?: CatalogCheckResult | { skipped: string }): FleetReport;
  /**
   * Tells the checks that the caller itself cut `venueId`'s link or killed its gateway (when it
   * does so outside {@link FleetOptions.hooks}); call the returned function when it is over.
   */
  noteVenueFault(venueId: string, kind?: 'link-cut' | 'gateway-kill'): () => void;
  /** Drives one step by hand (tests, demo). */
  walkIn(fridgeId: string, mealId?: string): number;
  order(fridgeId: string, lines: Items, opts?: { via?: 'central' | 'kiosk'; fate?: Fate }): Promise<OrderRecord>;
  deliver(fridgeIds?: readonly string[]): Promise<void>;
}

/** Builds a fleet; nothing connects before `start()`. Throws when a venue has no broker URL. */
export function createFleet(options: FleetOptions): Fleet {
  return new FleetImpl(options);
}

class FleetImpl implements Fleet {
  readonly stats: RunStats;
  readonly book = new OrderBook();
  readonly oversell: OversellCheck;
  readonly fridges = new Map<string, SimFridge>();
  readonly runId: string;
  private readonly opts: FleetOptions;
  private readonly prng: Prng;
  private readonly customerPrng: Prng;
  private readonly walkInPrng: Prng;
  private readonly faults: FaultSettings;
  private readonly central: HttpApi | undefined;
  private readonly customers: Customers;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly kitchen: Kitchen;
  private readonly venueFaults: VenueFaults;
  private readonly kitchenRuns = new Set<Promise<void>>();
  private orderSeq = 0;
  private running = false;
  private startedAt = 0;
  private endedAt = 0;
  private readonly fridgeList: SimFridge[] = [];

  constructor(o: FleetOptions) {
    this.opts = o;
    this.stats = o.stats ?? new RunStats();
    this.runId = o.runId ?? Date.now().toString(36);
    this.prng = new Prng(o.seed ?? 1);
    this.customerPrng = this.prng.fork('customers');
    this.walkInPrng = this.prng.fork('walk-ins');
    this.faults = o.faults ?? NO_FAULTS;
    const intervalMs = o.intervalMs ?? 5_000;
    this.oversell = new OversellCheck(this.book, { graceMs: o.checkGraceMs ?? Math.max(15_000, 3 * intervalMs) });
    const central = o.central ?? o.fleet.central;
    const timeoutMs = o.httpTimeoutMs ?? 5_000;
    this.central = central ? new HttpApi({ baseUrl: central.url, timeoutMs, ...(central.appToken ? { token: central.appToken } : {}) }) : undefined;
    this.kitchen = new Kitchen({
      api: central ? new HttpApi({ baseUrl: central.url, timeoutMs, ...(central.kitchenToken ? { token: central.kitchenToken } : {}) }) : undefined,
      prng: this.prng.fork('kitchen'), stats: this.stats, oversell: this.oversell, runId: this.runId,
      ...(o.kitchenShortfall === undefined ? {} : { shortfall: o.kitchenShortfall }),
      ...(o.unloadMs === undefined ? {} : { unloadMs: o.unloadMs }),
    });
    this.venueFaults = new VenueFaults({
      venues: o.fleet.venues.map((v) => v.venueId), hooks: o.hooks ?? {}, oversell: this.oversell, stats: this.stats,
      prng: this.prng, later: (ms, fn) => this.later(ms, fn), running: () => this.running,
    });
    const kiosks = new Map<string, HttpApi>();
    const missing: string[] = [];
    const boot = o.boot ?? Math.floor(Date.now() / 1_000);
    for (const { venue, fridge } of fleetFridges(o.fleet)) {
      const kioskUrl = o.kioskUrls?.[venue.venueId] ?? venue.kioskUrl;
      if (kioskUrl && !kiosks.has(venue.venueId)) kiosks.set(venue.venueId, new HttpApi({ baseUrl: kioskUrl, timeoutMs, ...(venue.kioskToken ? { token: venue.kioskToken } : {}) }));
      const brokerUrl = o.brokerUrls?.[venue.venueId] ?? venue.brokerUrl;
      if (!brokerUrl) {
        if (!missing.includes(venue.venueId)) missing.push(venue.venueId);
        continue;
      }
      const f = new SimFridge({
        venue, fridge, brokerUrl, boot, intervalMs,
        topicPrefix: o.fleet.topicPrefix,
        qos: o.qos ?? 1,
        window: o.window ?? 32,
        telemetryIntervalMs: o.telemetryIntervalMs ?? intervalMs,
        prng: this.prng.fork(`fridge:${fridge.fridgeId}`),
        stats: this.stats,
        ...(this.faults.duplicate > 0 || this.faults.reorder > 0 ? { wireFaults: { duplicate: this.faults.duplicate, reorder: this.faults.reorder, reorderHoldMs: Math.min(2_000, intervalMs) } } : {}),
        reboot: this.faults.reboot,
        forgetBoot: this.faults.forgetBoot,
        onReboot: (forgot) => this.oversell.reboot(fridge.fridgeId, forgot, Date.now()),
      });
      this.fridges.set(fridge.fridgeId, f);
      this.fridgeList.push(f);
      this.oversell.stocked(fridge.fridgeId, fridge.par);
    }
    if (missing.length > 0) throw new RangeError(`no broker URL for venue(s) ${missing.join(', ')}: give --url, --venue-url or brokerUrl in the fleet file`);
    const replayPrng = this.prng.fork('replays');
    this.customers = new Customers({
      book: this.book, oversell: this.oversell, stats: this.stats, central: this.central, kiosks,
      holdSeconds: o.holdSeconds ?? 120,
      replay: this.faults.duplicate,
      chance: (p) => replayPrng.chance(p),
      schedule: (ms, fn) => this.later(ms, fn),
    });
    this.kiosks = kiosks;
  }

  private readonly kiosks: Map<string, HttpApi>;

  /** setTimeout that {@link quiesce} can clear. */
  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Poisson arrivals at `perMinute`, each drawing from `prng`. */
  private arrivals(perMinute: number, prng: Prng, fn: () => void): void {
    if (perMinute <= 0) return;
    const next = () => this.later(prng.exponential(60_000 / perMinute), () => {
      if (!this.running) return;
      fn();
      next();
    });
    next();
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    const timeout = this.opts.connectTimeoutMs ?? 15_000;
    // Connect in batches: a broker accepting hundreds of CONNECTs at once is not what we measure.
    try {
      for (let i = 0; i < this.fridgeList.length; i += 50) await Promise.all(this.fridgeList.slice(i, i + 50).map((f) => f.start(timeout)));
    } catch (e) {
      // Close what did connect (and stop mqtt.js retrying the rest) before reporting the failure.
      await this.stop();
      throw e;
    }
    this.running = true;
    this.arrivals(this.opts.customersPerMinute ?? 30, this.customerPrng, () => this.customerArrives());
    this.arrivals(this.opts.walkInsPerMinute ?? 10, this.walkInPrng, () => this.walkInArrives());
    this.scheduleKitchen();
    if (this.faults.linkCut) this.venueFaults.schedule('link-cut', this.faults.linkCut);
    if (this.faults.gatewayKill) this.venueFaults.schedule('gateway-kill', this.faults.gatewayKill);
  }

  private customerArrives(): void {
    const p = this.customerPrng;
    // Draw everything first, so the stream does not depend on what the system answered.
    const fridge = p.pick(this.fridgeList);
    const mealRoll = p.next();
    const qty = p.chance(0.8) ? 1 : 2;
    const kioskRoll = p.next();
    const fateRoll = p.next();
    const delayRoll = p.next();
    const meals = fridge.model.meals().filter((m) => fridge.model.units(m) > 0);
    if (meals.length === 0) return;
    const meal = meals[Math.floor(mealRoll * meals.length)]!;
    const hasKiosk = this.kiosks.has(fridge.venueId);
    if (!hasKiosk && this.central === undefined) return; // nowhere to order from
    const useKiosk = hasKiosk && (this.central === undefined || kioskRoll < (this.opts.kioskShare ?? 0.2));
    const holdMs = (this.opts.holdSeconds ?? 120) * 1_000;
    const pickupShare = this.opts.pickupShare ?? 0.8;
    const cancelShare = this.opts.cancelShare ?? 0.1;
    const fate: Fate =
      fateRoll < pickupShare ? { kind: 'pickup', afterMs: Math.round(holdMs * (0.1 + 0.6 * delayRoll)) }
      : fateRoll < pickupShare + cancelShare ? { kind: 'cancel', afterMs: Math.round(holdMs * (0.05 + 0.45 * delayRoll)) }
      : { kind: 'no-show' };
    this.order(fridge.fridgeId, { [meal]: qty }, { via: useKiosk ? 'kiosk' : 'central', fate }).catch((e: Error) => this.stats.error(`order: ${e.message}`));
  }

  private walkInArrives(): void {
    const p = this.walkInPrng;
    const fridge = p.pick(this.fridgeList);
    const roll = p.next();
    const meals = fridge.model.meals().filter((m) => fridge.model.units(m) > 0);
    if (meals.length === 0) {
      this.stats.inc('walkInsEmpty');
      return;
    }
    this.walkIn(fridge.fridgeId, meals[Math.floor(roll * meals.length)]);
  }

  noteVenueFault(venueId: string, kind: 'link-cut' | 'gateway-kill' = 'link-cut'): () => void {
    return this.venueFaults.note(kind, venueId);
  }

  walkIn(fridgeId: string, mealId?: string): number {
    const f = this.mustFridge(fridgeId);
    const meal = mealId ?? f.model.meals().find((m) => f.model.units(m) > 0);
    if (meal === undefined) return 0;
    const before = f.model.units(meal);
    const got = f.model.take(meal, 1);
    if (got > 0) {
      f.openDoor();
      this.stats.inc('walkIns');
      this.oversell.walkIn(fridgeId, meal, got, before, Date.now());
    }
    return got;
  }

  order(fridgeId: string, lines: Items, opts: { via?: 'central' | 'kiosk'; fate?: Fate } = {}): Promise<OrderRecord> {
    const f = this.mustFridge(fridgeId);
    const orderId = `o-${this.runId}-${++this.orderSeq}`;
    return this.customers.order(f, orderId, lines, opts.via ?? 'central', opts.fate ?? { kind: 'no-show' });
  }

  private scheduleKitchen(): void {
    const schedule = this.opts.kitchen ?? { kind: 'every', everyMs: 120_000 };
    const ms = msUntilNextRun(schedule, new Date());
    if (ms === undefined) return;
    this.later(ms, () => {
      if (!this.running) return;
      const run = this.deliver()
        .catch((e: Error) => this.stats.error(`kitchen: ${e.message}`))
        .finally(() => this.kitchenRuns.delete(run));
      this.kitchenRuns.add(run);
      this.scheduleKitchen();
    });
  }

  /** The kitchen's round over `fridgeIds` (default: every fridge). */
  async deliver(fridgeIds?: readonly string[]): Promise<void> {
    await this.kitchen.round(fridgeIds ? fridgeIds.map((id) => this.mustFridge(id)) : this.fridgeList);
  }

  async quiesce(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.kitchenRuns]);
    await this.venueFaults.endAll();
    await this.customers.settle();
    // An order that never got an answer may exist; cancel it so the catalog can be checked.
    await Promise.all([...this.book.all()].filter((o) => o.state === 'unknown').map((o) => this.customers.cancel(o)));
    this.book.expire(Date.now());
    await Promise.all(this.fridgeList.map((f) => f.quiet()));
    // Final totals, acknowledged. Bounded: a broker that is down would otherwise hold us forever.
    const flushed = Promise.all(this.fridgeList.map(async (f) => {
      await f.publishSnapshot();
      await f.client.window.drain();
    }));
    const timeoutMs = this.opts.connectTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([flushed.then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      const stuck = this.fridgeList.filter((f) => f.client.window.inFlight > 0).map((f) => f.fridgeId);
      this.stats.error(`final snapshots not acknowledged within ${timeoutMs} ms by ${stuck.length} fridge(s): ${stuck.slice(0, 10).join(', ')}`);
    }
    this.endedAt = Date.now();
  }

  /** What the catalog must show per fridge and meal now (see catalog-check.ts). */
  private expectations(): Expectation[] {
    const now = Date.now();
    this.book.expire(now);
    // The server's hold starts a little after ours and its expiry sweep may run late.
    const slackMs = 30_000;
    const out: Expectation[] = [];
    for (const f of this.fridgeList) {
      for (const meal of f.model.meals()) {
        let sure = 0;
        let maybe = 0;
        for (const o of this.book.forFridge(f.fridgeId)) {
          const n = o.lines[meal] ?? 0;
          if (n === 0) continue;
          if (o.state === 'confirmed') sure += n;
          if (o.state === 'confirmed' || o.state === 'unknown' || o.state === 'pending' || (o.state === 'expired' && o.expiresAt + slackMs > now)) maybe += n;
        }
        const t = f.model.units(meal);
        out.push({ fridgeId: f.fridgeId, mealId: meal, min: Math.max(0, t - maybe), max: Math.max(0, t - sure) });
      }
    }
    return out;
  }

  async checkCatalog(): Promise<CatalogCheckResult> {
    const central = this.central;
    if (!central) return { ok: false, checked: 0, polls: 0, elapsedMs: 0, mismatches: [], error: 'no central URL' };
    const cities = [...new Set(this.opts.fleet.venues.map((v) => v.city as string))];
    return awaitCatalogConvergence({
      fetchCatalog: async () => Promise.all(cities.map((c) => central.catalog(c))),
      expected: () => this.expectations(),
      timeoutMs: this.opts.convergeTimeoutMs ?? 30_000,
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.fridgeList.map((f) => f.stop()));
  }

  async run(durationMs: number, signal?: AbortSignal): Promise<FleetReport> {
    await this.start();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, durationMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
    await this.quiesce();
    const catalog = this.central ? await this.checkCatalog() : { skipped: 'no central URL given' };
    await this.stop();
    return this.report(catalog);
  }

  report(catalog?: CatalogCheckResult | { skipped: string }): FleetReport {
    const o = this.opts;
    return buildReport({
      runId: this.runId, seed: this.opts.seed ?? 1, startedAt: this.startedAt, endedAt: this.endedAt || Date.now(),
      fleet: this.opts.fleet, stats: this.stats, book: this.book, oversell: this.oversell,
      windowPeak: Math.max(0, ...this.fridgeList.map((f) => f.client.window.peak)),
      faultEvents: this.venueFaults.events, catalog,
      settings: {
        intervalMs: o.intervalMs ?? 5_000, qos: o.qos ?? 1, window: o.window ?? 32,
        customersPerMinute: o.customersPerMinute ?? 30, walkInsPerMinute: o.walkInsPerMinute ?? 10,
        kioskShare: o.kioskShare ?? 0.2, holdSeconds: o.holdSeconds ?? 120, kitchen: o.kitchen ?? { kind: 'every', everyMs: 120_000 },
        faults: this.faults, checkGraceMs: this.oversell.graceMs, central: o.central?.url ?? o.fleet.central?.url ?? null,
      },
    });
  }

  private mustFridge(id: string): SimFridge {
    const f = this.fridges.get(id);
    if (!f) throw new RangeError(`unknown fridge ${id}`);
    return f;
  }
}
