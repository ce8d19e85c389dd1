// The page's copy of central's merged state: loading (`GET /v1/venues`, `GET /v1/venues/{id}`),
// coalesced refetches, patches from the live feed, and the client-side stock history.

import { getJson, ApiError } from './api.js';
import { normaliseVenueList, normaliseVenue, normaliseDeliveries } from './model.js';
import { History } from './chart.js';

/** Venue details fetched at once on a full load (bounds the burst on central). */
const FETCH_CONCURRENCY = 6;
/** Recent feed events kept per venue for the venue view. */
export const MAX_EVENTS_PER_VENUE = 50;

/**
 * Creates the store. `onChange()` is called after any data changed (the page schedules a render);
 * `onError(err)` receives failures of background loads.
 */
export function createStore({ onChange, onError }) {
  const state = {
    /** venueId → normalised venue (a list summary until its detail arrives). */
    venues: new Map(),
    /** Venue ids in central's list order. */
    order: [],
    history: new History(),
    /** venueId → recent feed events, newest first. */
    events: new Map(),
    eventSeq: 0,
    /** When data last arrived from central (ms), for the stale banner. */
    lastDataAt: undefined,
    version: undefined,
  };
  const inflight = new Map();
  /** venueId → the last answer as JSON, to recognise unchanged refetches. */
  const lastRaw = new Map();
  const venueTimers = new Map();
  let reloadTimer;

  function applyVenue(v) {
    const prev = state.venues.get(v.venueId);
    // The detail may omit list fields (city, name); keep what the list said.
    if (prev) {
      if (v.city === '—') v.city = prev.city;
      if (v.name === v.venueId && prev.name) v.name = prev.name;
      v.timezone ??= prev.timezone;
    }
    state.venues.set(v.venueId, v);
    if (!state.order.includes(v.venueId)) state.order.push(v.venueId);
    if (v.version) state.version = v.version;
    const t = Date.now();
    state.lastDataAt = t;
    for (const f of v.fridges) for (const c of f.cells) for (const m of ['S', 'Teff', 'R']) state.history.record(`${v.venueId}/${f.fridgeId}/${c.mealId}/${m}`, t, c[m]);
    onChange();
  }

  /** Fetches one venue. One fetch per venue at a time; asks during a fetch queue exactly one more. */
  function loadVenue(venueId) {
    const cur = inflight.get(venueId);
    if (cur) {
      cur.again = true;
      return cur.promise;
    }
    const entry = { again: false, promise: undefined };
    inflight.set(venueId, entry);
    entry.promise = (async () => {
      try {
        do {
          entry.again = false;
          const body = await getJson(`/v1/venues/${encodeURIComponent(venueId)}`);
          const v = normaliseVenue(body);
          let deliveries;
          // Central's venue detail may list only delivery ids; the kitchen route has the details.
          if (v.deliveries.some((d) => d.idOnly)) {
            try {
              deliveries = await getJson(`/v1/kitchen/deliveries?venueId=${encodeURIComponent(venueId)}`);
              v.deliveries = normaliseDeliveries(deliveries);
            } catch (err) {
              if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 0)) throw err;
            }
          }
          // An answer identical to the last one changes nothing on screen: skip the DOM work.
          const raw = JSON.stringify([body, deliveries]);
          state.lastDataAt = Date.now();
          if (raw === lastRaw.get(venueId) && state.venues.get(venueId)?.fridges?.length === v.fridges.length) continue;
          lastRaw.set(venueId, raw);
          applyVenue(v);
        } while (entry.again);
      } finally {
        inflight.delete(venueId);
      }
    })();
    return entry.promise;
  }

  /** Loads the venue list, then every venue's detail. Rejects on auth errors and when central is unreachable. */
  async function loadAll() {
    const body = await getJson('/v1/venues');
    if (body && !Array.isArray(body) && body.version) state.version = body.version;
    const list = normaliseVenueList(body);
    for (const s of list) {
      const prev = state.venues.get(s.venueId);
      state.venues.set(s.venueId, prev ? { ...prev, ...s } : { ...s, fridges: [], gateways: [], orders: [], deliveries: [] });
    }
    state.order = list.map((s) => s.venueId);
    for (const id of [...state.venues.keys()]) if (!state.order.includes(id)) state.venues.delete(id);
    state.lastDataAt = Date.now();
    onChange();
    // One venue failing (e.g. not loaded yet) must not hide the others.
    await refreshVenues(state.order);
  }

  /** Refetches the given venues (the ones on screen), a few at a time; per-venue errors are skipped. */
  async function refreshVenues(ids) {
    const queue = [...ids];
    await Promise.all(
      Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          try {
            await loadVenue(id);
          } catch (err) {
            if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 0)) throw err;
          }
        }
      }),
    );
  }

  /** Refetches a venue after `delayMs` (0: now); asks inside the window merge into one fetch. */
  function refreshVenueSoon(venueId, delayMs) {
    if (delayMs === 0) {
      clearTimeout(venueTimers.get(venueId));
      venueTimers.delete(venueId);
      loadVenue(venueId).catch(onError);
      return;
    }
    if (venueTimers.has(venueId)) return;
    venueTimers.set(
      venueId,
      setTimeout(() => {
        venueTimers.delete(venueId);
        loadVenue(venueId).catch(onError);
      }, delayMs),
    );
  }

  /** A full reload soon (feed events that name no venue); coalesced. */
  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => loadAll().catch(onError), 50);
  }

  /** Applies a `fridge` event's cells and status to a venue already shown; false if unknown. */
  function applyFridgePatch(venueId, data) {
    const v = state.venues.get(venueId);
    const i = v?.fridges?.findIndex((f) => f.fridgeId === data.fridgeId) ?? -1;
    if (i < 0) return false;
    const patched = normaliseVenue({ venueId, fridges: [{ fridgeId: data.fridgeId, cells: data.cells, status: data.status ?? undefined }] }).fridges[0];
    const prev = v.fridges[i];
    // The event carries no config: keep the gateway, name and threshold already known.
    const next = { ...prev, cells: patched.cells };
    if (data.status) Object.assign(next, { online: patched.online, lastSeen: patched.lastSeen ?? prev.lastSeen, temperatureC: patched.temperatureC ?? prev.temperatureC, door: patched.door ?? prev.door, temperatureAlarm: undefined });
    if (typeof data.openOrders === 'number') next.openOrders = data.openOrders;
    const fridges = [...v.fridges];
    fridges[i] = next;
    lastRaw.delete(venueId);
    applyVenue({ ...v, fridges });
    return true;
  }

  /** Records a feed event for a venue's "recent events" list (bounded). */
  function recordEvent(venueId, ev) {
    const list = state.events.get(venueId) ?? [];
    list.unshift({ seq: ++state.eventSeq, ...ev });
    if (list.length > MAX_EVENTS_PER_VENUE) list.length = MAX_EVENTS_PER_VENUE;
    state.events.set(venueId, list);
  }

  return { state, loadAll, loadVenue, refreshVenues, refreshVenueSoon, scheduleReload, applyVenue, applyFridgePatch, recordEvent };
}
