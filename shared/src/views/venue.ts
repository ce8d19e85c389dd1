/**
 * The read-side views of a venue: its totals, the list entry of `GET /v1/venues`, its gateways and
 * kitchen deliveries, and the full detail of `GET /v1/venues/{venueId}` (README "Contracts",
 * "Read views and live events").
 */
import { z } from 'zod';
import { totalsOf, type FridgeView } from '../fold.ts';
import type { VenueRecord } from '../config-records.ts';
import type { DeliveryValue } from '../entries.ts';
import { FridgeJsonSchema } from './fridge.ts';
import { VenueOrderJsonSchema } from './order.ts';

/** Sums over the venue's configured fridges. */
export const VenueTotalsJsonSchema = z.object({
  T: z.number().int(),
  Teff: z.number().int(),
  R: z.number().int(),
  S: z.number().int(),
  shortage: z.number().int().min(0),
  fridges: z.number().int().min(0),
  fridgesOnline: z.number().int().min(0),
});
export type VenueTotalsJson = z.infer<typeof VenueTotalsJsonSchema>;

/** The totals of a venue's configured fridges. */
export function venueTotalsJson(views: readonly FridgeView[]): VenueTotalsJson {
  return { ...totalsOf(views as FridgeView[]), fridges: views.length, fridgesOnline: views.filter((v) => v.status?.on === true).length };
}

/** A venue's own record: what `GET /v1/venues` lists and the `venue` event carries. */
export const VenueSummaryJsonSchema = z.object({
  venueId: z.string(),
  name: z.string(),
  city: z.string(),
  timezone: z.string().describe("IANA time zone; the dashboard shows the venue's times in it."),
  totals: VenueTotalsJsonSchema,
});
export type VenueSummaryJson = z.infer<typeof VenueSummaryJsonSchema>;

/** The list entry of a venue from its record and the views of its configured fridges. */
export function venueSummaryJson(venueId: string, record: VenueRecord, fridges: readonly FridgeView[]): VenueSummaryJson {
  return { venueId, name: record.name, city: record.city, timezone: record.timezone, totals: venueTotalsJson(fridges) };
}

/** `GET /v1/venues`. */
export const VenueListJsonSchema = z.object({ venues: z.array(VenueSummaryJsonSchema) });
export type VenueListJson = z.infer<typeof VenueListJsonSchema>;

/** A gateway's link to central as central sees it. */
export const GatewayJsonSchema = z.object({
  gatewayId: z.string(),
  name: z.string().nullable(),
  connected: z.boolean(),
  syncState: z
    .enum(['synced', 'syncing', 'disconnected', 'never-connected'])
    .describe('synced: connected, every update durable; syncing: connected, updates not yet durable; disconnected: was connected since central started; never-connected.'),
  replica: z.string().nullable(),
  version: z.string().nullable().describe("The software version the gateway's replica recorded."),
  connectedAt: z.string().nullable(),
  lastMessageAt: z.string().nullable(),
  lastDurableAckAt: z.string().nullable(),
  syncLagMs: z.number().nullable().describe('Time since central last heard from the gateway, ms; 0 while updates flow.'),
  pendingDurable: z.number().int().min(0).describe('Updates received and not yet durable at central.'),
  clockSkewMs: z.number().nullable().describe("The gateway's clock minus central's at its last handshake, ms."),
  clockSkewAlert: z.boolean().describe('Beyond `sync.maxClockSkewMs`.'),
  reconcilerLost: z.array(z.object({ fridgeId: z.string(), reconciler: z.string().nullable() })).describe('Fridges assigned to this gateway that the fold gives to another replica than the one connected.'),
  rightsFlagged: z.array(z.object({ fridgeId: z.string(), mealId: z.string(), code: z.string(), replica: z.string(), reason: z.string(), at: z.string().nullable() })).describe('Increments central accepted beyond what it expected of this gateway, since central started.'),
});
export type GatewayJson = z.infer<typeof GatewayJsonSchema>;

/** A kitchen delivery: `incoming` until a newer snapshot of the fridge, then `observed`. */
export const DeliveryJsonSchema = z.object({
  deliveryId: z.string(),
  venueId: z.string(),
  fridgeId: z.string(),
  announcedAt: z.string(),
  status: z.enum(['incoming', 'observed']),
  items: z.array(
    z.object({
      mealId: z.string(),
      announced: z.number().int(),
      observedTotal: z.number().int().nullable().describe("The fridge's total once observed."),
      before: z.number().int().nullable().describe("The fridge's total when announced (null after a restart of central in between)."),
      discrepancy: z.number().int().nullable().describe('Observed − before − announced, once observed.'),
    }),
  ),
});
export type DeliveryJson = z.infer<typeof DeliveryJsonSchema>;

/**
 * The view of a delivery (`value` its entry, `before` the fridge's totals when it was announced)
 * against the current view of its fridge: `observed` once the fridge's snapshot is newer than the
 * announcement, with the discrepancy between what was announced and what the fridge reports.
 */
export function deliveryJson(venueId: string, deliveryId: string, value: DeliveryValue, before: Readonly<Record<string, number>> | undefined, fridge: FridgeView | undefined): DeliveryJson {
  const snapTs = fridge?.snapshot?.ts;
  const observed = snapTs !== undefined && snapTs > value.at;
  return {
    deliveryId,
    venueId,
    fridgeId: value.f,
    announcedAt: new Date(value.at).toISOString(),
    status: observed ? 'observed' : 'incoming',
    items: Object.entries(value.i)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([mealId, announced]) => {
        if (!observed) return { mealId, announced, observedTotal: null, before: before?.[mealId] ?? null, discrepancy: null };
        const T = fridge?.cells.find((c) => c.meal === mealId)?.T ?? 0;
        const was = before?.[mealId];
        // With a baseline: what arrived minus what was announced. Without one (central restarted
        // in between): the observed total minus the announcement, a lower bound of the shortfall.
        return { mealId, announced, observedTotal: T, before: was ?? null, discrepancy: T - (was ?? 0) - announced };
      }),
  };
}

/** `GET /v1/kitchen/deliveries`. */
export const DeliveryListJsonSchema = z.object({ deliveries: z.array(DeliveryJsonSchema) });

/** `GET /v1/venues/{venueId}`: the merged state of one venue. */
export const VenueDetailJsonSchema = VenueSummaryJsonSchema.extend({
  loaded: z.boolean().describe('Whether its document is loaded at central now.'),
  fridges: z.array(FridgeJsonSchema),
  gateways: z.array(GatewayJsonSchema),
  deliveries: z.array(DeliveryJsonSchema).describe('Announced deliveries, newest first.'),
  orders: z.array(VenueOrderJsonSchema).describe('Open (reserved) orders, at most 1000.'),
  asOfEventId: z.string().describe('The id of the last live event published before this view was read: it reflects every event up to this id; a client applies on top only the events after it.'),
});
export type VenueDetailJson = z.infer<typeof VenueDetailJsonSchema>;
