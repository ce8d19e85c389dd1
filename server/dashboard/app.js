// Entry point: login, loading central's merged state, the live feed, routing and alerts.

import { getJson, getToken, setToken, clearToken, ApiError, centralVersion } from './api.js';
import { connectEvents } from './events.js';
import { normaliseVenueList, normaliseVenue, problemsOf } from './model.js';
import { renderFleet } from './fleet-view.js';
import { createVenueView, updateVenueView } from './venue-view.js';
import { History } from './chart.js';
import { readRoute, replaceRoute, routeHash } from './url-state.js';
import { h, setText, setAttr, keyed } from './dom.js';
import { ago, clock } from './format.js';

const $ = (id) => document.getElementById(id);

/** Recent feed events kept per venue for the venue view. */
const MAX_EVENTS_PER_VENUE = 50;
/** Venue details fetched at once on a full load (bounds the burst on central). */
const FETCH_CONCURRENCY = 6;

const state = {
  venues: new Map(),
  order: [],
  history: new History(),
  events: new Map(),
  eventSeq: 0,
  lastDataAt: undefined,
  feed: undefined,
  live: false,
  everLive: false,
  alerts: new Map(),
  alertsPrimed: false,
  venueViewFor: undefined,
  version: undefined,
  inflight: new Map(),
};

// ------------------------------------------------------------------ alerts (ARIA live region)

function announce(text) {
  const live = $('live');
  live.append(h('p', {}, text));
  // Bounded: screen readers only need the latest few lines.
  while (live.childElementCount > 5) live.firstElementChild.remove();
}

function refreshAlerts() {
  const now = new Map();
  for (const v of state.venues.values()) if (v.fridges) for (const p of problemsOf(v)) now.set(p.key, p);
  const added = [...now.values()].filter((p) => !state.alerts.has(p.key));
  const resolved = [...state.alerts.values()].filter((p) => !now.has(p.key));
  if (state.alertsPrimed) {
    for (const p of added) announce(p.text);
    for (const p of resolved) announce(`Resolved: ${p.text}`);
  } else if (now.size > 0) {
    announce(`${now.size} alert${now.size === 1 ? '' : 's'} open`);
  }
  state.alertsPrimed = true;
  state.alerts = now;
  keyed(
    $('alerts-list'),
    [...now.values()],
    (p) => p.key,
    (p) => h('li', { class: p.level }),
    (li, p) => setText(li, p.text),
  );
  setAttr($('alerts-list').parentElement, 'data-count', now.size);
  const badge = $('alert-count');
  setText(badge, `${now.size} alert${now.size === 1 ? '' : 's'}`);
  badge.hidden = now.size === 0;
}

// ------------------------------------------------------------------ connection state

function setLive(live, reason) {
  state.live = live;
  const conn = $('conn');
  conn.dataset.state = live ? 'live' : 'down';
  setText(conn, live ? 'live' : 'disconnected');
  const stale = $('stale');
  if (live) {
    if (!stale.hidden) announce('Live feed restored');
    stale.hidden = true;
  } else {
    const asOf = state.lastDataAt === undefined ? 'never loaded' : `data as of ${clock(state.lastDataAt)}`;
    const text = `Disconnected from central — ${asOf}. Reconnecting…`;
    if (stale.hidden) announce(text);
    setText(stale, text);
    stale.hidden = false;
    if (reason) stale.title = String(reason);
  }
}

/**
 * Central's version: from a response header or body when it sends one, else from its OpenAPI
 * document (`info.version`), which it always serves.
 */
async function discoverVersion() {
  if (centralVersion() ?? state.version) return;
  try {
    const res = await fetch('/documentation/json', { cache: 'no-store' });
    if (!res.ok) return;
    const spec = await res.json();
    if (typeof spec?.info?.version === 'string') state.version = spec.info.version;
    showVersion();
  } catch {
    // Optional: the page works without it.
  }
}

function showVersion() {
  const v = centralVersion() ?? state.version;
  setText($('version'), v ? `central v${v}` : '');
}

// ------------------------------------------------------------------ data loading

async function loadVenue(venueId) {
  // Coalesce: one fetch per venue at a time; a request during a fetch queues exactly one more.
  const cur = state.inflight.get(venueId);
  if (cur) {
    cur.again = true;
    return cur.promise;
  }
  const entry = { again: false, promise: undefined };
  state.inflight.set(venueId, entry);
  entry.promise = (async () => {
    try {
      do {
        entry.again = false;
        const body = await getJson(`/v1/venues/${encodeURIComponent(venueId)}`);
        applyVenue(normaliseVenue(body));
      } while (entry.again);
    } finally {
      state.inflight.delete(venueId);
    }
  })();
  return entry.promise;
}

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
  state.lastDataAt = Date.now();
  const t = Date.now();
  for (const f of v.fridges) for (const c of f.cells) for (const m of ['S', 'Teff', 'R']) state.history.record(`${v.venueId}/${f.fridgeId}/${c.mealId}/${m}`, t, c[m]);
  scheduleRender();
}

