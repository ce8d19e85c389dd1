/**
 * Folds: the deterministic functions from all replicas' entries to every value anyone reads
 * (docs/design.md). Two replicas whose documents hold the same entries compute the same results.
 * Nothing here writes; operations live in counter.ts, orders.ts, reconcile.ts and lifecycle.ts.
 */
import { replicaParts, type FridgeId, type MealId, type OrderId, type ReplicaId } from './ids.ts';
import { compareSnapshots, compareTag, ORDER_STATES, STATE_CODE, type OrderState, type PickupValue, type SnapshotValue, type StatusValue } from './entries.ts';
import { CONFIG_SECTIONS, type ConfigRecord, type ConfigSection, type FridgeRecord } from './config-records.ts';
import type { VenueIndex } from './venue-index.ts';

/** What folds read: the index and the document's state vector (for retirement coverage). */
export interface FoldSource {
  readonly index: VenueIndex;
  hasState(client: number, clock: number): boolean;
}

// ---------------------------------------------------------------- operator data

/** The current record of a config entry: the greatest HLC among central replicas; `undefined` if absent or deleted. */
export function configRecord<S extends ConfigSection>(src: FoldSource, section: S, id: string): ConfigRecord<S> | undefined {
  const versions = src.index.configVersions(section, id);
  if (versions === undefined) return undefined;
  let best: { h: string; v: unknown } | undefined;
  for (const [replica, v] of versions) {
    if (!replica.startsWith('central:')) continue; // one logical writer: central
    if (best === undefined || v.h > best.h) best = v;
  }
  if (best === undefined || best.v === null) return undefined;
  // Parsed records are cached per index by the stored value object: folds read config on hot paths.
  const cache = src.index.parsedConfig;
  let parsed = cache.get(best);
  if (parsed === undefined) {
    const r = CONFIG_SECTIONS[section].safeParse(best.v);
    parsed = { record: r.success ? r.data : undefined };
    cache.set(best, parsed);
  }
  return parsed.record as ConfigRecord<S> | undefined;
}

/** Ids of the live records of a config section, sorted. */
export function configIds(src: FoldSource, section: ConfigSection): string[] {
  return [...(src.index.config.get(section)?.keys() ?? [])].filter((id) => configRecord(src, section, id) !== undefined).sort();
}

// ---------------------------------------------------------------- replica lifecycle

/** May `author` retire `replica`? Itself, a later epoch of the same gateway, or central. */
export function mayRetire(author: ReplicaId, replica: ReplicaId): boolean {
  if (author === replica) return true;
  const a = replicaParts(author);
  if (a.kind === 'central') return true;
  const r = replicaParts(replica);
  return r.kind === 'gateway' && r.gatewayId === a.gatewayId && a.epoch > r.epoch;
}

/**
 * True when `replica` is retired: a valid author retired it and this document holds every write of
 * the replica up to the retirement's state vector, so its final rights are known (docs/design.md "Replica lifecycle").
 */
export function isRetired(src: FoldSource, replica: ReplicaId): boolean {
  const byAuthor = src.index.retirements.get(replica);
  if (byAuthor === undefined) return false;
  return src.index.memo('retired', replica, () => {
    for (const [author, v] of byAuthor) {
      if (!mayRetire(author as ReplicaId, replica)) continue;
      if (v.sv.every(([client, clock]) => src.hasState(client, clock))) return true;
    }
    return false;
  });
}

/** Replicas known to the document (with live entries), sorted. */
export function knownReplicas(src: FoldSource): ReplicaId[] {
  return [...src.index.replicaEntryCount.keys()].sort() as ReplicaId[];
}

/** The highest live (not retired) epoch replica of a gateway. */
export function currentGatewayReplica(src: FoldSource, gatewayId: string): ReplicaId | undefined {
  let best: ReplicaId | undefined;
  let bestEpoch = -1;
  for (const r of src.index.replicaEntryCount.keys()) {
    if (!r.startsWith(`gw:${gatewayId}:`)) continue;
    const p = replicaParts(r as ReplicaId);
    if (p.kind === 'gateway' && p.epoch > bestEpoch && !isRetired(src, r as ReplicaId)) {
      best = r as ReplicaId;
      bestEpoch = p.epoch;
    }
  }
  return best;
}

