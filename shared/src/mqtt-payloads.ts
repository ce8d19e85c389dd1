/**
 * zod schemas for the MQTT contract (README "Contracts"): what fridges publish and what gateways send back.
 * Sizes are bounded so a bad or hostile fridge cannot make the gateway allocate without limit.
 */
import { z } from 'zod';
import { FridgeIdSchema, OrderIdSchema, PLAIN_ID_PATTERN, type FridgeId, type MealId } from './ids.ts';

/** At most this many meals in one snapshot or pickup. A fridge holds a few dozen; 256 is generous. */
export const MAX_MEALS_PER_MESSAGE = 256;
/** At most this many units of one meal in one fridge. Physical fridges hold far fewer. */
export const MAX_UNITS_PER_MEAL = 10_000;
/** Sequence and boot counters are non-negative safe integers. */
const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** ISO-8601 timestamp with an offset, at most 40 characters. */
const isoTime = z.string().max(40).pipe(z.iso.datetime({ offset: true }));

/**
 * Meal id → units (a message's or an entry's `items`), at most {@link MAX_MEALS_PER_MESSAGE}
 * meals, units in [`min`, {@link MAX_UNITS_PER_MEAL}]. Accepts exactly what
 * `z.record(MealIdSchema, z.number().int().min(min).max(MAX_UNITS_PER_MEAL))` with the size bound
 * accepts (a property test holds the two together), checked in one pass over the object: this
 * schema runs on every message a fridge sends, and `z.record` runs two schemas per meal. Each
 * problem is reported at its meal's path. One difference: a meal named `__proto__` is refused
 * (`z.record` builds a plain object, where that key sets the prototype and the meal vanishes).
 */
export const mealUnitsRecord = (min: number) =>
  z.custom<Record<MealId, number>>().check((ctx) => {
    checkMealUnits(ctx.value, min, (message, meal) => ctx.issues.push({ code: 'custom', message, input: ctx.value, path: meal === undefined ? [] : [meal] }));
  });

/**
 * The check of {@link mealUnitsRecord}: true when `v` passes; otherwise false, after reporting
 * each problem (at its meal when it has one) if `report` is given.
 */
function checkMealUnits(v: unknown, min: number, report: ((message: string, meal?: string) => void) | undefined): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    report?.('must be an object of meal id → units');
    return false;
  }
  const keys = Object.keys(v);
  if (keys.length > MAX_MEALS_PER_MESSAGE) {
    report?.(`at most ${MAX_MEALS_PER_MESSAGE} meals`);
    return false;
  }
  let ok = true;
  for (const k of keys) {
    const units = (v as Record<string, unknown>)[k];
    let problem: string | undefined;
    if (k === '__proto__') problem = 'meal id "__proto__" is reserved';
    else if (!PLAIN_ID_PATTERN.test(k)) problem = `meal id ${JSON.stringify(k.slice(0, 80))}: must be 1-64 characters of A-Z a-z 0-9 . _ -`;
    else if (typeof units !== 'number' || !Number.isInteger(units) || units < min || units > MAX_UNITS_PER_MEAL) problem = `must be an integer from ${min} to ${MAX_UNITS_PER_MEAL}`;
    if (problem === undefined) continue;
    if (report === undefined) return false;
    report(problem, k);
    ok = false;
  }
  return ok;
}

/** `fridges/{id}/inventory`: full totals; a meal absent from `items` counts 0. */
export const InventoryPayloadSchema = z.strictObject({
  boot: counter,
  seq: counter,
  ts: isoTime,
  items: mealUnitsRecord(0),
});
export type InventoryPayload = z.infer<typeof InventoryPayloadSchema>;

/**
 * Timestamps {@link plainInventory} accepts: days 01–28 (valid in every month), at most nanoseconds,
 * `Z` or a `±hh:mm` offset. Every one of them is an ISO-8601 timestamp `isoTime` accepts (a
 * property test holds the two together); anything else is left to the schema.
 */
