/**
 * The fleet file: which venues, gateways, fridges, meals and secrets a simulation runs, and where
 * each venue's broker and kiosk listen. One JSON document that a demo orchestrator generates once
 * and hands both to the gateways' and central's configuration and to `fridgesync sim --fleet`.
 * The format is documented in `simulators/README.md`; {@link FleetFileSchema} is its definition.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CitySchema, FridgeIdSchema, GatewayIdSchema, MealIdSchema, VenueIdSchema, type FridgeId } from '@fridgesync/shared';

/** Current fleet file format version. */
export const FLEET_FILE_VERSION = 1;

const url = (protocols: readonly string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, `must be a URL with scheme ${protocols.join(' or ')}`);

/** Broker URL schemes mqtt.js speaks. */
export const BrokerUrlSchema = url(['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:']);
/** HTTP base URL (central, kiosk). */
export const HttpUrlSchema = url(['http:', 'https:']);

/** A meal of the fleet's catalog. */
export const FleetMealSchema = z.strictObject({
  mealId: MealIdSchema,
  name: z.string().min(1).max(120).optional(),
  priceCents: z.number().int().min(0).max(1_000_000).optional(),
});
/** A meal of the fleet file. */
export type FleetMeal = z.infer<typeof FleetMealSchema>;

/** A fridge: its id, MQTT secret and par levels. */
export const FleetFridgeSchema = z.strictObject({
  fridgeId: FridgeIdSchema,
  /** The fridge's MQTT password (plain; the gateway stores only a hash of it). */
  secret: z.string().min(1).max(256),
  name: z.string().min(1).max(120).optional(),
  /** Par level (full stock) per meal; meals absent here are not stocked in this fridge. */
  par: z.record(MealIdSchema, z.number().int().min(0).max(10_000)),
});
/** A fridge of the fleet file. */
export type FleetFridge = z.infer<typeof FleetFridgeSchema>;

/** A venue: where it is, its gateway, broker and kiosk, and its fridges. */
export const FleetVenueSchema = z.strictObject({
  venueId: VenueIdSchema,
  name: z.string().min(1).max(120).optional(),
  city: CitySchema,
  timezone: z.string().min(1).max(64).default('UTC'),
  /** The gateway that reconciles this venue's fridges. */
  gatewayId: GatewayIdSchema,
  /** The MQTT broker this venue's fridges connect to (the gateway's embedded broker). */
  brokerUrl: BrokerUrlSchema.optional(),
  /** The gateway kiosk's base URL (`POST {kioskUrl}/v1/orders`); omit when the venue has no kiosk. */
  kioskUrl: HttpUrlSchema.optional(),
  /** Bearer token for the kiosk, if it asks for one. */
  kioskToken: z.string().min(1).max(512).optional(),
  fridges: z.array(FleetFridgeSchema).min(1).max(10_000),
});
/** A venue of the fleet file. */
export type FleetVenue = z.infer<typeof FleetVenueSchema>;

/** The whole fleet file (format version 1); ids are unique and par levels name known meals. */
export const FleetFileSchema = z
  .strictObject({
    version: z.literal(FLEET_FILE_VERSION),
    /** Topic prefix before `fridges/` (empty, or ending in `/`). */
    topicPrefix: z.string().max(128).regex(/^$|\/$/, 'must be empty or end with /').default(''),
    central: z
      .strictObject({
        url: HttpUrlSchema,
        appToken: z.string().min(1).max(512).optional(),
        kitchenToken: z.string().min(1).max(512).optional(),
      })
      .optional(),
    meals: z.array(FleetMealSchema).min(1).max(256),
    venues: z.array(FleetVenueSchema).min(1).max(10_000),
  })
  .superRefine((f, ctx) => {
    const meals = new Set(f.meals.map((m) => m.mealId as string));
    const fridges = new Set<string>();
    const venues = new Set<string>();
    f.venues.forEach((v, vi) => {
      if (venues.has(v.venueId)) ctx.addIssue({ code: 'custom', path: ['venues', vi, 'venueId'], message: `duplicate venue ${v.venueId}` });
      venues.add(v.venueId);
      v.fridges.forEach((fr, fi) => {
        if (fridges.has(fr.fridgeId)) ctx.addIssue({ code: 'custom', path: ['venues', vi, 'fridges', fi, 'fridgeId'], message: `duplicate fridge ${fr.fridgeId}` });
        fridges.add(fr.fridgeId);
        for (const m of Object.keys(fr.par))
          if (!meals.has(m)) ctx.addIssue({ code: 'custom', path: ['venues', vi, 'fridges', fi, 'par', m], message: `unknown meal ${m}` });
      });
    });
  });
/** A validated fleet file. */
export type FleetSpec = z.infer<typeof FleetFileSchema>;

