// @ts-check
// Turns `/v1/events` messages into store updates. Each event carries central's view of what changed
// (the same shapes as the REST routes, types.d.ts): a `fridge`, `order`, `delivery` or `gateway`
// event updates the page in place, once; a `venue` event (configuration changed) reads that venue
// again; `refetch` reloads all.

/** @typedef {import('./types.js').LiveEvent} LiveEvent */
/** @typedef {import('./types.js').FridgeJson} FridgeJson */
/** @typedef {import('./store.js').Store} Store */

/**
 * What a `fridge` event changed compared with what the page shows: `bowl S 8→5 · door open`.
 * @param {FridgeJson | undefined} prev
 * @param {FridgeJson} next
 */
function fridgeDiff(prev, next) {
  const parts = [];
  for (const c of next.cells) {
    const p = prev?.cells.find((x) => x.mealId === c.mealId);
    /** @type {Array<'Teff' | 'R' | 'S' | 'shortage'>} */
    const keys = ['Teff', 'R', 'S', 'shortage'];
    const ch = keys.filter((k) => (p?.[k] ?? 0) !== c[k]).map((k) => `${k === 'Teff' ? 'T' : k} ${p?.[k] ?? 0}→${c[k]}`);
    // Rights moving between replicas (grants, recalls) change no total but are worth a line.
    const moved = [...new Set([...Object.keys(c.rights), ...Object.keys(p?.rights ?? {})])].filter((r) => (c.rights[r] ?? 0) !== (p?.rights[r] ?? 0));
    if (moved.length) ch.push(`rights ${moved.map((r) => `${r} ${p?.rights[r] ?? 0}→${c.rights[r] ?? 0}`).join(', ')}`);
    if (ch.length) parts.push(`${c.mealId} ${ch.join(', ')}`);
  }
  if (prev !== undefined) {
    if (next.online !== prev.online) parts.push(next.online ? 'online' : 'offline');
    if (next.door !== null && next.door !== prev.door) parts.push(`door ${next.door}`);
    if (next.temperatureC !== null && next.temperatureC !== prev.temperatureC) parts.push(`${next.temperatureC.toFixed(1)} °C`);
  }
  return `${next.fridgeId}: ${parts.length ? parts.join(' · ') : 'no visible change'}`;
}

/**
 * One line describing an event for the venue's "recent events".
 * @param {Store} store
 * @param {Exclude<LiveEvent, { type: 'refetch' }>} e
 */
function summarise(store, e) {
  switch (e.type) {
    case 'fridge':
      return fridgeDiff(store.state.venues.get(e.venueId)?.detail?.fridges.find((f) => f.fridgeId === e.fridge.fridgeId), e.fridge);
    case 'order':
      return `order ${e.order.orderId} · fridge ${e.order.fridgeId} · ${e.order.state}`;
    case 'delivery':
      return `delivery ${e.delivery.deliveryId} · fridge ${e.delivery.fridgeId} · ${e.delivery.status}`;
    case 'gateway':
      return `gateway ${e.gateway.gatewayId} · ${e.gateway.syncState}${e.gateway.syncState === 'syncing' ? ` (${e.gateway.pendingDurable} pending)` : ''}`;
    case 'venue':
      return 'venue configuration changed';
  }
}

/**
 * Applies one parsed SSE message (`{id, type, data}`) to the store.
 * @param {Store} store
 * @param {{ id: string | undefined, type: string, data: string }} ev
 */
export function handleFeedEvent(store, ev) {
  /** @type {LiveEvent} */
  const e = JSON.parse(ev.data);
  store.state.lastDataAt = Date.now();
  // `refetch`: the resume window was missed, or central restarted.
  if (e.type === 'refetch') return store.scheduleReload();
  store.recordEvent(e.venueId, { id: ev.id, type: e.type, at: Date.now(), summary: summarise(store, e) });
  store.apply(ev.id, e);
}