const PLAIN_ISO_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

function isCounter(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * `InventoryPayloadSchema.safeParse` for what fridges normally send, without zod's machinery (it
 * runs for every snapshot): `v` itself when it is a plain object with exactly `boot`, `seq`, `ts`
 * and `items`, each plainly valid; `undefined` otherwise, and then the schema decides (and says
 * why). Accepts nothing the schema refuses (a property test holds the two together).
 */
export function plainInventory(v: unknown): InventoryPayload | undefined {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length !== 4 || !isCounter(o.boot) || !isCounter(o.seq)) return undefined;
  const ts = o.ts;
  if (typeof ts !== 'string' || !PLAIN_ISO_TIME.test(ts) || !checkMealUnits(o.items, 0, undefined)) return undefined;
  return o as InventoryPayload;
}

/** `fridges/{id}/pickup`: a customer opened the fridge and took an order. */
export const PickupPayloadSchema = z.strictObject({
  boot: counter,
  seq: counter,
  ts: isoTime,
  orderId: OrderIdSchema,
  items: mealUnitsRecord(1).refine((r) => Object.keys(r).length >= 1, 'at least one meal'),
});
export type PickupPayload = z.infer<typeof PickupPayloadSchema>;

/** `fridges/{id}/status` (retained; also the fridge's will with `online:false`). */
export const StatusPayloadSchema = z.strictObject({
  online: z.boolean(),
  ts: isoTime,
  temperatureC: z.number().min(-50).max(100).optional(),
  door: z.enum(['open', 'closed']).optional(),
  firmware: z.string().max(64).optional(),
});
export type StatusPayload = z.infer<typeof StatusPayloadSchema>;

/** `fridges/{id}/telemetry` (QoS 0). */
export const TelemetryPayloadSchema = z.strictObject({
  ts: isoTime,
  temperatureC: z.number().min(-50).max(100),
  door: z.enum(['open', 'closed']),
});
export type TelemetryPayload = z.infer<typeof TelemetryPayloadSchema>;

/** `fridges/{id}/commands`: gateway → fridge. */
export const CommandPayloadSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('unlock'), orderId: OrderIdSchema }),
  z.strictObject({ type: z.literal('resend-inventory') }),
]);
export type CommandPayload = z.infer<typeof CommandPayloadSchema>;

/** The message kinds of the topic contract. */
export type FridgeTopicKind = 'inventory' | 'pickup' | 'status' | 'telemetry' | 'commands';
const KINDS: ReadonlySet<string> = new Set(['inventory', 'pickup', 'status', 'telemetry', 'commands']);

/** A parsed fridge topic. */
export interface FridgeTopic {
  fridgeId: FridgeId;
  kind: FridgeTopicKind;
}

/**
 * Builds `{prefix}fridges/{fridgeId}/{kind}`. `prefix` is empty or ends with `/`.
 */
export function fridgeTopic(prefix: string, fridgeId: FridgeId, kind: FridgeTopicKind): string {
  return `${prefix}fridges/${fridgeId}/${kind}`;
}

/**
 * Parses a topic of the contract under `prefix`; `undefined` for anything else (other prefixes,
 * wildcards, extra levels, ids outside the id alphabet).
 */
export function parseFridgeTopic(prefix: string, topic: string): FridgeTopic | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length !== 3 || parts[0] !== 'fridges') return undefined;
  const id = FridgeIdSchema.safeParse(parts[1]);
  const kind = parts[2];
  if (!id.success || kind === undefined || !KINDS.has(kind)) return undefined;
  return { fridgeId: id.data, kind: kind as FridgeTopicKind };
}

/** Schema of the payload for each inbound topic kind. */
export const INBOUND_SCHEMAS = {
  inventory: InventoryPayloadSchema,
  pickup: PickupPayloadSchema,
  status: StatusPayloadSchema,
  telemetry: TelemetryPayloadSchema,
} as const;