/** Applies a `fridge` event's cells and status to the venue already shown. */
function applyFridgePatch(venueId, data) {
  const v = state.venues.get(venueId);
  if (!v?.fridges) return;
  const patched = normaliseVenue({ venueId, fridges: [{ fridgeId: data.fridgeId, cells: data.cells, status: data.status ?? undefined }] }).fridges[0];
  const i = v.fridges.findIndex((f) => f.fridgeId === data.fridgeId);
  if (i < 0) return;
  const prev = v.fridges[i];
  // The event carries no config: keep the gateway, name and threshold already known.
  v.fridges[i] = { ...prev, cells: patched.cells, ...(data.status ? { online: patched.online, lastSeen: patched.lastSeen ?? prev.lastSeen, temperatureC: patched.temperatureC ?? prev.temperatureC, door: patched.door ?? prev.door } : {}) };
  if (typeof data.openOrders === 'number') v.fridges[i].openOrders = data.openOrders;
  applyVenue({ ...v, fetchedAt: Date.now() });
}

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
  fillCityFilter();
  scheduleRender();
  const queue = [...state.order];
  await Promise.all(
    Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          await loadVenue(id);
        } catch (err) {
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) throw err;
        }
      }
    }),
  );
}

/** Least time between two feed-triggered refetches of one venue, ms. */
const VENUE_REFRESH_THROTTLE_MS = 1000;
/**
 * Full refresh period while live, ms: gateway link state and lag are not on the feed, so they are
 * re-read this often (one venue list and one detail per venue).
 */
const PERIODIC_REFRESH_MS = 10_000;

const venueTimers = new Map();
/** Refetches a venue after `delayMs` (0: now); requests inside the window merge into one. */
function refreshVenueSoon(venueId, delayMs) {
  if (delayMs === 0) {
    clearTimeout(venueTimers.get(venueId));
    venueTimers.delete(venueId);
    loadVenue(venueId).catch(onLoadError);
    return;
  }
  if (venueTimers.has(venueId)) return;
  venueTimers.set(
    venueId,
    setTimeout(() => {
      venueTimers.delete(venueId);
      loadVenue(venueId).catch(onLoadError);
    }, delayMs),
  );
}

let reloadTimer;
/** A full reload soon (feed events that name no venue, reconnects); coalesced. */
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => loadAll().catch(onLoadError), 50);
}

function onLoadError(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return signOut(`Token refused by central (${err.status}: ${err.message})`);
  if (err instanceof ApiError && err.status === 0) setLive(false, err.message);
}

// ------------------------------------------------------------------ live feed

/** What a `fridge` event changed compared with what the page shows: `bowl S 8→5 · door open`. */
function fridgeDiff(d) {
  const f = state.venues.get(d.venueId)?.fridges?.find((x) => x.fridgeId === d.fridgeId);
  if (!f || !Array.isArray(d.cells)) return undefined;
  const next = normaliseVenue({ venueId: d.venueId, fridges: [{ fridgeId: d.fridgeId, cells: d.cells, status: d.status ?? undefined }] }).fridges[0];
  const parts = [];
  for (const c of next.cells) {
    const p = f.cells.find((x) => x.mealId === c.mealId);
    const ch = ['Teff', 'R', 'S', 'shortage'].filter((k) => (p?.[k] ?? 0) !== c[k]).map((k) => `${k === 'Teff' ? 'T' : k} ${p?.[k] ?? 0}→${c[k]}`);
    if (ch.length) parts.push(`${c.mealId} ${ch.join(', ')}`);
  }
  if (d.status) {
    if (next.online !== f.online) parts.push(next.online ? 'online' : 'offline');
    if (next.door !== undefined && next.door !== f.door) parts.push(`door ${next.door}`);
    if (next.temperatureC !== undefined && next.temperatureC !== f.temperatureC) parts.push(`${next.temperatureC.toFixed(1)} °C`);
  }
  return `${d.fridgeId}: ${parts.length ? parts.join(' · ') : 'no visible change'}`;
}

