/**
 * The structured index of a venue document: every replica's live entries, arranged by fridge,
 * meal, order and replica so each fold reads only what it needs. It is fed by the document's
 * materialiser (venue-doc.ts) with the joined value of each `(replica, key)` and never written
 * directly. A change summary is collected per transaction so read models can update incrementally.
 */
import type { DeliveryId, FridgeId, MealId, OrderId, ReplicaId } from './ids.ts';
import type {
  ConfigValue,
  CounterValue,
  DeliveryValue,
  EntryKey,
  EpochValue,
  MetaValue,
  OrderValue,
  PickupValue,
  RecallValue,
  RequestValue,
  RetireValue,
  SnapshotValue,
  StatusValue,
  TakerValue,
  XferValue,
} from './entries.ts';
import type { ConfigSection } from './config-records.ts';

type Nested<V> = Map<string, V>;

function deep<V>(m: Map<string, V>, k: string, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}

/** Sets or deletes `value` at a path of nested maps, removing emptied maps on the way back. */
function put(root: Map<string, unknown>, path: readonly string[], value: unknown): void {
  const maps: Map<string, unknown>[] = [root];
  let cur = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    let next = cur.get(k) as Map<string, unknown> | undefined;
    if (next === undefined) {
      if (value === undefined) return;
      next = new Map();
      cur.set(k, next);
    }
    maps.push(next);
    cur = next;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) cur.delete(last);
  else cur.set(last, value);
  for (let i = maps.length - 1; i > 0; i--) {
    if (maps[i]!.size === 0) maps[i - 1]!.delete(path[i - 1]!);
    else break;
  }
}

/** What one transaction touched, for incremental read models. */
export interface ChangeSummary {
  fridges: Set<FridgeId>;
  /** fridge → meals whose recall entries changed (what a taker may have to answer). */
  recalls: Map<FridgeId, Set<MealId>>;
  orders: Set<OrderId>;
  config: boolean;
  replicas: Set<ReplicaId>;
  lifecycle: boolean;
}

export function emptySummary(): ChangeSummary {
  return { fridges: new Set(), recalls: new Map(), orders: new Set(), config: false, replicas: new Set(), lifecycle: false };
}

/** The index; all maps are keyed by plain strings (branded ids at the edges). */
export class VenueIndex {
  /** fridge → meal → replica → [inc, dec] */
  readonly counters: Nested<Nested<Nested<CounterValue>>> = new Map();
  /** fridge → meal → from → to → [n, ack] */
  readonly xfers: Nested<Nested<Nested<Nested<XferValue>>>> = new Map();
  /** fridge → replica → snapshot */
  readonly snapshots: Nested<Nested<SnapshotValue>> = new Map();
  /** fridge → order → replica → pickup */
  readonly pickups: Nested<Nested<Nested<PickupValue>>> = new Map();
  /** order → replica → entry */
  readonly orders: Nested<Nested<OrderValue>> = new Map();
  /** fridge → orders with an entry on that fridge */
  readonly ordersByFridge: Map<string, Set<string>> = new Map();
  /** fridge → meal → replica → [seq, want] */
  readonly requests: Nested<Nested<Nested<RequestValue>>> = new Map();
  /** fridge → meal → taker → from → [seq, n] */
  readonly recalls: Nested<Nested<Nested<Nested<RecallValue>>>> = new Map();
  /** taker → fridge → meals with at least one recall addressed to that taker (answering scans only its own) */
  readonly recallsTo: Map<string, Map<string, Set<string>>> = new Map();
  /** fridge → replica → status */
  readonly status: Nested<Nested<StatusValue>> = new Map();
  /** retired replica → author → retirement */
  readonly retirements: Nested<Nested<RetireValue>> = new Map();
  /** replica → taker declaration */
  readonly takers: Nested<TakerValue> = new Map();
  /** replica → meta */
  readonly meta: Nested<MetaValue> = new Map();
  /** section → id → replica → record */
  readonly config: Nested<Nested<Nested<ConfigValue>>> = new Map();
  /** delivery → replica → announcement */
  readonly deliveries: Nested<Nested<DeliveryValue>> = new Map();
  /**
   * fridge → meal → the largest total of any snapshot entry this index held and saw replaced since
   * it was built. Not a fold (it depends on the order updates arrived in, and a reload starts it
   * afresh): only the validator's bound on creating rights reads it (validator.ts, creationBound),
   * so a reconciler's correction against a snapshot central has since replaced is not refused.
   * Bounded by fridges × meals.
   */
  readonly replacedPeak: Map<string, Map<string, number>> = new Map();
  /** gateway → epoch → central replica → allocation (docs/sync-protocol.md, "Epoch allocation") */
  readonly epochs: Nested<Nested<Nested<EpochValue>>> = new Map();
  /** Parsed config records by their stored value object (a memo for `configRecord`). */
  readonly parsedConfig = new WeakMap<object, { record: unknown }>();
  /** Replicas with at least one live entry, and how many. */
  readonly replicaEntryCount: Map<string, number> = new Map();

