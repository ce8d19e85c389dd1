/**
 * JSON views of the read model: venue list and detail, the customer catalog, in the shapes of the
 * view schemas in `@fridgesync/shared` (README "Contracts", "Read views and live events"). Pure
 * functions of the (already folded) read model plus link presence; no document is read here.
 */
import {
  fridgeJson,
  reservedOrders,
  venueOrderJson,
  venueSummaryJson,
  type CatalogJson,
  type FridgeId,
  type GatewayJson,
  type VenueDetailJson,
  type VenueListJson,
  type VenueSummaryJson,
} from '@fridgesync/shared';
import type { ReadModel, VenueModel } from './read-model.ts';
import type { GatewayPresence } from './sync/gateway-presence.ts';
import type { DocRegistry } from './doc-registry.ts';
import type { VenueHost } from './venue-host.ts';
import { promotionPrice } from './promotion-pricing.ts';
import { deliveryOf } from './kitchen.ts';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A venue's list entry (what a `venue` event carries too). */
function summary(model: ReadModel, vm: VenueModel): VenueSummaryJson {
  return venueSummaryJson(vm.venueId, vm.record!, model.fridgesOf(vm).map(([, f]) => f.view));
}

/** Summary of every venue. */
export function venueListJson(model: ReadModel): VenueListJson {
  return {
    venues: model.venuesIn().map((vm) => summary(model, vm)),
  };
}

/** Most open orders listed in a venue's detail (the oldest first); the totals count them all. */
const MAX_LISTED_ORDERS = 1000;

/**
 * Full merged state of one venue; `asOfEventId` is the live feed's last event id, taken after the
 * model was flushed (every event it reflects was published by then).
 */
export function venueDetailJson(model: ReadModel, vm: VenueModel, presence: GatewayPresence, registry: DocRegistry, asOfEventId: string, now = Date.now(), maxClockSkewMs = 30_000): VenueDetailJson {
  const host = registry.peek(vm.venueId);
  return {
    ...summary(model, vm),
    loaded: host !== undefined,
    fridges: model.fridgesOf(vm).map(([, f]) => fridgeJson(f.view, f.centralRights)),
    gateways: [...vm.gateways.keys()].flatMap((id) => gatewayJson(model, vm, id, presence, host, now, maxClockSkewMs) ?? []),
    deliveries: [...vm.deliveries.values()].map((d) => deliveryOf(vm, d)).sort((a, b) => (a.announcedAt < b.announcedAt ? 1 : -1)),
    // Open (reserved) orders, folded from the loaded document: an operator view, not a hot path.
    orders:
      host === undefined
        ? []
        : model
            .fridgesOf(vm)
            .flatMap(([id]) => reservedOrders(host.doc, id as FridgeId))
            .slice(0, MAX_LISTED_ORDERS)
            .map((o) => venueOrderJson(vm.venueId, o)),
    asOfEventId,
  };
}

/**
 * One gateway as the venue detail lists it (and the `gateway` event carries it), `undefined` when
 * the venue has no record of it. `host` is the venue's loaded document, if any; `now` the time the
 * lag is measured at.
 */
export function gatewayJson(model: ReadModel, vm: VenueModel, id: string, presence: GatewayPresence, host: VenueHost | undefined, now: number, maxClockSkewMs: number): GatewayJson | undefined {
  const g = vm.gateways.get(id);
  if (g === undefined) return undefined;
  const link = presence.get(vm.venueId, id);
  const pendingDurable = link?.peerId !== undefined && host !== undefined ? (host.pendingByPeer.get(link.peerId) ?? 0) : 0;
  const replicas = vm.replicas.filter((r) => r.startsWith(`gw:${id}:`));
  const replica = link?.replica ?? replicas[replicas.length - 1] ?? null;
  const connected = link?.connected ?? false;
  return {
    gatewayId: id,
    name: g.name ?? null,
    connected,
    syncState: connected ? (pendingDurable === 0 ? 'synced' : 'syncing') : link?.connectedAt !== undefined ? 'disconnected' : 'never-connected',
    replica,
    // The software version the gateway's replica recorded in its `meta` entry.
    version: (replica !== null ? host?.doc.index.meta.get(replica)?.v : undefined) ?? null,
    connectedAt: iso(link?.connectedAt),
    lastMessageAt: iso(link?.lastMessageAt),
    lastDurableAckAt: iso(link?.lastDurableAt),
    // Time since central last heard from the gateway; 0 while updates flow.
    syncLagMs: link?.lastMessageAt === undefined ? null : link.connected && pendingDurable === 0 ? 0 : now - link.lastMessageAt,
    pendingDurable,
    // The gateway's clock minus central's at its last handshake (ms), and whether it is beyond `sync.maxClockSkewMs`.
    clockSkewMs: link?.clockSkewMs ?? null,
    clockSkewAlert: link?.clockSkewMs !== undefined && Math.abs(link.clockSkewMs) > maxClockSkewMs,
    // Fridges assigned to this gateway that the fold gives to another replica than the one
    // connected: a later epoch of the same gateway id took reconcilership (docs/sync-protocol.md, "Epoch allocation").
    reconcilerLost:
      link?.connected === true && link.replica !== undefined
        ? model
            .fridgesOf(vm)
            .filter(([, f]) => f.view.config?.reconciler === id && f.view.reconciler !== link.replica)
            .map(([fridgeId, f]) => ({ fridgeId, reconciler: f.view.reconciler ?? null }))
        : [],
    // Increments central accepted beyond what it expected of this gateway (not its fridge's
    // reconciler, or rights above any stock a snapshot reported), since central started:
    // after a partition an honest gateway can send them too (docs/sync-protocol.md, "Rights
    // creation beyond stock").
    rightsFlagged: [...(link?.rightsFlagged.values() ?? [])].map((r) => ({ fridgeId: r.fridgeId, mealId: r.mealId, code: r.code, replica: r.replica, reason: r.reason, at: iso(r.at) })),
  };
}

/** What a customer can order now in a city (all cities without `city`), promotion prices applied. */
export function catalogJson(model: ReadModel, city: string | undefined, now = Date.now()): CatalogJson {
  return {
    city: city ?? null,
    at: new Date(now).toISOString(),
    venues: model.venuesIn(city).map((vm) => ({
      venueId: vm.venueId,
      name: vm.record!.name,
      city: vm.record!.city,
      fridges: model.fridgesOf(vm).map(([id, f]) => ({
        fridgeId: id,
        name: f.view.config?.name ?? null,
        online: f.view.status?.on ?? false,
        meals: f.view.cells
          .filter((c) => c.S > 0 && vm.meals.has(c.meal))
          .map((c) => {
            const meal = vm.meals.get(c.meal)!;
            const promo = promotionPrice(vm.promotionsByMeal, id, c.meal, now);
            return {
              mealId: c.meal,
              name: meal.name,
              allergens: meal.allergens,
              available: c.S,
              priceCents: promo?.priceCents ?? meal.priceCents,
              listPriceCents: meal.priceCents,
              promotionId: promo?.promotionId ?? null,
            };
          }),
      })),
    })),
  };
}
