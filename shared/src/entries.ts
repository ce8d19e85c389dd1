/**
 * The entries of the venue document: key grammar, value schemas, the join of two values of one key,
 * and which changes a writer may make. Every replica writes only into its own keyed log
 * (`r:<replicaId>`, see keyed-log.ts); this file says what may be in it.
 *
 * Keys are `/`-separated (ids never contain `/`):
 *
 * | key                     | value                              | writer            | meaning |
 * |-------------------------|------------------------------------|-------------------|---------|
 * | `c/<f>/<m>`             | `[inc, dec]`                       | any replica       | bounded-counter entries (only grow) |
 * | `x/<f>/<m>/<to>`        | `[n, ack]`                         | any replica       | rights transferred to `to` (grows); `ack` = request/recall seq answered |
 * | `s/<f>`                 | `{b,e,q,ts,i}`                     | gateway           | latest fridge snapshot heard (boot, era, seq) |
 * | `p/<f>/<order>`         | `{b,e,q,i}`                        | gateway           | pickup event not yet covered by a snapshot |
 * | `o/<order>`             | `{f,s,t,l?,h?,c?}`                 | any replica       | order creation (with lines) or a state transition |
 * | `q/<f>/<m>`             | `[seq, want]`                      | any taker         | request for more rights |
 * | `r/<f>/<m>/<taker>`     | `[seq, n]`                         | gateway           | recall of rights from a taker |
 * | `st/<f>`                | `{on,ts,tc?,door?,fw?}`            | gateway           | fridge presence and temperature |
 * | `rt/<replica>`          | `{at, sv}`                         | self/successor/central | retirement of a replica |
 * | `tk`                    | `{on, at}`                         | any replica       | this replica takes orders and wants rights |
 * | `meta`                  | `{v, at}`                          | any replica       | software version of the writer |
 * | `cfg/<section>/<id>`    | `{h, v}`                           | central           | operator data, HLC-versioned (`v:null` deletes) |
 * | `dl/<delivery>`         | `{f, i, at}`                       | central           | kitchen delivery announced |
 * | `ep/<gateway>/<epoch>`  | `{at}`                             | central           | epoch allocated to a joining gateway (docs/sync-protocol.md) |
 */
import { z } from 'zod';
import {
  DeliveryIdSchema,
  FridgeIdSchema,
  MealIdSchema,
  OrderIdSchema,
  PLAIN_ID_PATTERN,
  ReplicaIdSchema,
  type DeliveryId,
  type GatewayId,
  type FridgeId,
  type MealId,
  type OrderId,
  type ReplicaId,
} from './ids.ts';
import { CONFIG_SECTIONS, type ConfigSection } from './config-records.ts';
import { MAX_UNITS_PER_MEAL, mealUnitsRecord } from './mqtt-payloads.ts';
import { isHlcTimestamp } from './hlc.ts';

/** A parsed entry key. */
export type EntryKey =
  | { kind: 'counter'; fridge: FridgeId; meal: MealId }
  | { kind: 'xfer'; fridge: FridgeId; meal: MealId; to: ReplicaId }
  | { kind: 'snapshot'; fridge: FridgeId }
  | { kind: 'pickup'; fridge: FridgeId; order: OrderId }
  | { kind: 'order'; order: OrderId }
  | { kind: 'request'; fridge: FridgeId; meal: MealId }
  | { kind: 'recall'; fridge: FridgeId; meal: MealId; taker: ReplicaId }
  | { kind: 'status'; fridge: FridgeId }
  | { kind: 'retire'; replica: ReplicaId }
  | { kind: 'taker' }
  | { kind: 'meta' }
  | { kind: 'config'; section: ConfigSection; id: string }
  | { kind: 'delivery'; delivery: DeliveryId }
  | { kind: 'epoch'; gateway: GatewayId; epoch: number };

export type EntryKind = EntryKey['kind'];

const plain = (s: string | undefined): boolean => s !== undefined && PLAIN_ID_PATTERN.test(s);

