// @ts-check
// What the page derives from central's views (types.d.ts, generated from the shared schemas):
// problem alerts and filters. Every figure shown is one central sent; nothing here computes one.

/** @typedef {import('./types.js').VenueSummaryJson} VenueSummaryJson */
/** @typedef {import('./types.js').VenueDetailJson} VenueDetailJson */
/** @typedef {import('./types.js').FridgeJson} FridgeJson */
/** @typedef {import('./types.js').VenueOrderJson} VenueOrderJson */
/** @typedef {import('./types.js').DeliveryJson} DeliveryJson */

/**
 * A venue as the page holds it: its list entry, and its detail once fetched. Replaced, never
 * changed in place, whenever anything in it changes, so views skip unchanged venues by identity.
 * @typedef {{ summary: VenueSummaryJson, detail: VenueDetailJson | undefined }} Venue
 */

/** @typedef {{ key: string, level: 'warn' | 'bad', text: string }} Problem */

/** How long an observed delivery stays on the page (with its discrepancy), ms: one day. */
export const RECENT_DELIVERY_MS = 24 * 3600 * 1000;

/**
 * Deliveries worth showing: incoming, or observed within {@link RECENT_DELIVERY_MS}.
 * @param {DeliveryJson[]} deliveries
 * @param {number} [now]
 */
export function shownDeliveries(deliveries, now = Date.now()) {
  return deliveries.filter((d) => d.status === 'incoming' || now - Date.parse(d.announcedAt) < RECENT_DELIVERY_MS);
}

/**
 * The lines of an observed delivery whose arrival differs from its announcement.
 * @param {DeliveryJson} d
 */
export function discrepanciesOf(d) {
  return d.items.filter((l) => l.discrepancy !== null && l.discrepancy !== 0);
}

/**
 * Problems worth an operator's attention in one venue, as stable keyed alerts.
 * @param {VenueSummaryJson} venue
 * @param {VenueDetailJson} detail
 * @returns {Problem[]}
 */
export function problemsOf(venue, detail) {
  /** @type {Problem[]} */
  const out = [];
  for (const g of detail.gateways) {
    if (!g.connected) out.push({ key: `gw-off:${venue.venueId}:${g.gatewayId}`, level: 'warn', text: `Gateway ${g.gatewayId} at ${venue.name} is not syncing` });
    if (g.clockSkewAlert) out.push({ key: `gw-clock:${venue.venueId}:${g.gatewayId}`, level: 'warn', text: `Gateway ${g.gatewayId} at ${venue.name}: clock off by ${Math.round((g.clockSkewMs ?? 0) / 1000)} s against central` });
    for (const l of g.reconcilerLost) {
      out.push({
        key: `rec-lost:${venue.venueId}:${g.gatewayId}:${l.fridgeId}`,
        level: 'bad',
        text: `Gateway ${g.gatewayId} at ${venue.name} is connected as ${g.replica ?? '?'} but fridge ${l.fridgeId} is reconciled by ${l.reconciler ?? 'no replica'} (another process with its id and token?)`,
      });
    }
    for (const x of g.rightsFlagged) {
      out.push({
        key: `rights-flag:${venue.venueId}:${g.gatewayId}:${x.fridgeId}:${x.mealId}`,
        level: 'warn',
        text: `${x.replica} created rights for ${x.mealId} in fridge ${x.fridgeId} at ${venue.name} ${x.code === 'OVER_STOCK' ? 'above any stock a snapshot reported' : 'without being its reconciler'} (after a partition this can be honest; otherwise a tampered gateway)`,
      });
    }
  }
  for (const o of detail.orders) {
    if (o.conflicts?.includes('contents')) out.push({ key: `dup:${o.orderId}`, level: 'warn', text: `Order ${o.orderId} at ${venue.name} was taken twice with different contents: ${variantsText(o)}` });
  }
  for (const f of detail.fridges) {
    if (!f.online) out.push({ key: `off:${f.fridgeId}`, level: 'warn', text: `Fridge ${f.fridgeId} at ${venue.name} is offline` });
    if (f.temperatureAlarm) out.push({ key: `temp:${f.fridgeId}`, level: 'bad', text: `Temperature alarm: fridge ${f.fridgeId} at ${venue.name} is at ${f.temperatureC?.toFixed(1) ?? '?'} °C${f.maxTemperatureC === null ? '' : ` (max ${f.maxTemperatureC} °C)`}` });
    for (const c of f.cells) {
      if (c.shortage > 0) out.push({ key: `short:${f.fridgeId}:${c.mealId}`, level: 'bad', text: `Shortage: ${c.shortage} × ${c.mealId} in fridge ${f.fridgeId} at ${venue.name} (${c.affectedOrders.length} order${c.affectedOrders.length === 1 ? '' : 's'} affected)` });
    }
  }
  for (const d of shownDeliveries(detail.deliveries)) {
    if (discrepanciesOf(d).length > 0) out.push({ key: `disc:${d.deliveryId}`, level: 'warn', text: `Delivery ${d.deliveryId} to ${d.fridgeId} has a discrepancy` });
  }
  return out;
}

/**
 * True when a fridge needs attention (the "only problems" filter).
 * @param {FridgeJson} f
 */
export function fridgeHasProblem(f) {
  return !f.online || f.temperatureAlarm || f.cells.some((c) => c.shortage > 0 || c.drift !== 0);
}

/**
 * "2 × m1 by central:c1; 1 × m1 by gw:g1:1": the versions of an order with a contents conflict.
 * @param {VenueOrderJson} o
 */
export function variantsText(o) {
  return (o.variants ?? []).map((v) => `${v.items.map((l) => `${l.qty} × ${l.mealId}`).join(', ')} by ${v.takers.join(', ')}`).join('; ');
}