/** The reconciler replica of a fridge: the current replica of its assigned gateway (docs/design.md "Reconciliation"). */
export function currentReconciler(src: FoldSource, fridge: FridgeId): ReplicaId | undefined {
  return src.index.memo('reconciler', fridge, () => {
    const cfg = configRecord(src, 'fridge', fridge) as FridgeRecord | undefined;
    return cfg === undefined ? undefined : currentGatewayReplica(src, cfg.reconciler);
  });
}

/** Replicas that declared themselves order takers and are not retired. */
export function activeTakers(src: FoldSource): ReplicaId[] {
  const takers = src.index.memo('takers', '', () => {
    const out: ReplicaId[] = [];
    for (const [r, v] of src.index.takers) if (v.on && !isRetired(src, r as ReplicaId)) out.push(r as ReplicaId);
    return out.sort();
  });
  return [...takers];
}

// ---------------------------------------------------------------- observed totals

/** The fridge's latest snapshot over all replicas: greatest `(boot, era, seq)`, ties broken by content. */
export function observedSnapshot(src: FoldSource, fridge: FridgeId): SnapshotValue | undefined {
  let best: SnapshotValue | undefined;
  for (const s of src.index.snapshots.get(fridge)?.values() ?? []) if (best === undefined || compareSnapshots(s, best) > 0) best = s;
  return best;
}

/** Pickups newer than the snapshot, one per order (the greatest tag if replicas differ). */
export function pendingPickups(src: FoldSource, fridge: FridgeId, snap = observedSnapshot(src, fridge)): Map<OrderId, PickupValue> {
  const out = new Map<OrderId, PickupValue>();
  for (const [order, byReplica] of src.index.pickups.get(fridge) ?? []) {
    let best: PickupValue | undefined;
    for (const p of byReplica.values()) if (best === undefined || compareTag(p, best) > 0) best = p;
    if (best !== undefined && (snap === undefined || compareTag(best, snap) > 0)) out.set(order as OrderId, best);
  }
  return out;
}

// ---------------------------------------------------------------- orders

/**
 * One version of an order's contents: the creating entries (order id, fridge, lines) of replicas
 * that agree on fridge and lines. An order has one variant unless the same id was reserved with
 * other contents on replicas that could not see each other (a partition): a contents conflict.
 */
export interface OrderVariant {
  fridge: FridgeId;
  lines: Array<[MealId, number]>;
  /** The replicas that created this variant (took the order), sorted; the first one's hold counts. */
  takers: ReplicaId[];
  /** Hold expiry in the first taker's clock (ms). */
  holdUntil: number | undefined;
  /** Creation time in the first taker's clock (ms). */
  createdAt: number | undefined;
}

/** The folded view of one order. */
export interface OrderFold {
  orderId: OrderId;
  fridge: FridgeId;
  /** Lines `[meal, qty]` of the first variant, known once a creating replica's entry is seen. */
  lines: Array<[MealId, number]> | undefined;
  state: OrderState;
  /** True on either kind of conflict ({@link OrderFold.stateConflict}, {@link OrderFold.contentConflict}). */
  conflict: boolean;
  /** Replicas recorded conflicting terminal states (picked_up wins; reported). */
  stateConflict: boolean;
  /**
   * The id was reserved with different contents by different takers (more than one variant). Every
   * variant holds its units while the order is reserved (`R` counts them all); a transition of the
   * order (cancel, expiry, pickup) settles every variant (README "The semantics, in plain words").
   */
  contentConflict: boolean;
  /** Every version of the contents, the first variant's first (its taker has the least replica id). */
  variants: OrderVariant[];
  holdUntil: number | undefined;
  createdAt: number | undefined;
  /** Latest transition time over all replicas (ms). */
  updatedAt: number;
  /** The replica that created it (the least replica id among the creators). */
  createdBy: ReplicaId | undefined;
}