/** Parses a key; `undefined` for anything outside the grammar. */
export function parseKey(key: string): EntryKey | undefined {
  if (key.length > 200) return undefined;
  const p = key.split('/');
  const [t, a, b, c] = p;
  switch (t) {
    case 'c':
      return p.length === 3 && plain(a) && plain(b) ? { kind: 'counter', fridge: a as FridgeId, meal: b as MealId } : undefined;
    case 'x':
      return p.length === 4 && plain(a) && plain(b) && ReplicaIdSchema.safeParse(c).success
        ? { kind: 'xfer', fridge: a as FridgeId, meal: b as MealId, to: c as ReplicaId }
        : undefined;
    case 's':
      return p.length === 2 && plain(a) ? { kind: 'snapshot', fridge: a as FridgeId } : undefined;
    case 'p':
      return p.length === 3 && plain(a) && plain(b) ? { kind: 'pickup', fridge: a as FridgeId, order: b as OrderId } : undefined;
    case 'o':
      return p.length === 2 && plain(a) ? { kind: 'order', order: a as OrderId } : undefined;
    case 'q':
      return p.length === 3 && plain(a) && plain(b) ? { kind: 'request', fridge: a as FridgeId, meal: b as MealId } : undefined;
    case 'r':
      return p.length === 4 && plain(a) && plain(b) && ReplicaIdSchema.safeParse(c).success
        ? { kind: 'recall', fridge: a as FridgeId, meal: b as MealId, taker: c as ReplicaId }
        : undefined;
    case 'st':
      return p.length === 2 && plain(a) ? { kind: 'status', fridge: a as FridgeId } : undefined;
    case 'rt':
      return p.length === 2 && ReplicaIdSchema.safeParse(a).success ? { kind: 'retire', replica: a as ReplicaId } : undefined;
    case 'tk':
      return p.length === 1 ? { kind: 'taker' } : undefined;
    case 'meta':
      return p.length === 1 ? { kind: 'meta' } : undefined;
    case 'cfg':
      return p.length === 3 && a !== undefined && a in CONFIG_SECTIONS && plain(b)
        ? { kind: 'config', section: a as ConfigSection, id: b as string }
        : undefined;
    case 'dl':
      return p.length === 2 && plain(a) ? { kind: 'delivery', delivery: a as DeliveryId } : undefined;
    case 'ep':
      // The epoch is written canonically (no sign, no leading zero) so one epoch has one key.
      return p.length === 3 && plain(a) && b !== undefined && /^[1-9][0-9]{0,8}$/.test(b) ? { kind: 'epoch', gateway: a as GatewayId, epoch: Number(b) } : undefined;
    default:
      return undefined;
  }
}

/** Key builders, the inverse of {@link parseKey}. */
export const keys = {
  counter: (f: FridgeId, m: MealId) => `c/${f}/${m}`,
  xfer: (f: FridgeId, m: MealId, to: ReplicaId) => `x/${f}/${m}/${to}`,
  snapshot: (f: FridgeId) => `s/${f}`,
  pickup: (f: FridgeId, o: OrderId) => `p/${f}/${o}`,
  order: (o: OrderId) => `o/${o}`,
  request: (f: FridgeId, m: MealId) => `q/${f}/${m}`,
  recall: (f: FridgeId, m: MealId, taker: ReplicaId) => `r/${f}/${m}/${taker}`,
  status: (f: FridgeId) => `st/${f}`,
  retire: (r: ReplicaId) => `rt/${r}`,
  taker: () => 'tk',
  meta: () => 'meta',
  config: (section: ConfigSection, id: string) => `cfg/${section}/${id}`,
  delivery: (d: DeliveryId) => `dl/${d}`,
  epoch: (g: GatewayId, epoch: number) => `ep/${g}/${epoch}`,
} as const;

const n0 = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const itemMap = mealUnitsRecord(0);

/** Order states, as a lattice: reserved < cancelled | expired | picked_up; picked_up wins conflicts. */
export const ORDER_STATES = ['reserved', 'cancelled', 'expired', 'picked_up'] as const;
export type OrderState = (typeof ORDER_STATES)[number];
/** Index of each state in the stored encoding (`s` field). */
export const STATE_CODE = { reserved: 0, cancelled: 1, expired: 2, picked_up: 3 } as const satisfies Record<OrderState, number>;

export const CounterValueSchema = z.tuple([n0, n0]);
export const XferValueSchema = z.tuple([n0, n0]);
export const SnapshotValueSchema = z.strictObject({ b: n0, e: n0, q: n0, ts: n0, i: itemMap });
/** `ts`: the fridge's time of the pickup (ms), so the era rule can compare against it (optional: older entries lack it). */
export const PickupValueSchema = z.strictObject({ b: n0, e: n0, q: n0, ts: n0.optional(), i: itemMap, staff: z.literal(true).optional() });
/** Longest hold of an order, s (24 h): the API's `holdSeconds` bound and the validator's bound on `h − c`. */
export const MAX_HOLD_SECONDS = 86_400;

/**
 * True when a creating order entry holds longer than {@link MAX_HOLD_SECONDS} past its creation:
 * expiry waits for every variant's hold, so one entry with a far-future hold would pin the order's
 * units for good.
 */