function summarise(type, d) {
  if (!d || typeof d !== 'object') return String(d ?? '');
  if (type === 'fridge') {
    const diff = fridgeDiff(d);
    if (diff) return diff;
  }
  const parts = [];
  for (const key of ['kind', 'fridgeId', 'mealId', 'orderId', 'gatewayId', 'state', 'deliveryId']) if (d[key] !== undefined && typeof d[key] !== 'object') parts.push(`${key === 'kind' ? '' : `${key.replace(/Id$/, '')} `}${d[key]}`);
  if (Array.isArray(d.changes)) parts.push(`${d.changes.length} change(s)`);
  return parts.join(' · ');
}

function onFeedEvent(ev) {
  let data;
  try {
    data = ev.data ? JSON.parse(ev.data) : undefined;
  } catch {
    data = ev.data;
  }
  if (data && typeof data === 'object' && data.version && ev.type === 'hello') state.version = data.version;
  const venueIds = new Set();
  if (data && typeof data === 'object') {
    if (typeof data.venueId === 'string') venueIds.add(data.venueId);
    if (Array.isArray(data.venueIds)) for (const v of data.venueIds) venueIds.add(String(v));
  }
  const at = Date.now();
  for (const id of venueIds) {
    const list = state.events.get(id) ?? [];
    list.unshift({ seq: ++state.eventSeq, id: ev.id, type: ev.type, at, summary: summarise(ev.type, data) });
    if (list.length > MAX_EVENTS_PER_VENUE) list.length = MAX_EVENTS_PER_VENUE;
    state.events.set(id, list);
  }
  state.lastDataAt = at;
  if (venueIds.size === 0) {
    if (ev.type !== 'hello' && ev.type !== 'heartbeat' && ev.type !== 'ping') scheduleReload();
    return;
  }
  for (const id of venueIds) {
    // A full merged state in the event is applied directly; otherwise the venue is refetched.
    const full = data.venue && Array.isArray(data.venue.fridges) ? data.venue : Array.isArray(data.fridges) ? data : undefined;
    if (full) {
      applyVenue(normaliseVenue(full));
      continue;
    }
    if (!state.venues.has(id)) {
      scheduleReload();
      continue;
    }
    // A fridge event carries the fridge's new cells and status: show them at once, then refetch
    // the venue (coalesced) for what the event does not carry (orders, gateways, deliveries).
    if (typeof data.fridgeId === 'string' && Array.isArray(data.cells)) {
      applyFridgePatch(id, data);
      // The rest (orders, gateway lag, deliveries) changes less often: refetch at most once a
      // second per venue, however busy the feed.
      refreshVenueSoon(id, VENUE_REFRESH_THROTTLE_MS);
    } else {
      refreshVenueSoon(id, 0);
    }
  }
}

function startFeed() {
  state.feed?.close();
  state.feed = connectEvents('/v1/events', {
    token: () => getToken() ?? '',
    onOpen() {
      const wasDown = state.everLive && !state.live;
      state.everLive = true;
      // Anything missed while down is reloaded; events after the resume id arrive on the stream.
      if (wasDown) loadAll().then(() => setLive(true), onLoadError);
      else setLive(true);
    },
    onEvent: onFeedEvent,
    onDown(err) {
      if (state.live || !state.everLive) setLive(false, err?.message);
    },
    onAuthError(status) {
      signOut(`Token refused by central's live feed (${status})`);
    },
  });
}

// ------------------------------------------------------------------ rendering

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function fillCityFilter() {
  const cities = [...new Set([...state.venues.values()].map((v) => v.city))].sort();
  const sel = $('f-city');
  const keep = readRoute().params.get('city') ?? '';
  keyed(sel, [{ v: '', t: 'All cities' }, ...cities.map((c) => ({ v: c, t: c }))], (o) => `c:${o.v}`, (o) => h('option', { value: o.v }), (el, o) => setText(el, o.t));
  sel.value = keep;
}

function venuesInOrder() {
  return state.order.map((id) => state.venues.get(id)).filter(Boolean);
}