  private summary: ChangeSummary = emptySummary();

  /** fridge → how many times one of its snapshot or pickup entries changed (see {@link observations}). */
  private readonly observed = new Map<string, number>();

  /**
   * A number that changes whenever any replica's snapshot or pickup entry of `fridge` changes in
   * the index: what a snapshot is judged against (docs/design.md "Observed totals") is the same while it is the same.
   */
  observations(fridge: FridgeId): number {
    return this.observed.get(fridge) ?? 0;
  }

  /**
   * Bumped by the document around every transaction's materialisation: folds memoised with
   * {@link memo} hold within one generation (the index and the document's state are constant).
   */
  generation = 0;
  private memoGeneration = -1;
  private readonly memos = new Map<string, Map<string, unknown>>();

  /** `compute()` once per generation for `(table, key)`. */
  memo<T>(table: string, key: string, compute: () => T): T {
    if (this.memoGeneration !== this.generation) {
      this.memos.clear();
      this.memoGeneration = this.generation;
    }
    let m = this.memos.get(table);
    if (m === undefined) this.memos.set(table, (m = new Map()));
    if (m.has(key)) return m.get(key) as T;
    const v = compute();
    m.set(key, v);
    return v;
  }

  /** Applies the joined value of `(replica, key)`; `undefined` removes it. */
  apply(replica: ReplicaId, key: EntryKey, value: unknown): void {
    const s = this.summary;
    s.replicas.add(replica);
    const r = replica as string;
    switch (key.kind) {
      case 'counter':
        put(this.counters, [key.fridge, key.meal, r], value);
        s.fridges.add(key.fridge);
        break;
      case 'xfer':
        put(this.xfers, [key.fridge, key.meal, r, key.to], value);
        s.fridges.add(key.fridge);
        break;
      case 'snapshot': {
        const prev = this.snapshots.get(key.fridge)?.get(r);
        if (prev !== undefined && prev !== value) {
          const peak = deep(this.replacedPeak, key.fridge, () => new Map<string, number>());
          for (const [m, n] of Object.entries(prev.i)) if (n > (peak.get(m) ?? 0)) peak.set(m, n);
        }
        put(this.snapshots, [key.fridge, r], value);
        s.fridges.add(key.fridge);
        this.observed.set(key.fridge, (this.observed.get(key.fridge) ?? 0) + 1);
        break;
      }
      case 'pickup':
        put(this.pickups, [key.fridge, key.order, r], value);
        s.fridges.add(key.fridge);
        this.observed.set(key.fridge, (this.observed.get(key.fridge) ?? 0) + 1);
        break;
      case 'order': {
        const prev = this.orders.get(key.order)?.get(r);
        put(this.orders, [key.order, r], value);
        const f = ((value ?? prev) as OrderValue | undefined)?.f;
        if (f !== undefined) {
          s.fridges.add(f);
          if (this.orders.has(key.order)) deep(this.ordersByFridge, f, () => new Set()).add(key.order);
          else {
            const set = this.ordersByFridge.get(f);
            set?.delete(key.order);
            if (set?.size === 0) this.ordersByFridge.delete(f);
          }
        }
        s.orders.add(key.order);
        break;
      }
      case 'request':
        put(this.requests, [key.fridge, key.meal, r], value);
        s.fridges.add(key.fridge);
        break;
      case 'recall': {
        put(this.recalls, [key.fridge, key.meal, key.taker, r], value);
        const any = (this.recalls.get(key.fridge)?.get(key.meal)?.get(key.taker)?.size ?? 0) > 0;
        const byFridge = this.recallsTo.get(key.taker);
        if (any) deep(deep(this.recallsTo, key.taker, () => new Map<string, Set<string>>()), key.fridge, () => new Set<string>()).add(key.meal);
        else if (byFridge !== undefined) {
          const meals = byFridge.get(key.fridge);
          meals?.delete(key.meal);
          if (meals?.size === 0) byFridge.delete(key.fridge);
          if (byFridge.size === 0) this.recallsTo.delete(key.taker);
        }
        s.fridges.add(key.fridge);
        deep(s.recalls as Map<string, Set<MealId>>, key.fridge, () => new Set<MealId>()).add(key.meal);
        break;
      }
      case 'status':
        put(this.status, [key.fridge, r], value);
        s.fridges.add(key.fridge);
        break;
      case 'retire':
        put(this.retirements, [key.replica, r], value);
        s.lifecycle = true;
        break;
      case 'taker':
        put(this.takers, [r], value);
        s.lifecycle = true;
        break;
      case 'meta':
        put(this.meta, [r], value);
        break;
      case 'config':
        put(this.config, [key.section, key.id, r], value);
        s.config = true;
        break;
      case 'delivery':
        put(this.deliveries, [key.delivery, r], value);
        s.config = true;
        break;
      case 'epoch':
        put(this.epochs, [key.gateway, String(key.epoch), r], value);
        s.lifecycle = true;
        break;
    }
  }