export function holdTooLong(o: OrderValue): boolean {
  return o.h !== undefined && o.c !== undefined && o.h - o.c > MAX_HOLD_SECONDS * 1000;
}

export const OrderValueSchema = z.strictObject({
  f: FridgeIdSchema,
  s: z.number().int().min(STATE_CODE.reserved).max(STATE_CODE.picked_up),
  t: n0,
  l: z
    .array(z.tuple([MealIdSchema, z.number().int().min(1).max(MAX_UNITS_PER_MEAL)]))
    .min(1)
    .max(64)
    .optional(),
  h: n0.optional(),
  c: n0.optional(),
  /** The writer's own earlier terminal state (cancelled 1 / expired 2) that a pickup overrode: kept so the conflict is still reported. */
  x: z.number().int().min(STATE_CODE.cancelled).max(STATE_CODE.expired).optional(),
});
export const RequestValueSchema = z.tuple([n0, n0]);
export const RecallValueSchema = z.tuple([n0, n0]);
export const StatusValueSchema = z.strictObject({
  on: z.boolean(),
  ts: n0,
  tc: z.number().min(-50).max(100).optional(),
  door: z.enum(['open', 'closed']).optional(),
  fw: z.string().max(64).optional(),
});
export const RetireValueSchema = z.strictObject({
  at: n0,
  sv: z.array(z.tuple([z.number().int().min(0).max(0xffffffff), n0])).max(4096),
});
export const TakerValueSchema = z.strictObject({ on: z.boolean(), at: n0 });
export const MetaValueSchema = z.strictObject({ v: z.string().max(64), at: n0 });
export const ConfigValueSchema = z.strictObject({ h: z.string().max(140).refine(isHlcTimestamp, 'not an HLC timestamp'), v: z.unknown() });
export const DeliveryValueSchema = z.strictObject({ f: FridgeIdSchema, i: itemMap, at: n0 });
/** An epoch allocation: when central allocated it (ms). */
export const EpochValueSchema = z.strictObject({ at: n0 });

export type CounterValue = z.infer<typeof CounterValueSchema>;
export type XferValue = z.infer<typeof XferValueSchema>;
export type SnapshotValue = z.infer<typeof SnapshotValueSchema>;
export type PickupValue = z.infer<typeof PickupValueSchema>;
export type OrderValue = z.infer<typeof OrderValueSchema>;
export type RequestValue = z.infer<typeof RequestValueSchema>;
export type RecallValue = z.infer<typeof RecallValueSchema>;
export type StatusValue = z.infer<typeof StatusValueSchema>;
export type RetireValue = z.infer<typeof RetireValueSchema>;
export type TakerValue = z.infer<typeof TakerValueSchema>;
export type MetaValue = z.infer<typeof MetaValueSchema>;
export type ConfigValue = { h: string; v: unknown };
export type DeliveryValue = z.infer<typeof DeliveryValueSchema>;
export type EpochValue = z.infer<typeof EpochValueSchema>;

const VALUE_SCHEMAS: Record<EntryKind, z.ZodType> = {
  counter: CounterValueSchema,
  xfer: XferValueSchema,
  snapshot: SnapshotValueSchema,
  pickup: PickupValueSchema,
  order: OrderValueSchema,
  request: RequestValueSchema,
  recall: RecallValueSchema,
  status: StatusValueSchema,
  retire: RetireValueSchema,
  taker: TakerValueSchema,
  meta: MetaValueSchema,
  config: ConfigValueSchema,
  delivery: DeliveryValueSchema,
  epoch: EpochValueSchema,
};

/**
 * Parses the value of an entry against its key's schema (for config, also the section's record
 * schema unless the value is `null`, a deletion). Returns an error message or `undefined`.
 */
export function checkValue(key: EntryKey, value: unknown): string | undefined {
  const r = VALUE_SCHEMAS[key.kind].safeParse(value);
  if (!r.success) return `${key.kind}: ${r.error.issues[0]?.message ?? 'invalid'}`;
  if (key.kind === 'config') {
    const v = (value as ConfigValue).v;
    if (v !== null) {
      const rec = CONFIG_SECTIONS[key.section].safeParse(v);
      if (!rec.success) return `config ${key.section}: ${rec.error.issues[0]?.message ?? 'invalid'}`;
    }
  }
  if (key.kind === 'order') {
    const o = value as OrderValue;
    if ((o.l === undefined) !== (o.h === undefined) || (o.l === undefined) !== (o.c === undefined)) return 'order: lines, hold and creation time go together';
  }
  return undefined;
}