/**
 * The demo's fridge secret: `hex(HMAC-SHA256(key = secretSeed, message = fridgeId))`. Anyone who
 * knows the seed (the orchestrator, a gateway config generator) derives the same secret; a real
 * deployment passes real secrets in the fleet file instead.
 */
export function deriveFridgeSecret(secretSeed: string, fridgeId: string): string {
  return createHmac('sha256', secretSeed).update(fridgeId).digest('hex');
}

/** Cities used by {@link generateFleet}, two venues per city. */
const CITIES = ['Berlin', 'Munich', 'Hamburg', 'Cologne', 'Leipzig', 'Dresden'] as const;
const MEAL_NAMES = [
  'Lentil curry', 'Chicken teriyaki bowl', 'Falafel wrap', 'Beef chili', 'Caesar salad', 'Pad thai',
  'Mushroom risotto', 'Tuna poke', 'Veggie lasagne', 'Goulash', 'Quinoa salad', 'Tofu ramen',
] as const;

/** Options of {@link generateFleet}. */
export interface GenerateFleetOptions {
  /** Number of venues (default 3). Venue ids `v1`…; gateways `gw-v1`…; two venues per city. */
  venues?: number;
  /** Fridges per venue (default 4). Fridge ids `v1-f1`…, unique across the fleet. */
  fridges?: number;
  /** Meals in the catalog (default 12). Meal ids `m01`…; every fridge stocks every meal. */
  meals?: number;
  /** Par level per meal and fridge, in units (default 5). */
  par?: number;
  /** Key of {@link deriveFridgeSecret} (default `fridgesync-demo`). */
  secretSeed?: string;
  /** Broker URLs assigned to venues round-robin (default none: set per venue later). */
  brokerUrls?: readonly string[];
  topicPrefix?: string;
  central?: FleetSpec['central'];
}

/** Builds a fleet file deterministically from its shape; validated before it is returned. */
export function generateFleet(o: GenerateFleetOptions = {}): FleetSpec {
  const nv = o.venues ?? 3;
  const nf = o.fridges ?? 4;
  const nm = o.meals ?? 12;
  const par = o.par ?? 5;
  const seed = o.secretSeed ?? 'fridgesync-demo';
  const meals = Array.from({ length: nm }, (_, i) => ({
    mealId: `m${String(i + 1).padStart(2, '0')}`,
    name: MEAL_NAMES[i % MEAL_NAMES.length]! + (i >= MEAL_NAMES.length ? ` ${Math.floor(i / MEAL_NAMES.length) + 1}` : ''),
    priceCents: 550 + (i % 6) * 50,
  }));
  const venues = Array.from({ length: nv }, (_, v) => {
    const venueId = `v${v + 1}`;
    const brokerUrl = o.brokerUrls && o.brokerUrls.length > 0 ? o.brokerUrls[v % o.brokerUrls.length] : undefined;
    return {
      venueId,
      name: `Venue ${v + 1}`,
      city: CITIES[Math.floor(v / 2) % CITIES.length]!,
      timezone: 'Europe/Berlin',
      gatewayId: `gw-${venueId}`,
      ...(brokerUrl === undefined ? {} : { brokerUrl }),
      fridges: Array.from({ length: nf }, (_, f) => {
        const fridgeId = `${venueId}-f${f + 1}`;
        return { fridgeId, secret: deriveFridgeSecret(seed, fridgeId), par: Object.fromEntries(meals.map((m) => [m.mealId, par])) };
      }),
    };
  });
  return parseFleet({ version: FLEET_FILE_VERSION, topicPrefix: o.topicPrefix ?? '', ...(o.central ? { central: o.central } : {}), meals, venues });
}

/** Thrown when a fleet file is invalid; lists every problem with its JSON path. */
export class FleetFileError extends Error {
  override name = 'FleetFileError';
  constructor(readonly problems: string[], source = 'fleet file') {
    super(`invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Validates a parsed fleet document; throws {@link FleetFileError} with every problem. */
export function parseFleet(doc: unknown, source?: string): FleetSpec {
  const r = FleetFileSchema.safeParse(doc);
  if (!r.success) throw new FleetFileError(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`), source);
  return r.data;
}

/** Reads and validates a fleet file from disk. */
export async function loadFleetFile(path: string): Promise<FleetSpec> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new FleetFileError([(e as Error).message], path);
  }
  return parseFleet(doc, path);
}

/** Every fridge of the fleet with its venue. */
export function fleetFridges(spec: FleetSpec): Array<{ venue: FleetVenue; fridge: FleetFridge }> {
  return spec.venues.flatMap((venue) => venue.fridges.map((fridge) => ({ venue, fridge })));
}

/** Looks a fridge up by id. */
export function findFridge(spec: FleetSpec, id: FridgeId | string): { venue: FleetVenue; fridge: FleetFridge } | undefined {
  return fleetFridges(spec).find((x) => x.fridge.fridgeId === id);
}
