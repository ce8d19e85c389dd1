/**
 * The read-side view of a fridge and its cells: one shape for `GET /v1/venues/{venueId}` and the
 * `fridge` event of `GET /v1/events` (README "Read views and live events"), built from the fold by
 * {@link fridgeJson} only.
 */
import { z } from 'zod';
import type { FridgeView } from '../fold.ts';

/** A moment as ISO 8601 in UTC, or `null` when unknown. */
const isoOrNull = z.string().nullable().describe('ISO 8601 time (UTC), null when unknown');

/** One meal in one fridge, as central folds it (docs/design.md "Observed totals", "The bounded counter"). */
export const CellJsonSchema = z.object({
  mealId: z.string(),
  T: z.number().int().describe('Observed total from the latest snapshot'),
  Teff: z.number().int().describe('T minus pickups newer than the snapshot'),
  R: z.number().int().describe('Reserved by open orders'),
  S: z.number().int().describe('Sellable (bounded counter)'),
  drift: z.number().int().describe('Teff − (S + R): still to be corrected by the reconciler'),
  shortage: z.number().int().min(0).describe('max(0, R − Teff): reserved meals physically missing'),
  affectedOrders: z.array(z.string()).describe('Orders the shortage affects (the newest reservations beyond what is there).'),
  rights: z.record(z.string(), z.number().int()).describe('Rights per replica id (replicas holding none are left out).'),
  unassignedRights: z.number().int().describe('Rights not assigned to any live replica.'),
  centralRights: z.number().int().describe('What central itself can reserve now (`POST /v1/orders`).'),
});
export type CellJson = z.infer<typeof CellJsonSchema>;

/** One fridge: presence and telemetry, configuration, cells. */
export const FridgeJsonSchema = z.object({
  fridgeId: z.string(),
  name: z.string().nullable(),
  reconcilerGateway: z.string().nullable().describe('The gateway configured as its reconciler.'),
  reconciler: z.string().nullable().describe('The replica the fold makes its reconciler (`gw:<gatewayId>:<epoch>`).'),
  online: z.boolean(),
  lastSeenAt: isoOrNull,
  temperatureC: z.number().nullable(),
  maxTemperatureC: z.number().nullable().describe('Its configured alarm threshold, °C.'),
  temperatureAlarm: z.boolean().describe('Above its threshold.'),
  door: z.enum(['open', 'closed']).nullable(),
  firmware: z.string().nullable(),
  lastSnapshotAt: isoOrNull,
  openOrders: z.number().int().min(0).describe('Reserved orders on this fridge.'),
  conflicts: z.array(z.string()).describe('Orders on this fridge with a conflict.'),
  par: z.record(z.string(), z.number().int()).describe('Par level per meal.'),
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
