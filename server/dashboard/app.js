// @ts-check
// Entry point: login, connection state and stale banner, routing, rendering, filters in the URL.

import { getToken, setToken, clearToken, ApiError, centralVersion } from './api.js';
import { connectEvents } from './events.js';
import { createStore } from './store.js';
import { handleFeedEvent } from './live-feed.js';
import { createAlerts } from './alerts.js';
import { renderFleet } from './fleet-view.js';
import { createVenueView, updateVenueView } from './venue-view.js';
import { readRoute, replaceRoute, routeHash } from './url-state.js';
import { h, setText, setAttr, keyed } from './dom.js';
import { ago, clock } from './format.js';

/**
 * An element of index.html by id; a missing one is a bug of the page.
 * @param {string} id
 */
const $ = (id) => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no #${id}`);
  return el;
};
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id));
/** @typedef {import('./model.js').Venue} Venue */

/**
 * How often reads that failed are tried again while live, ms. Everything the page shows arrives on
 * the live feed (README "Read views and live events"), so nothing is re-read on a timer; only a
 * read that failed (central still loading a venue's document, a dropped request) is, since no
 * event repairs a venue the page has no detail of, nor a full reload that did not complete.
 */
const RETRY_FAILED_MS = 10_000;

const ui = {
  /** @type {ReturnType<typeof connectEvents> | undefined} */
  feed: undefined,
  live: false,
  everLive: false,
  /** @type {string | undefined} */
  venueViewFor: undefined,
  /** @type {string[]} Venue ids currently rendered (for retrying failed reads). */
  visible: [],
  /** @type {string | undefined} Central's version from its OpenAPI document. */
  version: undefined,
};

/**
 * Venues whose card intersects the viewport: failed reads are retried only for these, so an open
 * dashboard costs central a few requests per period however large the fleet.
 */
/** @type {Set<string>} */
const onScreen = new Set();
const screenObserver = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = e.target.getAttribute('data-venue');
    if (id === null) continue;
    if (e.isIntersecting) onScreen.add(id);
    else onScreen.delete(id);
  }
});
/** @type {WeakSet<Element>} */
const observed = new WeakSet();

/** The venues whose failed reads are retried: on screen in the fleet, or the one venue shown. */
function venuesToRetry() {
  return ui.venueViewFor !== undefined ? [ui.venueViewFor] : ui.visible.filter((id) => onScreen.has(id));
}
const store = createStore({ onChange: scheduleRender, onError: onLoadError });
const state = store.state;
const alerts = createAlerts({ live: $('live'), list: $('alerts-list'), badge: $('alert-count') });
const announce = alerts.announce;

// ------------------------------------------------------------------ connection state

/**
 * @param {boolean} live
 * @param {string} [reason]
 */
function setLive(live, reason) {
  ui.live = live;
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
  if (centralVersion() ?? ui.version) return;
  try {
    const res = await fetch('/documentation/json', { cache: 'no-store' });
    if (!res.ok) return;
    const spec = await res.json();
    if (typeof spec?.info?.version === 'string') ui.version = spec.info.version;
    showVersion();
  } catch {
    // Optional: the page works without it.
  }
}

function showVersion() {
  const v = centralVersion() ?? ui.version;
  setText($('version'), v ? `central v${v}` : '');
}

/**
 * Background load failures. A refused token signs out; anything else is left to the live feed,
 * which alone decides the banner (a failed refetch while the feed is up is retried by the next one).
 */
/** @param {unknown} err */
function onLoadError(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) signOut(`Token refused by central (${err.status}: ${err.message})`);
}

// ------------------------------------------------------------------ live feed

