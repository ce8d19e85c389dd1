/**
 * Operator data kept in the venue document: venues, fridges, meals, gateways, promotions.
 * One logical writer (central); each record is versioned by an HLC timestamp and the fold keeps the
 * greatest, so two central processes editing concurrently converge (docs/design.md "Replicas and the venue document").
 */
import { z } from 'zod';
import { CitySchema, FridgeIdSchema, GatewayIdSchema, MealIdSchema, VenueIdSchema } from './ids.ts';
import { MAX_UNITS_PER_MEAL } from './mqtt-payloads.ts';

/** A venue: where fridges stand. */
export const VenueRecordSchema = z.strictObject({
  name: z.string().min(1).max(120),
  city: CitySchema,
  /** IANA time zone, e.g. `Europe/Berlin`; used to show local times. */
  timezone: z.string().min(1).max(64),
});
export type VenueRecord = z.infer<typeof VenueRecordSchema>;

/** A fridge: which gateway reconciles it and its par level (target stock) per meal. */
export const FridgeRecordSchema = z.strictObject({
  venueId: VenueIdSchema,
  name: z.string().min(1).max(120).optional(),
  /** The gateway whose current replica is this fridge's reconciler (docs/design.md "Reconciliation"). */
  reconciler: GatewayIdSchema,
  /** Par level per meal: the stock the kitchen aims to have after a refill. */
  par: z.record(MealIdSchema, z.number().int().min(0).max(MAX_UNITS_PER_MEAL)).default({}),
  /** Temperature alarm threshold in °C. */
  maxTemperatureC: z.number().min(-50).max(100).default(5),
});
export type FridgeRecord = z.infer<typeof FridgeRecordSchema>;

/** A meal of the catalog. */
export const MealRecordSchema = z.strictObject({
  name: z.string().min(1).max(120),
  /** Price in the smallest currency unit (cents). */
  priceCents: z.number().int().min(0).max(1_000_000),
  allergens: z.array(z.string().min(1).max(40)).max(32).default([]),
});
export type MealRecord = z.infer<typeof MealRecordSchema>;

/** A gateway registered for a venue. The token hash lives in central's registry, not here. */
export const GatewayRecordSchema = z.strictObject({
  venueId: VenueIdSchema,
  name: z.string().min(1).max(120).optional(),
});
export type GatewayRecord = z.infer<typeof GatewayRecordSchema>;

/** A promotion: a price for a meal, optionally limited to one fridge, in a time window (ms). */
export const PromotionRecordSchema = z.strictObject({
  mealId: MealIdSchema,
  fridgeId: FridgeIdSchema.optional(),
  priceCents: z.number().int().min(0).max(1_000_000),
  fromMs: z.number().int().min(0),
  untilMs: z.number().int().min(0),
  importId: z.string().max(64).optional(),
});
export type PromotionRecord = z.infer<typeof PromotionRecordSchema>;

/** Schema of each config section's records. */
export const CONFIG_SECTIONS = {
  venue: VenueRecordSchema,
  fridge: FridgeRecordSchema,
  meal: MealRecordSchema,
  gateway: GatewayRecordSchema,
  promotion: PromotionRecordSchema,
} as const;
export type ConfigSection = keyof typeof CONFIG_SECTIONS;
/** The record type of a section. */
export type ConfigRecord<S extends ConfigSection> = z.infer<(typeof CONFIG_SECTIONS)[S]>;
