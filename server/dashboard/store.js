// @ts-check
// The page's copy of central's views: loading (`GET /v1/venues`, `GET /v1/venues/{id}`) with one
// fetch per venue at a time, live events applied in place, and the client-side stock history.

import { getJson, ApiError } from './api.js';
import { History } from './chart.js';

/** @typedef {import('./types.js').VenueListJson} VenueListJson */
/** @typedef {import('./types.js').VenueDetailJson} VenueDetailJson */
/** @typedef {import('./types.js').FridgeJson} FridgeJson */
/** @typedef {import('./model.js').Venue} Venue */
/** @typedef {import('./types.js').VenueLiveEvent} VenueLiveEvent */
/** @typedef {{ seq: number, id: string | undefined, type: string, at: number, summary: string }} FeedLine */

/** Venue details fetched at once on a full load (bounds the burst on central). */
const FETCH_CONCURRENCY = 6;
/** Recent feed events kept per venue for the venue view. */
export const MAX_EVENTS_PER_VENUE = 50;

/** @param {unknown} err */
const fatal = (err) => err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 0);

/**
 * Creates the store. `onChange()` is called after any data changed (the page schedules a render);
 * `onError(err)` receives failures of background loads.
 * @param {{ onChange: () => void, onError: (err: unknown) => void }} callbacks
 */
export function createStore({ onChange, onError }) {
  const state = {
    /** @type {Map<string, Venue>} venueId → venue */
    venues: new Map(),
    /** @type {string[]} Venue ids in central's list order. */
    order: [],
    history: new History(),
    /** @type {Map<string, FeedLine[]>} venueId → recent feed events, newest first. */
    events: new Map(),
    eventSeq: 0,
    /** @type {number | undefined} When data last arrived from central (ms), for the stale banner. */
    lastDataAt: undefined,
  };
  /** @type {Map<string, { again: boolean, promise: Promise<void> }>} */
  const inflight = new Map();
  /**
   * venueId → the live events that arrived while its detail was being fetched. The detail says
   * which event it already reflects (`asOfEventId`); the later ones are applied on top of it, so a
   * fetch never undoes a change the page has shown.
   * @type {Map<string, Array<{ id: string, event: VenueLiveEvent }>>}
   */
  const during = new Map();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let reloadTimer;
  /** True from the start of a full load until one completes (a failed one is retried by {@link retryFailed}). */
  let loadFailed = false;

  /**
   * Records the stock of some fridges of a venue in the history.
   * @param {string} venueId
   * @param {FridgeJson[]} fridges
   */
  function record(venueId, fridges) {
    const t = Date.now();
    for (const f of fridges) for (const c of f.cells) {
      state.history.record(`${venueId}/${f.fridgeId}/${c.mealId}/S`, t, c.S);
      state.history.record(`${venueId}/${f.fridgeId}/${c.mealId}/Teff`, t, c.Teff);
      state.history.record(`${venueId}/${f.fridgeId}/${c.mealId}/R`, t, c.R);
    }
  }

  /**
   * Stores a venue (a new object: views compare by identity) and notifies.
   * @param {Venue} v
   */
  function put(v) {
    state.venues.set(v.summary.venueId, v);
    state.lastDataAt = Date.now();
    onChange();
  }

  /**
   * Fetches one venue's detail. One fetch per venue at a time; asks during a fetch queue exactly one more.
   * @param {string} venueId
   * @returns {Promise<void>}
   */
  function loadVenue(venueId) {
    const cur = inflight.get(venueId);
    if (cur) {
      cur.again = true;
      return cur.promise;
    }
    const entry = { again: false, promise: Promise.resolve() };
    inflight.set(venueId, entry);
    entry.promise = (async () => {
      try {
        do {
          entry.again = false;
          during.set(venueId, []);
          /** @type {VenueDetailJson} */
          const detail = await getJson(`/v1/venues/${encodeURIComponent(venueId)}`);
          const { loaded, fridges, gateways, deliveries, orders, asOfEventId, ...summary } = detail;
          /** @type {Venue | undefined} */
          let v = { summary, detail };
          record(venueId, fridges);
          for (const e of during.get(venueId) ?? []) if (v !== undefined && after(e.id, asOfEventId)) v = applyEvent(v, e.event);
          during.delete(venueId);
          // A `venue` event during the fetch: its configuration changed again; read it once more.
          if (v === undefined) entry.again = true;
          else put(v);
        } while (entry.again);
      } finally {
        during.delete(venueId);
        inflight.delete(venueId);
      }
    })();
    return entry.promise;
  }

  /** Loads the venue list, then every venue's detail. Rejects on auth errors and when central is unreachable. */
  async function loadAll() {
    loadFailed = true;
    /** @type {VenueListJson} */
    const body = await getJson('/v1/venues');
    for (const summary of body.venues) put({ summary, detail: state.venues.get(summary.venueId)?.detail });
    state.order = body.venues.map((s) => s.venueId);
    for (const id of [...state.venues.keys()]) if (!state.order.includes(id)) state.venues.delete(id);
    onChange();
    // One venue failing (e.g. not loaded yet) must not hide the others.
    await refreshVenues(state.order);
    loadFailed = false;
  }

  /**
   * Fetches the given venues (the ones on screen), a few at a time; per-venue errors are skipped.
   * @param {string[]} ids
   */
  async function refreshVenues(ids) {
    const queue = [...ids];
    await Promise.all(
      Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          try {
            await loadVenue(id);
          } catch (err) {
            if (fatal(err)) throw err;
          }
        }
      }),
    );
  }

  /**
   * Reads again what failed to load: the full load if the last one failed, else the given venues
   * that have no detail (each read that succeeds is kept current by the live feed from then on).
   * @param {string[]} ids
   */
  async function retryFailed(ids) {
    if (loadFailed) return loadAll();
    await refreshVenues(ids.filter((id) => state.venues.get(id)?.detail === undefined && !inflight.has(id)));
  }

  /** A full reload soon (a `refetch` event, a venue the page does not know); coalesced. */
  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => loadAll().catch(onError), 50);
  }

  /**
   * Applies one live event of a venue (`id` its event id) in place; a `venue` event reads the venue
   * again (once, however many arrive meanwhile).
   * @param {string | undefined} id
   * @param {VenueLiveEvent} event
   */
  function apply(id, event) {
    const v = state.venues.get(event.venueId);
    if (v === undefined) return scheduleReload();
    if (id !== undefined) during.get(event.venueId)?.push({ id, event });
    if (v.detail === undefined) {
      // A read in flight applies the event on top of what it brings; without one the venue's last
      // read failed (its document was not loaded yet, say), and an event says central has it now.
      if (!inflight.has(event.venueId)) loadVenue(event.venueId).catch(onError);
      return;
    }
    const next = applyEvent(v, event);
    if (next === undefined) return void loadVenue(event.venueId).catch(onError);
    if (event.type === 'fridge') record(event.venueId, [event.fridge]);
    put(next);
  }

  /**
   * Records a feed event for a venue's "recent events" list (bounded).
   * @param {string} venueId
   * @param {Omit<FeedLine, 'seq'>} ev
   */
  function recordEvent(venueId, ev) {
    const list = state.events.get(venueId) ?? [];
    list.unshift({ seq: ++state.eventSeq, ...ev });
    if (list.length > MAX_EVENTS_PER_VENUE) list.length = MAX_EVENTS_PER_VENUE;
    state.events.set(venueId, list);
  }

  return { state, loadAll, loadVenue, refreshVenues, retryFailed, scheduleReload, apply, recordEvent };
}

