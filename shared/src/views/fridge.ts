/**
 * The read-side view of a fridge and its cells: one shape for `GET /v1/venues/{venueId}` and the
 * `fridge` event of `GET /v1/events` (README "Read views and live events"), built from the fold by
 * {@link fridgeJson} only.
 */
import { z } from 'zod';
import type { FridgeView } from '../fold.ts';

/** Ends in `Z`, or `null` when the moment is unknown. */
const isoOrNull = z.string().nullable();

/** One meal in one fridge, as central folds it (docs/design.md "Folds"). */
export const CellJsonSchema = z.object({
  mealId: z.string(),
  /** Observed total from the latest snapshot. */
  T: z.number().int().describe('Observed total from the latest snapshot'),
  /** `T` minus pickups newer than the snapshot. */
  Teff: z.number().int().describe('T minus pickups newer than the snapshot'),
  /** Reserved by open orders. */
  R: z.number().int().describe('Reserved by open orders'),
  /** Sellable units (bounded counter). */
  S: z.number().int().describe('Sellable (bounded counter)'),
  /** `Teff − (S + R)`: what the reconciler still has to correct. */
  drift: z.number().int().describe('Teff − (S + R): still to be corrected by the reconciler'),
  /** `max(0, R − Teff)`: reserved meals that are physically missing. */
  shortage: z.number().int().min(0).describe('max(0, R − Teff): reserved meals physically missing'),
  /** Orders the shortage affects (the newest reservations beyond what is there). */
  affectedOrders: z.array(z.string()),
  /** Rights per replica id (replicas holding none are left out). */
  rights: z.record(z.string(), z.number().int()),
  /** Rights not assigned to any live replica. */
  unassignedRights: z.number().int(),
  /** What central itself can reserve now (`POST /v1/orders`). */
  centralRights: z.number().int(),
});
export type CellJson = z.infer<typeof CellJsonSchema>;

/** One fridge: presence and telemetry, configuration, cells. */
export const FridgeJsonSchema = z.object({
  fridgeId: z.string(),
  name: z.string().nullable(),
  /** The gateway configured as its reconciler. */
  reconcilerGateway: z.string().nullable(),
  /** The replica the fold makes its reconciler (`gw:<gatewayId>:<epoch>`). */
  reconciler: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: isoOrNull,
  temperatureC: z.number().nullable(),
  /** Its configured alarm threshold, °C. */
  maxTemperatureC: z.number().nullable(),
  /** Above its threshold. */
  temperatureAlarm: z.boolean(),
  door: z.enum(['open', 'closed']).nullable(),
  firmware: z.string().nullable(),
  lastSnapshotAt: isoOrNull,
  /** Reserved orders on this fridge. */
  openOrders: z.number().int().min(0),
  /** Orders on this fridge with a conflict. */
  conflicts: z.array(z.string()),
  /** Par level per meal. */
  par: z.record(z.string(), z.number().int()),
  cells: z.array(CellJsonSchema),
});
export type FridgeJson = z.infer<typeof FridgeJsonSchema>;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The view of a folded fridge; `centralRights` is central's rights per meal. */
export function fridgeJson(v: FridgeView, centralRights: Readonly<Record<string, number>>): FridgeJson {
  return {
    fridgeId: v.fridgeId,
    name: v.config?.name ?? null,
    reconcilerGateway: v.config?.reconciler ?? null,
    reconciler: v.reconciler ?? null,
    online: v.status?.on ?? false,
    lastSeenAt: iso(v.status?.ts),
    temperatureC: v.status?.tc ?? null,
    maxTemperatureC: v.config?.maxTemperatureC ?? null,
    temperatureAlarm: v.status?.tc !== undefined && v.config !== undefined && v.status.tc > v.config.maxTemperatureC,
    door: v.status?.door ?? null,
    firmware: v.status?.fw ?? null,
    lastSnapshotAt: iso(v.snapshot?.ts),
    openOrders: v.openOrders,
    conflicts: v.conflicts,
    par: v.config?.par ?? {},
    cells: v.cells.map((c) => ({
      mealId: c.meal,
      T: c.T,
      Teff: c.Teff,
      R: c.R,
      S: c.S,
      drift: c.drift,
      shortage: c.shortage,
      affectedOrders: c.affectedOrders,
      rights: c.rights,
      unassignedRights: c.unassigned,
      centralRights: centralRights[c.meal] ?? 0,
    })),
  };
}