/** Folds an order's entries: lattice max of states, `picked_up` winning conflicts; contents grouped into variants. */
export function foldOrder(src: FoldSource, orderId: OrderId): OrderFold | undefined {
  const entries = src.index.orders.get(orderId);
  if (entries === undefined || entries.size === 0) return undefined;
  const seen = new Set<number>();
  const variants: OrderVariant[] = [];
  let fridge: string | undefined;
  let updatedAt = 0;
  // Visited in replica order (most orders have one or two entries), so a variant's first taker is its least replica id.
  for (const [r, e] of entries.size === 1 ? entries : [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    seen.add(e.s);
    if (e.x !== undefined) seen.add(e.x); // an own cancel/expiry a pickup overrode (still a conflict)
    fridge ??= e.f;
    updatedAt = Math.max(updatedAt, e.t);
    if (e.l === undefined) continue;
    const v = variants.find((x) => x.fridge === e.f && sameLines(x.lines, e.l!));
    if (v !== undefined) v.takers.push(r as ReplicaId);
    else variants.push({ fridge: e.f as FridgeId, lines: e.l as Array<[MealId, number]>, takers: [r as ReplicaId], holdUntil: e.h, createdAt: e.c });
  }
  const first = variants[0];
  const terminal = [STATE_CODE.cancelled, STATE_CODE.expired, STATE_CODE.picked_up].filter((s) => seen.has(s));
  const state: OrderState = seen.has(STATE_CODE.picked_up) ? 'picked_up' : seen.has(STATE_CODE.cancelled) ? 'cancelled' : seen.has(STATE_CODE.expired) ? 'expired' : 'reserved';
  const stateConflict = terminal.length > 1;
  const contentConflict = variants.length > 1;
  return {
    orderId,
    fridge: (first?.fridge ?? fridge) as FridgeId,
    lines: first?.lines,
    state,
    conflict: stateConflict || contentConflict,
    stateConflict,
    contentConflict,
    variants,
    holdUntil: first?.holdUntil,
    createdAt: first?.createdAt,
    updatedAt,
    createdBy: first?.takers[0],
  };
}

function sameLines(a: ReadonlyArray<readonly [string, number]>, b: ReadonlyArray<readonly [string, number]>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  return true;
}

/** Units an order holds on one fridge, per meal: the lines of every variant on that fridge, summed. */
export function linesOn(o: OrderFold, fridge: FridgeId): Array<[MealId, number]> {
  if (o.variants.length === 1) return o.variants[0]!.fridge === fridge ? o.variants[0]!.lines : [];
  const m = new Map<MealId, number>();
  for (const v of o.variants) if (v.fridge === fridge) for (const [meal, q] of v.lines) m.set(meal, (m.get(meal) ?? 0) + q);
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reserved orders holding units on a fridge (folded state `reserved`, a variant on the fridge), oldest first. */
export function reservedOrders(src: FoldSource, fridge: FridgeId): OrderFold[] {
  const out: OrderFold[] = [];
  for (const id of src.index.ordersByFridge.get(fridge) ?? []) {
    const o = foldOrder(src, id as OrderId);
    if (o !== undefined && o.state === 'reserved' && o.variants.some((v) => v.fridge === fridge)) out.push(o);
  }
  return out.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0) || (a.orderId < b.orderId ? -1 : 1));
}

/**
 * `R(f, m)`: reserved units per meal. A contents conflict counts every variant: each taker spent
 * rights for its own variant, so counting one would let the reconciler hand the other's units out again.
 */
export function reservedByMeal(src: FoldSource, fridge: FridgeId, orders = reservedOrders(src, fridge)): Map<MealId, number> {
  const r = new Map<MealId, number>();
  for (const o of orders) for (const [m, q] of linesOn(o, fridge)) r.set(m, (r.get(m) ?? 0) + q);
  return r;
}

// ---------------------------------------------------------------- bounded counter

/** `S = Σ inc − Σ dec` for one fridge and meal. */
export function sellable(src: FoldSource, fridge: FridgeId, meal: MealId): number {
  let s = 0;
  for (const [inc, dec] of src.index.counters.get(fridge)?.get(meal)?.values() ?? []) s += inc - dec;
  return s;
}

/** Rights per replica, with retired replicas' rights folded to the reconciler. */
export interface RightsFold {
  rights: Map<ReplicaId, number>;
  /** Rights of retired replicas while no live reconciler replica exists yet. */
  unassigned: number;
}

/** Own-structure part of a replica's rights: `inc − dec − Σ xfer out`. */
export function ownRightsPart(src: FoldSource, r: ReplicaId, fridge: FridgeId, meal: MealId): number {
  const c = src.index.counters.get(fridge)?.get(meal)?.get(r);
  let v = c === undefined ? 0 : c[0] - c[1];
  for (const x of src.index.xfers.get(fridge)?.get(meal)?.get(r)?.values() ?? []) v -= x[0];
  return v;
}