/** Compares snapshot/pickup tags `(boot, era, seq)`. */
export function compareTag(a: { b: number; e: number; q: number }, b: { b: number; e: number; q: number }): number {
  return a.b - b.b || a.e - b.e || a.q - b.q;
}

/** Canonical string of an item map, for deterministic tie-breaks. */
export function canonicalItems(i: Record<string, number>): string {
  return JSON.stringify(Object.keys(i).sort().map((k) => [k, i[k]]));
}

/** Total order on snapshots: by tag, then by canonical items (ties between two gateways). */
export function compareSnapshots(a: SnapshotValue, b: SnapshotValue): number {
  const c = compareTag(a, b);
  if (c !== 0) return c;
  const ca = canonicalItems(a.i);
  const cb = canonicalItems(b.i);
  return ca < cb ? -1 : ca > cb ? 1 : a.ts - b.ts;
}

/** Lattice rank of an order state code: reserved 0, cancelled/expired 1, picked_up 2. */
export function stateRank(s: number): number {
  return s === STATE_CODE.reserved ? 0 : s === STATE_CODE.picked_up ? 2 : 1;
}

/**
 * The join of two values of the same key written by one replica. Every value in the document is
 * monotone under its writer, so the join is also the latest value: the materialised view may see
 * the old and the new item of a key at once (delivery of a deletion can lag) and still be right.
 */
export function joinValues(kind: EntryKind, a: unknown, b: unknown): unknown {
  switch (kind) {
    case 'counter':
    case 'xfer': {
      const x = a as [number, number];
      const y = b as [number, number];
      return [Math.max(x[0], y[0]), Math.max(x[1], y[1])];
    }
    case 'request':
    case 'recall': {
      const x = a as [number, number];
      const y = b as [number, number];
      return x[0] >= y[0] ? x : y;
    }
    case 'snapshot':
      return compareSnapshots(a as SnapshotValue, b as SnapshotValue) >= 0 ? a : b;
    case 'pickup':
      return compareTag(a as PickupValue, b as PickupValue) >= 0 ? a : b;
    case 'order': {
      const x = a as OrderValue;
      const y = b as OrderValue;
      const hi = stateRank(x.s) > stateRank(y.s) || (stateRank(x.s) === stateRank(y.s) && x.s >= y.s) ? x : y;
      const lo = hi === x ? y : x;
      return hi.l === undefined && lo.l !== undefined ? { ...hi, l: lo.l, h: lo.h, c: lo.c } : hi;
    }
    case 'status':
      return (a as StatusValue).ts >= (b as StatusValue).ts ? a : b;
    case 'retire':
    case 'taker':
    case 'meta':
    case 'delivery':
    case 'epoch':
      return (a as { at: number }).at >= (b as { at: number }).at ? a : b;
    case 'config':
      return (a as ConfigValue).h >= (b as ConfigValue).h ? a : b;
  }
}

/**
 * True when a writer may replace `prev` by `next` for this key: counters and transfers only grow,
 * snapshot tags only rise, an order state only moves up its lattice, and so on. The validator
 * enforces this on every update a peer sends.
 */
export function isForwardStep(kind: EntryKind, prev: unknown, next: unknown): boolean {
  switch (kind) {
    case 'counter':
    case 'xfer': {
      const x = prev as [number, number];
      const y = next as [number, number];
      return y[0] >= x[0] && y[1] >= x[1];
    }
    case 'request':
    case 'recall':
      return (next as [number, number])[0] >= (prev as [number, number])[0];
    case 'snapshot':
      return compareSnapshots(next as SnapshotValue, prev as SnapshotValue) >= 0;
    case 'pickup':
      return compareTag(next as PickupValue, prev as PickupValue) >= 0;
    case 'order': {
      const x = prev as OrderValue;
      const y = next as OrderValue;
      if (x.f !== y.f) return false;
      if (x.l !== undefined && JSON.stringify(x.l) !== JSON.stringify(y.l)) return false;
      if (x.s === y.s) return true;
      // reserved → any terminal; cancelled/expired → picked_up (a physical fact wins).
      return x.s === STATE_CODE.reserved || y.s === STATE_CODE.picked_up;
    }
    case 'status':
      return (next as StatusValue).ts >= (prev as StatusValue).ts;
    case 'retire':
    case 'epoch':
      // An allocation, like a retirement, is written once and never changes.
      return JSON.stringify(prev) === JSON.stringify(next);
    case 'taker':
    case 'meta':
    case 'delivery':
      return (next as { at: number }).at >= (prev as { at: number }).at;
    case 'config':
      return (next as ConfigValue).h >= (prev as ConfigValue).h;
  }
}