function startFeed() {
  ui.feed?.close();
  ui.feed = connectEvents('/v1/events', {
    token: () => getToken() ?? '',
    onOpen() {
      // Reload after an outage, and when the first load failed (central was still starting).
      const reload = (ui.everLive && !ui.live) || state.lastDataAt === undefined;
      ui.everLive = true;
      if (!reload) return setLive(true);
      // Anything missed while down is reloaded (the feed also says `refetch` when it cannot
      // resume). The banner clears once the feed is back even if that reload fails: it is
      // retried (RETRY_FAILED_MS).
      store.loadAll().then(
        () => setLive(true),
        (err) => {
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return onLoadError(err);
          setLive(true);
        },
      );
    },
    onEvent: (ev) => handleFeedEvent(store, ev),
    onDown(err) {
      if (ui.live || !ui.everLive) setLive(false, err instanceof Error ? err.message : String(err));
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
  const cities = [...new Set([...state.venues.values()].map((v) => v.summary.city))].sort();
  const sel = /** @type {HTMLSelectElement} */ ($('f-city'));
  const keep = readRoute().params.get('city') ?? '';
  keyed(sel, [{ v: '', t: 'All cities' }, ...cities.map((c) => ({ v: c, t: c }))], (o) => `c:${o.v}`, (o) => h('option', { value: o.v }), (el, o) => setText(el, o.t));
  sel.value = keep;
}

/** @returns {Venue[]} */
function venuesInOrder() {
  return state.order.flatMap((id) => state.venues.get(id) ?? []);
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
    if (ui.venueViewFor !== route.venueId) {
      createVenueView(root, (p) => {
        const params = Object.fromEntries(readRoute().params);
        location.hash = routeHash('venue', route.venueId, { ...params, ...p });
      });
      ui.venueViewFor = route.venueId;
    }
    crumbs.replaceChildren(h('a', { href: '#/' }, 'Fleet'), ' › ', h('a', { href: routeHash('fleet', undefined, { city: v?.summary.city }) }, v?.summary.city ?? '…'), ' › ', h('span', { 'aria-current': 'page' }, v?.summary.name ?? route.venueId));
    if (v?.detail) {
      updateVenueView(root, v.detail, {
        params: Object.fromEntries(route.params),
        history: state.history,
        events: state.events.get(v.summary.venueId) ?? [],
      });
    }
  } else {
    $('venue').hidden = true;
    // The venue view is rebuilt when opened again; no hidden copies of the cells linger.
    if (ui.venueViewFor !== undefined) $('venue').replaceChildren();
    ui.venueViewFor = undefined;
    $('fleet').hidden = false;
    crumbs.replaceChildren(h('span', { 'aria-current': 'page' }, 'Fleet'));
    const filters = { q: route.params.get('q') ?? '', city: route.params.get('city') ?? '', problems: route.params.get('problems') === '1' };
    const cities = renderFleet($('cities'), venuesInOrder(), filters);
    ui.visible = cities.flatMap((c) => c.venues.map((x) => x.venue.summary.venueId));
    for (const el of $('cities').querySelectorAll('.venue')) {
      if (observed.has(el)) continue;
      observed.add(el);
      screenObserver.observe(el);
    }
    $('fleet-empty').hidden = cities.length > 0 || state.venues.size === 0;
    // The fleet's counts are the sum of central's venue totals.
    let fridges = 0;
    let online = 0;
    for (const v of state.venues.values()) {
      fridges += v.summary.totals.fridges;
      online += v.summary.totals.fridgesOnline;
    }
    const n = state.venues.size;
    setText($('fleet-summary'), `${n} venue${n === 1 ? '' : 's'} · ${online}/${fridges} fridge${fridges === 1 ? '' : 's'} online`);
  }
  fillCityFilter();
  tick();
  alerts.refresh(venuesInOrder());
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
  const q = input('f-q');
  if (document.activeElement !== q) q.value = params.get('q') ?? '';
  input('f-city').value = params.get('city') ?? '';
  input('f-problems').checked = params.get('problems') === '1';
}

function onFilterInput() {
  replaceRoute('fleet', undefined, { q: input('f-q').value.trim(), city: input('f-city').value, problems: input('f-problems').checked });
  scheduleRender();
}

// ------------------------------------------------------------------ login

/** @param {string} [message] */
function showLogin(message) {
  $('login').hidden = false;
  $('fleet').hidden = true;
  $('venue').hidden = true;
  $('logout').hidden = true;
  setText($('login-error'), message ?? '');
  $('token').focus();
}

/** @param {string} [message] */
function signOut(message) {
  ui.feed?.close();
  ui.feed = undefined;
  clearToken();
  showLogin(message);
}

async function start() {
  $('login').hidden = true;
  $('logout').hidden = false;
  syncFilterControls();
  render();
  try {
    await store.loadAll();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return signOut(`Token refused by central (${err.status}: ${err.message})`);
    setLive(false, err instanceof Error ? err.message : String(err));
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
  setToken(decodeURIComponent(m[1] ?? ''));
  const hash = location.hash.replace(/[?&#]?token=[^&]+/, '').replace(/^#?&?/, '#');
  const search = location.search.replace(/[?&]token=[^&]+/, '').replace(/^&/, '?');
  history.replaceState(null, '', `${location.pathname}${search === '?' ? '' : search}${hash === '#' ? '' : hash}`);
}

function main() {
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = input('token').value.trim();
    if (!t) return;
    setToken(t);
    input('token').value = '';
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
    // Only what is on screen: a fleet of thousands of venues that central could not load must not
    // cost thousands of requests per period per open dashboard.
    if (ui.live && !document.hidden) store.retryFailed(venuesToRetry()).catch(onLoadError);
  }, RETRY_FAILED_MS);
  takeTokenFromUrl();
  if (getToken()) start();
  else showLogin();
}

main();