/** @typedef {ReturnType<typeof createStore>} Store */

/**
 * True when event id `a` (`<boot>-<seq>`) comes after `b` of the same central process; an id of
 * another process counts as after (central restarted: its events are newer than the detail).
 * @param {string} a
 * @param {string} b
 */
function after(a, b) {
  const [bootA, seqA] = a.split('-');
  const [bootB, seqB] = b.split('-');
  return bootA !== bootB || Number(seqA) > Number(seqB);
}

/**
 * A venue with one live event applied, or `undefined` when the event means the venue must be read
 * again (its configuration changed: fridges, gateways or meals may have come or gone).
 * @param {Venue} v a venue whose detail is known
 * @param {VenueLiveEvent} event
 * @returns {Venue | undefined}
 */
export function applyEvent(v, event) {
  const d = v.detail;
  if (d === undefined) return undefined;
  switch (event.type) {
    case 'fridge': {
      const i = d.fridges.findIndex((f) => f.fridgeId === event.fridge.fridgeId);
      // A fridge the detail does not list is not configured here (yet): its `venue` event follows.
      if (i < 0) return v;
      const fridges = d.fridges.slice();
      fridges[i] = event.fridge;
      return { summary: { ...v.summary, totals: event.totals }, detail: { ...d, fridges, totals: event.totals } };
    }
    case 'order': {
      // The detail lists open orders only: a reserved order is updated or added, any other leaves.
      const i = d.orders.findIndex((o) => o.orderId === event.order.orderId);
      const orders = d.orders.slice();
      if (event.order.state !== 'reserved') orders.splice(i, i < 0 ? 0 : 1);
      else if (i < 0) orders.push(event.order);
      else orders[i] = event.order;
      return { summary: v.summary, detail: { ...d, orders } };
    }
    case 'delivery': {
      // Newest announcement first, as the detail lists them.
      const deliveries = [event.delivery, ...d.deliveries.filter((x) => x.deliveryId !== event.delivery.deliveryId)].sort((a, b) => (a.announcedAt < b.announcedAt ? 1 : -1));
      return { summary: v.summary, detail: { ...d, deliveries } };
    }
    case 'gateway': {
      // A gateway the detail does not list is not configured here (yet): its `venue` event follows.
      const i = d.gateways.findIndex((g) => g.gatewayId === event.gateway.gatewayId);
      if (i < 0) return v;
      const gateways = d.gateways.slice();
      gateways[i] = event.gateway;
      return { summary: v.summary, detail: { ...d, gateways } };
    }
    case 'venue':
      return undefined;
  }
}