  /** Tracks the number of live entries per replica (which replicas exist). */
  countEntry(replica: ReplicaId, delta: number): void {
    const n = (this.replicaEntryCount.get(replica) ?? 0) + delta;
    if (n <= 0) this.replicaEntryCount.delete(replica);
    else this.replicaEntryCount.set(replica, n);
  }

  /** Returns and resets the change summary collected since the last call. */
  takeSummary(): ChangeSummary {
    const s = this.summary;
    this.summary = emptySummary();
    return s;
  }

  /** Fridges known from any entry or from config. */
  fridgeIds(): FridgeId[] {
    const ids = new Set<string>();
    for (const m of [this.counters, this.snapshots, this.status, this.ordersByFridge, this.pickups]) for (const k of m.keys()) ids.add(k);
    for (const k of this.config.get('fridge')?.keys() ?? []) ids.add(k);
    return [...ids].sort() as FridgeId[];
  }

  /** The raw config versions of one record. */
  configVersions(section: ConfigSection, id: string): Map<string, ConfigValue> | undefined {
    return this.config.get(section)?.get(id);
  }

  /** Delivery announcements. */
  deliveryIds(): DeliveryId[] {
    return [...this.deliveries.keys()] as DeliveryId[];
  }

  /** Meals present for a fridge in counters, snapshots, pickups or orders. */
  mealsOf(fridge: FridgeId): Set<MealId> {
    const meals = new Set<string>();
    for (const m of this.counters.get(fridge)?.keys() ?? []) meals.add(m);
    for (const snap of this.snapshots.get(fridge)?.values() ?? []) for (const m of Object.keys(snap.i)) meals.add(m);
    for (const byReplica of this.pickups.get(fridge)?.values() ?? []) for (const p of byReplica.values()) for (const m of Object.keys(p.i)) meals.add(m);
    for (const o of this.ordersByFridge.get(fridge) ?? []) for (const e of this.orders.get(o)?.values() ?? []) for (const [m] of e.l ?? []) meals.add(m);
    return meals as Set<MealId>;
  }
}
