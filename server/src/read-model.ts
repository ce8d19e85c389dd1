/**
 * The in-memory read model behind `/v1/venues`, `/v1/catalog`, the refill plan and the change
 * feed. It is updated from document changes: each transaction marks the
 * fridges it touched dirty, and only dirty fridges are folded again, once, before the next read or
 * on the next tick. Requests never fold a whole venue. The model outlives an unloaded document
 * (nothing changes while a document is unloaded: every write goes through a loaded one).
 */
import {
  FridgesyncError,
  configIds,
  configRecord,
  conflictKinds,
  foldOrder,
  deliveryJson,
  fridgeJson,
  fridgeView,
  venueOrderJson,
  venueSummaryJson,
  venueTotalsJson,
  rightsOf,
  type ChangeSummary,
  type DeliveryValue,
  type FridgeId,
  type FridgeView,
  type GatewayRecord,
  type MealId,
  type MealRecord,
  type OrderId,
  type PromotionRecord,
  type ReplicaId,
  type VenueId,
  type VenueRecord,
} from '@fridgesync/shared';
import type { VenueHost } from './venue-host.ts';
import type { EventHub } from './event-hub.ts';
import { stableJson } from './central-writer.ts';

/** Window for "recent sales" in the refill plan, ms (one day). */
export const RECENT_SALES_MS = 24 * 3600 * 1000;

/** Folded state of one fridge plus what central derives from it. */
export interface FridgeModel {
  view: FridgeView;
  /** Central's rights per meal (what `POST /v1/orders` can reserve here now). */
  centralRights: Record<string, number>;
  /** Units picked up per meal in the last {@link RECENT_SALES_MS}. */
  recentSales: Record<string, number>;
  /** What a `fridge` event carries, serialised: an event goes out only when it changes. */
  fingerprint: string;
}

/** A kitchen delivery as the read model keeps it. */
export interface DeliveryModel {
  deliveryId: string;
  value: DeliveryValue;
  /** Observed totals of the fridge when the delivery was announced (undefined after a restart). */
  before: Record<string, number> | undefined;
  /** Its view as last published in a `delivery` event, serialised (an event goes out when it changes). */
  published: string | undefined;
}

/** Everything central shows about one venue. */
export interface VenueModel {
  venueId: VenueId;
  record: VenueRecord | undefined;
  fridges: Map<string, FridgeModel>;
  meals: Map<string, MealRecord>;
  gateways: Map<string, GatewayRecord>;
  promotions: Map<string, PromotionRecord>;
  /** meal → promotions of that meal (the catalog looks prices up per meal). */
  promotionsByMeal: Map<string, Array<[string, PromotionRecord]>>;
  deliveries: Map<string, DeliveryModel>;
  /** Replicas known in the document (for the gateway view). */
  replicas: ReplicaId[];
}

/**
 * Least time between two background folds of changed state, ms: live events (`/v1/events`) lag a
 * busy venue by at most this, or by {@link nextRefreshInterval} under load; reads fold what is
 * pending first and never see stale state.
 */
export const REFRESH_INTERVAL_MS = 250;
/** Most time one background slice of folding takes before yielding, ms. */
const SLICE_MS = 4;
/** Share of the process the background folds may take under a stream of changes. */
const MAX_FOLD_SHARE = 0.1;
/** Longest interval between background folds however costly they get, ms. */
const MAX_REFRESH_INTERVAL_MS = 2_000;

/**
 * The interval before the next background fold, given the time the last fold cycle took: folds
 * take at most {@link MAX_FOLD_SHARE} of the process (a venue whose fridges all change all the time
 * is folded less often, so storing what gateways send keeps the cores), between
 * {@link REFRESH_INTERVAL_MS} and {@link MAX_REFRESH_INTERVAL_MS}.
 */
export function nextRefreshInterval(lastCycleMs: number): number {
  return Math.min(MAX_REFRESH_INTERVAL_MS, Math.max(REFRESH_INTERVAL_MS, lastCycleMs / MAX_FOLD_SHARE));
}