/** Rights transferred into `r` by other replicas. */
export function xferIn(src: FoldSource, r: ReplicaId, fridge: FridgeId, meal: MealId): number {
  let v = 0;
  for (const [from, tos] of src.index.xfers.get(fridge)?.get(meal) ?? []) if (from !== r) v += tos.get(r)?.[0] ?? 0;
  return v;
}

function baseRights(src: FoldSource, fridge: FridgeId, meal: MealId): Map<string, number> {
  const base = new Map<string, number>();
  const add = (r: string, d: number) => base.set(r, (base.get(r) ?? 0) + d);
  for (const [r, [inc, dec]] of src.index.counters.get(fridge)?.get(meal) ?? []) add(r, inc - dec);
  for (const [from, tos] of src.index.xfers.get(fridge)?.get(meal) ?? []) {
    for (const [to, [n]] of tos) {
      add(from, -n);
      add(to, n);
    }
  }
  return base;
}

/**
 * What retired replicas still held for one fridge and meal (flows to the reconciler). Read for
 * every rights check of the reconciler, so it is memoised per index generation, and 0 at once in
 * the usual venue where no replica was ever retired.
 */
export function retiredPool(src: FoldSource, fridge: FridgeId, meal: MealId): number {
  if (src.index.retirements.size === 0) return 0;
  return src.index.memo('retired-pool', `${fridge}/${meal}`, () => {
    let pool = 0;
    for (const [r, v] of baseRights(src, fridge, meal)) if (isRetired(src, r as ReplicaId)) pool += Math.max(0, v);
    return pool;
  });
}

/**
 * Rights of every replica for one fridge and meal (docs/design.md "The bounded counter"):
 * `inc[i] + Σ xfer[j→i] − Σ xfer[i→j] − dec[i]`. A retired replica holds nothing; what it held flows
 * to the fridge's current reconciler (docs/design.md "Replica lifecycle"), so the sum of all rights equals `S`.
 */
export function rightsFold(src: FoldSource, fridge: FridgeId, meal: MealId): RightsFold {
  const rights = new Map<ReplicaId, number>();
  let pool = 0;
  for (const [r, v] of baseRights(src, fridge, meal)) {
    if (isRetired(src, r as ReplicaId)) pool += Math.max(0, v);
    else rights.set(r as ReplicaId, v);
  }
  const rec = currentReconciler(src, fridge);
  if (rec !== undefined && pool > 0) {
    rights.set(rec, (rights.get(rec) ?? 0) + pool);
    pool = 0;
  }
  return { rights, unassigned: pool };
}

/**
 * Rights of one replica (0 when retired). `own` overrides the replica's own-structure part, so a
 * writer can account for entries it set earlier in the same transaction.
 */
export function rightsOf(src: FoldSource, replica: ReplicaId, fridge: FridgeId, meal: MealId, own?: number): number {
  if (isRetired(src, replica)) return 0;
  let v = (own ?? ownRightsPart(src, replica, fridge, meal)) + xferIn(src, replica, fridge, meal);
  if (currentReconciler(src, fridge) === replica) v += retiredPool(src, fridge, meal);
  return v;
}

/**
 * Every non-zero right one replica holds, by fridge and meal ({@link rightsOf} of each cell that
 * has counter or transfer entries): what a gateway's `/status` shows as `rightsHeld`.
 */
