// Turns `/v1/events` messages into store updates: a `fridge` event carries the fridge's new cells
// and status and is shown at once; anything else triggers a (coalesced) refetch.

import { normaliseVenue } from './model.js';

/** Least time between two feed-triggered refetches of one venue, ms. */
const VENUE_REFRESH_THROTTLE_MS = 1000;

/** What a `fridge` event changed compared with what the page shows: `bowl S 8→5 · door open`. */
function fridgeDiff(store, d) {
  const f = store.state.venues.get(d.venueId)?.fridges?.find((x) => x.fridgeId === d.fridgeId);
  if (!f || !Array.isArray(d.cells)) return undefined;
  const next = normaliseVenue({ venueId: d.venueId, fridges: [{ fridgeId: d.fridgeId, cells: d.cells, status: d.status ?? undefined }] }).fridges[0];
  const parts = [];
  for (const c of next.cells) {
    const p = f.cells.find((x) => x.mealId === c.mealId);
    const ch = ['Teff', 'R', 'S', 'shortage'].filter((k) => (p?.[k] ?? 0) !== c[k]).map((k) => `${k === 'Teff' ? 'T' : k} ${p?.[k] ?? 0}→${c[k]}`);
    // Rights moving between replicas (grants, recalls) change no total but are worth a line.
    const moved = [...new Set([...Object.keys(c.rights), ...Object.keys(p?.rights ?? {})])].filter((r) => (c.rights[r] ?? 0) !== (p?.rights[r] ?? 0));
    if (moved.length) ch.push(`rights ${moved.map((r) => `${r} ${p?.rights[r] ?? 0}→${c.rights[r] ?? 0}`).join(', ')}`);
    if (ch.length) parts.push(`${c.mealId} ${ch.join(', ')}`);
  }
  if (d.status) {
    if (next.online !== f.online) parts.push(next.online ? 'online' : 'offline');
    if (next.door !== undefined && next.door !== f.door) parts.push(`door ${next.door}`);
    if (next.temperatureC !== undefined && next.temperatureC !== f.temperatureC) parts.push(`${next.temperatureC.toFixed(1)} °C`);
  }
  return `${d.fridgeId}: ${parts.length ? parts.join(' · ') : 'no visible change'}`;
}

/** One line describing an event for the venue's "recent events". */
function summarise(store, type, d) {
  if (!d || typeof d !== 'object') return String(d ?? '');
  if (type === 'fridge') {
    const diff = fridgeDiff(store, d);
    if (diff) return diff;
  }
  if (type === 'venue') return 'venue configuration changed';
  const parts = [];
  for (const key of ['fridgeId', 'mealId', 'orderId', 'gatewayId', 'state', 'deliveryId']) if (d[key] !== undefined && typeof d[key] !== 'object') parts.push(`${key.replace(/Id$/, '')} ${d[key]}`);
  return parts.join(' · ');
}

/** Applies one parsed SSE message (`{id, type, data}`) to the store. */
export function handleFeedEvent(store, ev) {
  let data;
  try {
    data = ev.data ? JSON.parse(ev.data) : undefined;
  } catch {
    data = ev.data;
  }
  const venueIds = new Set();
  if (data && typeof data === 'object') {
    if (typeof data.venueId === 'string') venueIds.add(data.venueId);
    if (Array.isArray(data.venueIds)) for (const v of data.venueIds) venueIds.add(String(v));
  }
  const at = Date.now();
  store.state.lastDataAt = at;
  if (venueIds.size === 0) {
    // `refetch` (resume window missed, or central restarted) and anything unknown: reload all.
    store.scheduleReload();
    return;
  }
  for (const id of venueIds) {
    store.recordEvent(id, { id: ev.id, type: ev.type, at, summary: summarise(store, ev.type, data) });
    if (!store.state.venues.has(id)) {
      store.scheduleReload();
      continue;
    }
    if (typeof data.fridgeId === 'string' && Array.isArray(data.cells) && store.applyFridgePatch(id, data)) {
      // Orders, gateway lag and deliveries change less often: refetch at most once a second.
      store.refreshVenueSoon(id, VENUE_REFRESH_THROTTLE_MS);
    } else {
      store.refreshVenueSoon(id, 0);
    }
  }
}