function render() {
  const route = readRoute();
  showVersion();
  const crumbs = $('crumbs');
  if (route.view === 'venue') {
    $('fleet').hidden = true;
    const root = $('venue');
    root.hidden = false;
    const v = state.venues.get(route.venueId);
    if (state.venueViewFor !== route.venueId) {
      createVenueView(root, (p) => {
        const params = Object.fromEntries(readRoute().params);
        location.hash = routeHash('venue', route.venueId, { ...params, ...p });
      });
      state.venueViewFor = route.venueId;
    }
    crumbs.replaceChildren(h('a', { href: '#/' }, 'Fleet'), ' › ', h('a', { href: routeHash('fleet', undefined, { city: v?.city }) }, v?.city ?? '…'), ' › ', h('span', { 'aria-current': 'page' }, v?.name ?? route.venueId));
    if (v && v.fridges) {
      updateVenueView(root, v, {
        params: Object.fromEntries(route.params),
        history: state.history,
        events: state.events.get(v.venueId) ?? [],
      });
    }
  } else {
    $('venue').hidden = true;
    // The venue view is rebuilt when opened again; no hidden copies of the cells linger.
    if (state.venueViewFor !== undefined) $('venue').replaceChildren();
    state.venueViewFor = undefined;
    $('fleet').hidden = false;
    crumbs.replaceChildren(h('span', { 'aria-current': 'page' }, 'Fleet'));
    const filters = { q: route.params.get('q') ?? '', city: route.params.get('city') ?? '', problems: route.params.get('problems') === '1' };
    const cities = renderFleet($('cities'), venuesInOrder(), filters);
    $('fleet-empty').hidden = cities.length > 0 || state.venues.size === 0;
    let fridges = 0;
    let online = 0;
    for (const v of state.venues.values()) for (const f of v.fridges ?? []) {
      fridges++;
      if (f.online) online++;
    }
    const n = state.venues.size;
    setText($('fleet-summary'), `${n} venue${n === 1 ? '' : 's'} · ${online}/${fridges} fridge${fridges === 1 ? '' : 's'} online`);
  }
  tick();
  refreshAlerts();
}

/** Refreshes relative times ("12 s ago") once a second without touching anything else. */
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-ago]')) {
    const ms = Number(el.getAttribute('data-ago'));
    const tz = el.getAttribute('data-tz') || undefined;
    setText(el, Number.isFinite(ms) && ms > 0 ? `${ago(ms, now)} · ${clock(ms, tz)}` : 'never');
    setAttr(el, 'title', Number.isFinite(ms) && ms > 0 ? `${new Date(ms).toISOString()} (${tz ?? 'local time'})` : undefined);
  }
}

// ------------------------------------------------------------------ filters in the URL

function syncFilterControls() {
  const { view, params } = readRoute();
  if (view !== 'fleet') return;
  const q = $('f-q');
  if (document.activeElement !== q) q.value = params.get('q') ?? '';
  $('f-city').value = params.get('city') ?? '';
  $('f-problems').checked = params.get('problems') === '1';
}

function onFilterInput() {
  replaceRoute('fleet', undefined, { q: $('f-q').value.trim(), city: $('f-city').value, problems: $('f-problems').checked });
  scheduleRender();
}

// ------------------------------------------------------------------ login

function showLogin(message) {
  $('login').hidden = false;
  $('fleet').hidden = true;
  $('venue').hidden = true;
  $('logout').hidden = true;
  setText($('login-error'), message ?? '');
  $('token').focus();
}

function signOut(message) {
  state.feed?.close();
  state.feed = undefined;
  clearToken();
  showLogin(message);
}

async function start() {
  $('login').hidden = true;
  $('logout').hidden = false;
  syncFilterControls();
  render();
  try {
    await loadAll();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return signOut(`Token refused by central (${err.status}: ${err.message})`);
    setLive(false, err?.message);
  }
  startFeed();
  discoverVersion();
}

/**
 * A link may carry the viewer token (`/dashboard/#token=…`, as the demo prints it): it is moved
 * into session storage and removed from the address bar and history at once.
 */
function takeTokenFromUrl() {
  const m = /(?:^#|[?&#])token=([^&]+)/.exec(location.hash) ?? /[?&]token=([^&]+)/.exec(location.search);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  const hash = location.hash.replace(/[?&#]?token=[^&]+/, '').replace(/^#?&?/, '#');
  const search = location.search.replace(/[?&]token=[^&]+/, '').replace(/^&/, '?');
  history.replaceState(null, '', `${location.pathname}${search === '?' ? '' : search}${hash === '#' ? '' : hash}`);
}

function main() {
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    setToken(t);
    $('token').value = '';
    start();
  });
  $('logout').addEventListener('click', () => signOut('Signed out.'));
  $('f-q').addEventListener('input', onFilterInput);
  $('f-city').addEventListener('change', onFilterInput);
  $('f-problems').addEventListener('change', onFilterInput);
  window.addEventListener('hashchange', () => {
    syncFilterControls();
    scheduleRender();
  });
  setInterval(tick, 1000);
  setInterval(() => {
    if (state.live && !document.hidden) loadAll().catch(onLoadError);
  }, PERIODIC_REFRESH_MS);
  takeTokenFromUrl();
  if (getToken()) start();
  else showLogin();
}

main();