/** The read model over all venues. */
export class ReadModel {
  readonly venues = new Map<string, VenueModel>();
  /** city → venue ids (the catalog is split by city). */
  private readonly byCity = new Map<string, Set<string>>();
  /** order id → venue, for `GET /v1/orders/{id}`. */
  readonly orderVenue = new Map<string, VenueId>();
  private readonly dirty = new Map<string, { host: VenueHost; fridges: Set<string>; config: boolean; orders: Set<string> }>();
  /** Last published state per order, so `order` events fire on transitions only (pruned with the order). */
  private readonly orderState = new Map<string, string>();
  private scheduled = false;
  /** When the last fold of dirty state ran (performance.now()). */
  private lastFlush = -Infinity;
  /** Time spent in the background slices of the current fold cycle, ms. */
  private cycleMs = 0;
  /** Least time between background folds, from the last cycle's cost ({@link nextRefreshInterval}). */
  private interval = REFRESH_INTERVAL_MS;
  private readonly expected = new Set<string>();

  constructor(
    private readonly replica: ReplicaId,
    private readonly hub: EventHub,
    private readonly now: () => number = Date.now,
    /** Reports a fold that threw; the rest of the model keeps updating. */
    private readonly onError: (e: unknown, venue: string) => void = () => undefined,
  ) {}

  /** Attaches to a freshly loaded host: full build, then incremental updates. */
  attach(host: VenueHost): void {
    for (const id of host.doc.index.orders.keys()) this.orderVenue.set(id, host.venueId);
    this.markConfig(host);
    for (const f of host.doc.index.fridgeIds()) this.mark(host, f);
    this.flush();
    host.doc.onChange((s: ChangeSummary) => {
      for (const o of s.orders) {
        if (host.doc.index.orders.has(o)) this.orderVenue.set(o, host.venueId);
        this.entry(host).orders.add(o);
      }
      if (s.config || s.lifecycle) this.markConfig(host);
      for (const f of s.fridges) this.mark(host, f);
      if (!this.scheduled) {
        this.scheduled = true;
        // An isolated change is folded at once; under a stream of changes at most once per
        // interval, so a fridge changing many times a second is folded a few times, not each time.
        const wait = this.lastFlush + this.interval - performance.now();
        if (wait <= 0) setImmediate(() => this.flush(SLICE_MS));
        else setTimeout(() => this.flush(SLICE_MS), wait);
      }
    });
  }

  private entry(host: VenueHost) {
    let d = this.dirty.get(host.venueId);
    if (d === undefined) this.dirty.set(host.venueId, (d = { host, fridges: new Set(), config: false, orders: new Set() }));
    d.host = host;
    return d;
  }
  private mark(host: VenueHost, fridge: string): void {
    this.entry(host).fridges.add(fridge);
  }
  private markConfig(host: VenueHost): void {
    const d = this.entry(host);
    d.config = true;
    for (const f of host.doc.index.fridgeIds()) d.fridges.add(f);
  }

