/**
 * JSON views of the read model: venue list and detail, the customer catalog. Pure functions of the
 * (already folded) read model plus link presence; no document is read here.
 */
import { conflictKinds, orderVariants, reservedOrders, totalsOf, type FridgeId } from '@fridgesync/shared';
import type { FridgeModel, ReadModel, VenueModel } from './read-model.ts';
import type { GatewayPresence } from './sync/gateway-presence.ts';
import type { DocRegistry } from './doc-registry.ts';
import { promotionPrice } from './promotion-pricing.ts';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** One fridge with its cells. */
export function fridgeJson(id: string, f: FridgeModel) {
  const v = f.view;
  return {
    fridgeId: id,
    name: v.config?.name ?? null,
    reconcilerGateway: v.config?.reconciler ?? null,
    reconciler: v.reconciler ?? null,
    online: v.status?.on ?? false,
    lastSeenAt: iso(v.status?.ts),
    temperatureC: v.status?.tc ?? null,
    temperatureAlarm: v.status?.tc !== undefined && v.config !== undefined && v.status.tc > v.config.maxTemperatureC,
    door: v.status?.door ?? null,
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
      centralRights: f.centralRights[c.meal] ?? 0,
    })),
  };
}

function totals(model: ReadModel, vm: VenueModel) {
  const views = model.fridgesOf(vm).map(([, f]) => f.view);
  return { ...totalsOf(views), fridges: views.length, fridgesOnline: views.filter((v) => v.status?.on === true).length };
}

/** Summary of every venue. */
export function venueListJson(model: ReadModel) {
  return {
    venues: model.venuesIn().map((vm) => ({ venueId: vm.venueId, name: vm.record!.name, city: vm.record!.city, timezone: vm.record!.timezone, totals: totals(model, vm) })),
  };
}

/** Most open orders listed in a venue's detail (the oldest first); the totals count them all. */
const MAX_LISTED_ORDERS = 1000;

/** Full merged state of one venue. */
export function venueDetailJson(model: ReadModel, vm: VenueModel, presence: GatewayPresence, registry: DocRegistry, now = Date.now(), maxClockSkewMs = 30_000) {
  const host = registry.peek(vm.venueId);
  return {
    venueId: vm.venueId,
    name: vm.record!.name,
    city: vm.record!.city,
    timezone: vm.record!.timezone,
    loaded: host !== undefined,
    totals: totals(model, vm),
    fridges: model.fridgesOf(vm).map(([id, f]) => fridgeJson(id, f)),
    gateways: [...vm.gateways].map(([id, g]) => {
      const link = presence.get(vm.venueId, id);
      const pendingDurable = link?.peerId !== undefined && host !== undefined ? (host.pendingByPeer.get(link.peerId) ?? 0) : 0;
      const replicas = vm.replicas.filter((r) => r.startsWith(`gw:${id}:`));
      const replica = link?.replica ?? replicas[replicas.length - 1] ?? null;
      return {
        gatewayId: id,
        name: g.name ?? null,
        connected: link?.connected ?? false,
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
    }),
    deliveries: [...vm.deliveries.keys()].sort(),
    // Open (reserved) orders, folded from the loaded document: an operator view, not a hot path.
    orders:
      host === undefined
        ? []
        : model
            .fridgesOf(vm)
            .flatMap(([id]) => reservedOrders(host.doc, id as FridgeId))
            .slice(0, MAX_LISTED_ORDERS)
            .map((o) => ({
              orderId: o.orderId,
              fridgeId: o.fridge,
              items: (o.lines ?? []).map(([mealId, qty]) => ({ mealId, qty })),
              state: o.state,
              conflict: o.conflict,
              // As in order responses (orderResponse): the kinds only when there is a conflict.
              conflicts: o.conflict ? conflictKinds(o) : undefined,
              // Every version of a contents conflict, by taker (each holds its units).
              variants: o.contentConflict ? orderVariants(o) : undefined,
              holdUntil: iso(o.holdUntil),
              createdAt: iso(o.createdAt),
              createdBy: o.createdBy ?? null,
            })),
  };
}

/** What a customer can order now in a city (all cities without `city`), promotion prices applied. */
export function catalogJson(model: ReadModel, city: string | undefined, now = Date.now()) {
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