export function rightsHeld(src: FoldSource, replica: ReplicaId): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const cells of [src.index.counters, src.index.xfers]) {
    for (const [f, meals] of cells) {
      for (const m of meals.keys()) {
        const r = rightsOf(src, replica, f as FridgeId, m as MealId);
        if (r !== 0) (out[f] ??= {})[m] = r;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- read model

/** Everything a reader sees about one fridge and meal. */
export interface CellView {
  fridge: FridgeId;
  meal: MealId;
  /** Observed total from the latest snapshot. */
  T: number;
  /** `T` minus pickups newer than the snapshot. */
  Teff: number;
  /** Reserved units. */
  R: number;
  /** Sellable units (bounded counter). */
  S: number;
  /** `T_eff − (S + R)`: what the reconciler still has to correct. */
  drift: number;
  /** `max(0, R − T_eff)`: reserved meals that are physically missing. */
  shortage: number;
  /** Orders affected by the shortage (the newest reservations beyond what is there). */
  affectedOrders: OrderId[];
  rights: Record<string, number>;
  unassigned: number;
}

/**
 * Computes the cells of a fridge for the given meals (all known meals by default). `withRights:
 * false` leaves `rights` empty and `unassigned` 0 (the reconciler reads rights one replica at a
 * time and needs only the totals).
 */
export function fridgeCells(src: FoldSource, fridge: FridgeId, meals?: Iterable<MealId>, withRights = true): CellView[] {
  const snap = observedSnapshot(src, fridge);
  const pend = pendingPickups(src, fridge, snap);
  const orders = reservedOrders(src, fridge);
  const R = reservedByMeal(src, fridge, orders);
  const out: CellView[] = [];
  for (const meal of [...(meals ?? src.index.mealsOf(fridge))].sort()) {
    const T = snap?.i[meal] ?? 0;
    let picked = 0;
    for (const p of pend.values()) picked += p.i[meal] ?? 0;
    const Teff = Math.max(0, T - picked);
    const r = R.get(meal) ?? 0;
    const S = sellable(src, fridge, meal);
    const shortage = Math.max(0, r - Teff);
    const affectedOrders: OrderId[] = [];
    if (shortage > 0) {
      let cum = 0;
      for (const o of orders) {
        const q = linesOn(o, fridge).find(([m]) => m === meal)?.[1] ?? 0;
        if (q === 0) continue;
        cum += q;
        if (cum > Teff) affectedOrders.push(o.orderId);
      }
    }
    const rf = withRights ? rightsFold(src, fridge, meal) : NO_RIGHTS;
    out.push({
      fridge,
      meal,
      T,
      Teff,
      R: r,
      S,
      drift: Teff - (S + r),
      shortage,
      affectedOrders,
      rights: Object.fromEntries([...rf.rights].filter(([, v]) => v !== 0).sort()),
      unassigned: rf.unassigned,
    });
  }
  return out;
}

const NO_RIGHTS: RightsFold = { rights: new Map(), unassigned: 0 };

/** One cell. */
export function cellView(src: FoldSource, fridge: FridgeId, meal: MealId): CellView {
  return fridgeCells(src, fridge, [meal])[0]!;
}

/** Latest presence of a fridge over all replicas. */
export function fridgeStatus(src: FoldSource, fridge: FridgeId): StatusValue | undefined {
  let best: StatusValue | undefined;
  for (const s of src.index.status.get(fridge)?.values() ?? []) if (best === undefined || s.ts > best.ts) best = s;
  return best;
}

/** The read model of one fridge. */
export interface FridgeView {
  fridgeId: FridgeId;
  config: FridgeRecord | undefined;
  reconciler: ReplicaId | undefined;
  snapshot: { boot: number; era: number; seq: number; ts: number } | undefined;
  status: StatusValue | undefined;
  cells: CellView[];
  openOrders: number;
  conflicts: OrderId[];
}

/** Folds one fridge. */
export function fridgeView(src: FoldSource, fridge: FridgeId): FridgeView {
  const snap = observedSnapshot(src, fridge);
  const conflicts: OrderId[] = [];
  let open = 0;
  for (const id of src.index.ordersByFridge.get(fridge) ?? []) {
    const o = foldOrder(src, id as OrderId);
    if (o?.conflict) conflicts.push(o.orderId);
    if (o?.state === 'reserved') open++;
  }
  return {
    fridgeId: fridge,
    config: configRecord(src, 'fridge', fridge),
    reconciler: currentReconciler(src, fridge),
    snapshot: snap && { boot: snap.b, era: snap.e, seq: snap.q, ts: snap.ts },
    status: fridgeStatus(src, fridge),
    cells: fridgeCells(src, fridge),
    openOrders: open,
    conflicts: conflicts.sort(),
  };
}

/** Venue-wide totals. */
export interface VenueTotals {
  T: number;
  Teff: number;
  R: number;
  S: number;
  shortage: number;
}

/** Sums cells into venue totals. */
export function totalsOf(fridges: FridgeView[]): VenueTotals {
  const t: VenueTotals = { T: 0, Teff: 0, R: 0, S: 0, shortage: 0 };
  for (const f of fridges) for (const c of f.cells) {
    t.T += c.T;
    t.Teff += c.Teff;
    t.R += c.R;
    t.S += c.S;
    t.shortage += c.shortage;
  }
  return t;
}

/** Order state names, for readers. */
export const ORDER_STATE_NAMES = ORDER_STATES;