  /**
   * Folds what is dirty. Reads call it with no budget (they see everything); in the background it
   * runs in slices of {@link SLICE_MS}, yielding to I/O between them, so folding a busy venue's
   * fridges never holds the process for long.
   */
  flush(budgetMs = Infinity): void {
    this.scheduled = false;
    if (this.dirty.size === 0) return;
    const started = performance.now();
    if (!this.slicing) {
      this.lastFlush = started;
      this.cycleMs = 0;
    }
    const deadline = started + budgetMs;
    for (const [venueId, d] of this.dirty) {
      if (d.host.state === 'closed') {
        this.dirty.delete(venueId);
        continue;
      }
      // Runs on a timer: one venue's bad data must not take the process (or other venues) down.
      try {
        const vm = this.venue(d.host.venueId);
        if (d.config) {
          d.config = false;
          this.refreshConfig(d.host, vm);
        }
        for (const f of d.fridges) {
          d.fridges.delete(f);
          this.refreshFridge(d.host, vm, f as FridgeId);
          if (performance.now() >= deadline) break;
        }
        if (d.fridges.size === 0) {
          this.dirty.delete(venueId);
          for (const o of d.orders) this.refreshOrder(d.host, o as OrderId);
        }
      } catch (e) {
        this.dirty.delete(venueId);
        this.onError(e, d.host.venueId);
      }
      if (performance.now() >= deadline) break;
    }
    this.slicing = this.dirty.size > 0;
    if (budgetMs !== Infinity) {
      this.cycleMs += performance.now() - started;
      if (!this.slicing) this.interval = nextRefreshInterval(this.cycleMs);
    }
    if (this.slicing && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush(SLICE_MS));
    }
  }
  /** True while a background fold continues in slices. */
  private slicing = false;

  /** Publishes an `order` event when an order's folded state changes. */
  private refreshOrder(host: VenueHost, id: OrderId): void {
    const o = foldOrder(host.doc, id);
    if (o === undefined) {
      this.orderState.delete(id);
      return;
    }
    // A new variant of a contents conflict changes what the order holds: publish it too.
    const key = `${o.state}/${conflictKinds(o).join(',')}/${o.variants.length}`;
    if (this.orderState.get(id) === key) return;
    this.orderState.set(id, key);
    this.hub.publish({ type: 'order', venueId: host.venueId, order: venueOrderJson(host.venueId, o) });
  }

  private venue(id: VenueId): VenueModel {
    let vm = this.venues.get(id);
    if (vm === undefined) {
      vm = { venueId: id, record: undefined, fridges: new Map(), meals: new Map(), gateways: new Map(), promotions: new Map(), promotionsByMeal: new Map(), deliveries: new Map(), replicas: [] };
      this.venues.set(id, vm);
    }
    return vm;
  }

  private refreshConfig(host: VenueHost, vm: VenueModel): void {
    const doc = host.doc;
    const before = stableJson([vm.record, [...vm.meals], [...vm.gateways], [...vm.promotions]]);
    const oldCity = vm.record?.city;
    vm.record = configRecord(doc, 'venue', host.venueId);
    if (oldCity !== vm.record?.city) {
      if (oldCity !== undefined) this.byCity.get(oldCity)?.delete(host.venueId);
      if (vm.record !== undefined) {
        const set = this.byCity.get(vm.record.city) ?? new Set<string>();
        set.add(host.venueId);
        this.byCity.set(vm.record.city, set);
      }
    }
    vm.meals = new Map(configIds(doc, 'meal').map((id) => [id, configRecord(doc, 'meal', id)!]));
    vm.gateways = new Map(configIds(doc, 'gateway').map((id) => [id, configRecord(doc, 'gateway', id)!]));
    vm.promotions = new Map(configIds(doc, 'promotion').map((id) => [id, configRecord(doc, 'promotion', id)!]));
    vm.promotionsByMeal = new Map();
    for (const [id, p] of vm.promotions) {
      const list = vm.promotionsByMeal.get(p.mealId) ?? [];
      list.push([id, p]);
      vm.promotionsByMeal.set(p.mealId, list);
    }
    const deliveries = new Map<string, DeliveryModel>();
    for (const [id, byReplica] of doc.index.deliveries) {
      let value: DeliveryValue | undefined;
      for (const [r, v] of byReplica) if (r.startsWith('central:') && (value === undefined || v.at > value.at)) value = v;
      const prev = vm.deliveries.get(id);
      if (value !== undefined) deliveries.set(id, { deliveryId: id, value, before: prev?.before, published: prev?.published });
    }
    vm.deliveries = deliveries;
    vm.replicas = [...doc.index.replicaEntryCount.keys()].sort() as ReplicaId[];
    this.publishDeliveries(vm);
    if (stableJson([vm.record, [...vm.meals], [...vm.gateways], [...vm.promotions]]) !== before) {
      this.hub.publish({ type: 'venue', venueId: host.venueId, venue: vm.record === undefined ? null : venueSummaryJson(host.venueId, vm.record, this.configuredViews(vm)) });
    }
  }

  private refreshFridge(host: VenueHost, vm: VenueModel, fridge: FridgeId): void {
    const doc = host.doc;
    const view = fridgeView(doc, fridge);
    const cfgVenue = view.config?.venueId;
    if (cfgVenue !== undefined && cfgVenue !== host.venueId) return;
    const centralRights: Record<string, number> = {};
    for (const c of view.cells) centralRights[c.meal] = rightsOf(doc, this.replica, fridge, c.meal);
    const recentSales: Record<string, number> = {};
    const since = this.now() - RECENT_SALES_MS;
    for (const id of doc.index.ordersByFridge.get(fridge) ?? []) {
      const o = foldOrder(doc, id as OrderId);
      if (o?.state !== 'picked_up' || o.updatedAt < since) continue;
      for (const [m, q] of o.lines ?? []) recentSales[m] = (recentSales[m] ?? 0) + q;
    }
    const prev = vm.fridges.get(fridge);
    // Built by the same folds in the same order every time, so plain JSON compares them.
    const fingerprint = JSON.stringify([view, centralRights]);
    vm.fridges.set(fridge, { view, centralRights, recentSales, fingerprint });
    if (prev?.fingerprint !== fingerprint) {
      // The REST view of the fridge and its venue's new totals (README "Read views and live events").
      this.hub.publish({ type: 'fridge', venueId: host.venueId, fridge: fridgeJson(view, centralRights), totals: venueTotalsJson(this.configuredViews(vm)) });
      // A newer snapshot turns the fridge's incoming deliveries into observed ones.
      this.publishDeliveries(vm, fridge);
    }
  }

  /**
   * Publishes a `delivery` event for each delivery (of `fridge`, if given) whose view changed. A
   * delivery whose fridge is not folded yet waits for that fold (its view depends on the fridge's).
   */
  private publishDeliveries(vm: VenueModel, fridge?: string): void {
    for (const d of vm.deliveries.values()) {
      if (fridge !== undefined && d.value.f !== fridge) continue;
      const view = vm.fridges.get(d.value.f)?.view;
      if (view === undefined) continue;
      const delivery = deliveryJson(vm.venueId, d.deliveryId, d.value, d.before, view);
      const key = JSON.stringify(delivery);
      if (d.published === key) continue;
      d.published = key;
      this.hub.publish({ type: 'delivery', venueId: vm.venueId, delivery });
    }
  }

  /** The views of a venue's configured fridges, in no particular order (for totals). */
  private configuredViews(vm: VenueModel): FridgeView[] {
    const out: FridgeView[] = [];
    for (const f of vm.fridges.values()) if (f.view.config?.venueId === vm.venueId) out.push(f.view);
    return out;
  }

  /** Records the fridge's observed totals when a delivery is announced (for the discrepancy). */
  noteDeliveryBaseline(venue: VenueId, deliveryId: string, fridge: FridgeId): void {
    this.flush();
    const vm = this.venues.get(venue);
    const d = vm?.deliveries.get(deliveryId);
    const f = vm?.fridges.get(fridge);
    // Snapshots are full totals: a meal absent from the fridge's cells counts 0.
    if (d !== undefined && d.before === undefined) {
      d.before = Object.fromEntries(Object.keys(d.value.i).map((m) => [m, f?.view.cells.find((c) => c.meal === m)?.T ?? 0]));
      this.publishDeliveries(vm!, fridge);
    }
  }

  /** Venues of a city (all when `city` is undefined), flushed. */
  venuesIn(city?: string): VenueModel[] {
    this.flush();
    const ids = city === undefined ? [...this.venues.keys()] : [...(this.byCity.get(city) ?? [])];
    return ids
      .sort()
      .map((id) => this.venues.get(id)!)
      .filter((v) => v.record !== undefined && (city === undefined || v.record.city === city));
  }

  /** Notes a venue that exists in storage or the seed, so a failed load answers NOT_READY, not 404. */
  expectVenue(venue: string): void {
    this.expected.add(venue);
  }

  /** One venue, or UNKNOWN_VENUE (404), or NOT_READY (503) when its document could not be loaded. */
  require(venue: string): VenueModel {
    const vm = this.get(venue);
    if (vm !== undefined) return vm;
    if (this.expected.has(venue)) throw new FridgesyncError('NOT_READY', `venue ${venue} is not loaded (its document could not be read)`);
    throw new FridgesyncError('UNKNOWN_VENUE');
  }

  /** One venue, flushed. */
  get(venue: string): VenueModel | undefined {
    this.flush();
    const v = this.venues.get(venue);
    return v?.record === undefined ? undefined : v;
  }

  /** Configured fridges of a venue (config record present and in this venue). */
  fridgesOf(vm: VenueModel): Array<[string, FridgeModel]> {
    return [...vm.fridges].filter(([, f]) => f.view.config?.venueId === vm.venueId).sort(([a], [b]) => (a < b ? -1 : 1));
  }

  /** The active promotion price for a meal at a fridge, if any (fridge-specific wins, then the lowest). */
  promotionPrice(vm: VenueModel, fridge: string, meal: MealId | string, at: number): { priceCents: number; promotionId: string } | undefined {
    let best: { priceCents: number; promotionId: string; specific: boolean } | undefined;
    for (const [id, p] of vm.promotionsByMeal.get(meal) ?? []) {
      if (at < p.fromMs || at >= p.untilMs) continue;
      if (p.fridgeId !== undefined && p.fridgeId !== fridge) continue;
      const specific = p.fridgeId !== undefined;
      if (best === undefined || (specific && !best.specific) || (specific === best.specific && p.priceCents < best.priceCents)) best = { priceCents: p.priceCents, promotionId: id, specific };
    }
    return best && { priceCents: best.priceCents, promotionId: best.promotionId };
  }
}
