/**
 * The in-memory read model behind `/v1/venues`, `/v1/catalog`, the refill plan and the change
 * feed. It observes document changes (a {@link DocObserver}): each transaction marks the folds it
 * calls for (a venue's config, the fridges and orders it touched), and each is run once, in paced
 * background slices or before the next read, whichever comes first (docs/design.md "Scheduling
 * work after changes"). Requests never fold a whole venue. The model outlives an unloaded document
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
  type MealRecord,
  type OrderId,
  type PromotionRecord,
  type ReplicaId,
  type VenueId,
  type VenueRecord,
  DirtyScheduler,
  type Pacing,
  type Slice,
} from '@fridgesync/shared';
import type { VenueHost } from './venue-host.ts';
import type { EventHub } from './event-hub.ts';
import type { DocObserver } from './doc-observer.ts';
import { promotionsByMeal, type PromotionsByMeal } from './promotion-pricing.ts';
import { stableJson } from './stable-json.ts';
import { announcedDelivery } from './delivery-announcement.ts';

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
  /** The promotions grouped by meal, for pricing (`promotion-pricing.ts`). */
  promotionsByMeal: PromotionsByMeal;
  deliveries: Map<string, DeliveryModel>;
  /** Replicas known in the document (for the gateway view). */
  replicas: ReplicaId[];
}

/**
 * Least time between two background fold cycles, ms: live events (`/v1/events`) lag a busy venue by
 * at most this, or by up to {@link FOLD_PACING}'s `maxIntervalMs` under load; reads fold what is
 * pending first and never see stale state.
 */
export const REFRESH_INTERVAL_MS = 250;
/** Most time one background slice of folding takes before yielding to I/O, ms. */
const SLICE_MS = 4;
/**
 * How often background fold cycles start: at most a tenth of the process under a stream of changes
 * (a venue whose fridges all change all the time is folded less often, so storing what gateways
 * send keeps the cores), every {@link REFRESH_INTERVAL_MS} to 2 s.
 */
export const FOLD_PACING: Pacing = { minIntervalMs: REFRESH_INTERVAL_MS, maxIntervalMs: 2_000, maxShare: 0.1 };

/** One fold the read model owes: a venue's config (with deliveries and replicas), a fridge, or an order's event. */
type Fold = { host: VenueHost } & ({ kind: 'config' } | { kind: 'fridge'; fridge: FridgeId } | { kind: 'order'; order: OrderId });

/** The read model over all venues. */
export class ReadModel implements DocObserver {
  readonly venues = new Map<string, VenueModel>();
  /** city → venue ids (the catalog is split by city). */
  private readonly byCity = new Map<string, Set<string>>();
  /** order id → venue, for `GET /v1/orders/{id}`. */
  readonly orderVenue = new Map<string, VenueId>();
  /** Folds owed, keyed `<kind>:<venue>:<id>` (ids never hold `:`); run in paced slices. */
  private readonly folds: DirtyScheduler<string, Fold>;
  /** Last published state per order, so `order` events fire on transitions only (pruned with the order). */
  private readonly orderState = new Map<string, string>();
  private readonly expected = new Set<string>();

  constructor(
    private readonly replica: ReplicaId,
    private readonly hub: EventHub,
    private readonly now: () => number = Date.now,
    /** Reports a fold that threw; the rest of the model keeps updating. */
    private readonly onError: (e: unknown, venue: string) => void = () => undefined,
  ) {
    this.folds = new DirtyScheduler<string, Fold>({ sliceMs: SLICE_MS, pacing: FOLD_PACING, run: (slice) => this.runFolds(slice) });
  }

  /** A freshly loaded host: full build now, then the folds its transactions call for. */
  loaded(host: VenueHost): void {
    for (const id of host.doc.index.orders.keys()) this.orderVenue.set(id, host.venueId);
    this.markConfig(host);
    this.flush();
  }

  /**
   * Marks what a transaction touched: an isolated change is folded at once, a stream of changes at
   * most once per interval (a fridge changing many times a second is folded a few times, not each time).
   */
  changed(host: VenueHost, s: ChangeSummary): void {
    if (s.config || s.lifecycle) this.markConfig(host);
    for (const fridge of s.fridges) this.mark({ host, kind: 'fridge', fridge });
    for (const order of s.orders) {
      if (host.doc.index.orders.has(order)) this.orderVenue.set(order, host.venueId);
      this.mark({ host, kind: 'order', order });
    }
  }

  private mark(f: Fold): void {
    const id = f.kind === 'config' ? '' : f.kind === 'fridge' ? f.fridge : f.order;
    // The newest host: a venue unloaded and loaded again folds from its new document.
    this.folds.mark(`${f.kind}:${f.host.venueId}:${id}`, () => f);
  }
  private markConfig(host: VenueHost): void {
    this.mark({ host, kind: 'config' });
    for (const fridge of host.doc.index.fridgeIds()) this.mark({ host, kind: 'fridge', fridge });
  }

  /** Folds what is pending, all of it (reads call it: they see everything). */
  flush(): void {
    this.folds.flush();
  }

  /** Runs one slice of folds (the scheduler bounds its time; reads take everything). */
  private runFolds(slice: Slice<string, Fold>): void {
    for (let e = slice.next(); e !== undefined; e = slice.next()) {
      const f = e[1];
      if (f.host.state === 'closed') continue;
      // Runs on a timer: one venue's bad data must not take the process (or other venues) down.
      try {
        const vm = this.venue(f.host.venueId);
        if (f.kind === 'config') this.refreshConfig(f.host, vm);
        else if (f.kind === 'fridge') this.refreshFridge(f.host, vm, f.fridge);
        else this.refreshOrder(f.host, f.order);
      } catch (err) {
        this.onError(err, f.host.venueId);
      }
    }
  }

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
    vm.promotionsByMeal = promotionsByMeal(vm.promotions);
    const deliveries = new Map<string, DeliveryModel>();
    for (const [id, byReplica] of doc.index.deliveries) {
      const value = announcedDelivery(byReplica);
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
}
