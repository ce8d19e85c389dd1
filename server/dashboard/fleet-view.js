// @ts-check
// Fleet view: city → venue → gateway → fridge, filtered by search text, city and "only problems".

import { h, setText, setAttr, setClass, keyed, q } from './dom.js';
import { duration } from './format.js';
import { discrepanciesOf, fridgeHasProblem, shownDeliveries } from './model.js';
import { createFridgeCard, updateFridgeCard } from './fridge-card.js';

/** @typedef {import('./types.js').FridgeJson} FridgeJson */
/** @typedef {import('./types.js').GatewayJson} GatewayJson */
/** @typedef {import('./types.js').DeliveryJson} DeliveryJson */
/** @typedef {import('./model.js').Venue} Venue */
/** @typedef {{ venue: Venue, fridges: FridgeJson[] }} ShownVenue */
/** @typedef {{ city: string, venues: ShownVenue[] }} ShownCity */
/** A gateway heading: the gateway central lists, or only an id (a reconciler it does not list). @typedef {{ gatewayId: string, gateway: GatewayJson | undefined }} GatewayHead */

/** @param {string} a @param {string} b */
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lower-cased words of a search text.
 * @param {string} q
 */
const words = (q) => q.toLowerCase().split(/\s+/).filter(Boolean);

/**
 * True when every word occurs in one of `fields` (case-insensitive).
 * @param {Array<string | null | undefined>} fields
 * @param {string[]} ws
 */
function matches(fields, ws) {
  const hay = fields.filter(Boolean).join(' ').toLowerCase();
  return ws.every((w) => hay.includes(w));
}

/**
 * Applies the filters: venues (with their visible fridges) grouped by city. A fridge shows when
 * the search words all occur in its venue, city, ids, gateway or meals and, with "only problems",
 * when it has one. A venue shows when some fridge does, or when no filter is set (even without
 * fridges), or with "only problems" when a gateway of it is not syncing.
 * @param {Venue[]} venues
 * @param {{ q?: string, city?: string, problems?: boolean }} filters
 * @returns {ShownCity[]}
 */
export function filterFleet(venues, { q = '', city = '', problems = false }) {
  const ws = words(q);
  /** @type {Map<string, ShownVenue[]>} */
  const cities = new Map();
  for (const venue of venues) {
    const v = venue.summary;
    if (city && v.city !== city) continue;
    const all = venue.detail?.fridges ?? [];
    const fridges = all.filter((f) => matches([v.venueId, v.name, v.city, f.fridgeId, f.name, f.reconcilerGateway, ...f.cells.map((c) => c.mealId)], ws) && (!problems || fridgeHasProblem(f)));
    const unfiltered = ws.length === 0 && !problems;
    const gatewayProblem = problems && matches([v.venueId, v.name, v.city], ws) && (venue.detail?.gateways ?? []).some((g) => !g.connected);
    if (fridges.length === 0 && !unfiltered && !gatewayProblem) continue;
    const list = cities.get(v.city) ?? [];
    list.push({ venue, fridges });
    cities.set(v.city, list);
  }
  return [...cities.entries()].sort(([a], [b]) => byName(a, b)).map(([name, list]) => ({ city: name, venues: list.sort((a, b) => byName(a.venue.summary.name, b.venue.summary.name)) }));
}

/** @param {ShownCity} c */
function createCity(c) {
  return h('section', { class: 'city', 'data-city': c.city }, h('h2', { 'data-k': 'city' }), h('div', { class: 'venues', 'data-k': 'venues' }));
}

/** @param {ShownVenue} shown */
function createVenue({ venue }) {
  return h(
    'article',
    { class: 'venue', 'data-venue': venue.summary.venueId },
    h(
      'header',
      {},
      h('h3', {}, h('a', { 'data-k': 'link', href: `#/venue/${encodeURIComponent(venue.summary.venueId)}` })),
      h('span', { class: 'muted', 'data-k': 'tz' }),
      h('span', { class: 'totals', 'data-k': 'totals' }),
    ),
    h('div', { class: 'deliveries', 'data-k': 'deliveries' }),
    h('div', { class: 'gw-groups', 'data-k': 'gw-groups' }),
  );
}

/**
 * A gateway heading: sync state, and its lag while connected or, once disconnected, how long ago
 * central last heard from it.
 * @param {GatewayHead} g
 */
export function createGateway(g) {
  return h(
    'section',
    { class: 'gw', 'data-gateway': g.gatewayId },
    h(
      'header',
      {},
      h('span', { class: 'gw-label' }, 'Gateway '),
      h('strong', { 'data-k': 'id' }),
      h('span', { class: 'badge', 'data-k': 'state' }),
      h('span', { class: 'muted', 'data-k': 'lag' }),
      h('span', { class: 'muted', 'data-k': 'heard', hidden: true }, 'last heard ', h('span', { 'data-k': 'heard-at' })),
      h('span', { class: 'muted', 'data-k': 'ver' }),
      h('span', { class: 'muted', 'data-k': 'skew' }),
    ),
    h('div', { class: 'fridges' }),
  );
}

/** The words for central's sync states. */
const SYNC_STATE = { synced: 'synced', syncing: 'syncing', disconnected: 'disconnected', 'never-connected': 'never connected' };

/**
 * @param {Element} el
 * @param {GatewayHead} head
 * @param {string} [tz] the venue's time zone (times are shown in it)
 */
export function updateGatewayHeader(el, { gatewayId, gateway: g }, tz) {
  /** @param {string} k */
  const sel = (k) => /** @type {Element} */ (el.querySelector(`:scope > header [data-k="${k}"]`));
  setText(sel('id'), gatewayId);
  const st = sel('state');
  setText(st, g === undefined ? 'unknown' : g.syncState === 'syncing' ? `syncing (${g.pendingDurable} pending)` : SYNC_STATE[g.syncState]);
  setClass(st, 'bad', g !== undefined && !g.connected);
  setClass(st, 'good', g?.connected === true);
  // The lag of a disconnected gateway is the time since its last message and grows with the clock:
  // central publishes no event for that (README "Read views and live events"), the page counts it
  // from `lastMessageAt` like every other "… ago".
  const lag = g?.connected ? g.syncLagMs : null;
  setText(sel('lag'), lag === null ? '' : `lag ${duration(lag)}`);
  setClass(sel('lag'), 'warn', lag !== null && lag > 5000);
  const heardAt = g !== undefined && !g.connected && g.lastMessageAt !== null ? Date.parse(g.lastMessageAt) : undefined;
  setAttr(sel('heard'), 'hidden', heardAt === undefined);
  const heard = /** @type {Element} */ (el.querySelector(':scope > header [data-k="heard-at"]'));
  setAttr(heard, 'data-ago', heardAt);
  setAttr(heard, 'data-tz', tz);
  setText(sel('ver'), g?.version ? `v${g.version}` : '');
  const skew = sel('skew');
  const skewMs = g?.clockSkewMs ?? 0;
  setText(skew, g?.clockSkewAlert ? `clock ${skewMs > 0 ? '+' : ''}${Math.round(skewMs / 1000)} s` : '');
  setClass(skew, 'warn', g?.clockSkewAlert);
}

/**
 * Deliveries line: incoming and discrepancies.
 * @param {Element} el
 * @param {DeliveryJson[]} deliveries
 */
export function deliverySummary(el, deliveries) {
  const shown = shownDeliveries(deliveries);
  const incoming = shown.filter((d) => d.status === 'incoming');
  const disc = shown.filter((d) => discrepanciesOf(d).length > 0);
  const parts = [];
  if (incoming.length) parts.push(`${incoming.length} deliver${incoming.length === 1 ? 'y' : 'ies'} incoming (${incoming.map((d) => d.fridgeId).join(', ')})`);
  if (disc.length) parts.push(`${disc.length} discrepanc${disc.length === 1 ? 'y' : 'ies'}: ${disc.map((d) => `${d.fridgeId} ${discrepanciesOf(d).map((x) => `${x.mealId} ${(x.discrepancy ?? 0) > 0 ? '+' : ''}${x.discrepancy}`).join(' ')}`).join('; ')}`);
  setText(el, parts.join(' · '));
  setClass(el, 'warn', disc.length > 0);
  setAttr(el, 'hidden', parts.length === 0);
}

/** What each venue element last showed: an unchanged venue with the same fridges needs no work. */
const shownVenues = new WeakMap();

/**
 * @param {HTMLElement} el
 * @param {ShownVenue} shown
 */
function updateVenue(el, { venue, fridges }) {
  // Venue objects are replaced whenever their data changes, so an unchanged object with the same
  // visible fridges needs no DOM work: a large fleet re-renders only what moved.
  const sig = fridges.map((f) => f.fridgeId).join(',');
  const last = shownVenues.get(el);
  if (last?.venue === venue && last.sig === sig) return;
  shownVenues.set(el, { venue, sig });
  const v = venue.summary;
  setText(q(el, 'link'), v.name);
  setText(q(el, 'tz'), v.timezone);
  const t = v.totals;
  const tot = q(el, 'totals');
  setText(tot, `T ${t.Teff} · R ${t.R} · S ${t.S}${t.shortage ? ` · short ${t.shortage}` : ''}`);
  setClass(tot, 'bad', t.shortage > 0);
  deliverySummary(q(el, 'deliveries'), venue.detail?.deliveries ?? []);
  /** @type {Map<string, { head: GatewayHead, fridges: FridgeJson[] }>} */
  const groups = new Map((venue.detail?.gateways ?? []).map((g) => [g.gatewayId, { head: { gatewayId: g.gatewayId, gateway: g }, fridges: [] }]));
  for (const f of fridges) {
    const k = f.reconcilerGateway ?? '—';
    let group = groups.get(k);
    if (group === undefined) groups.set(k, (group = { head: { gatewayId: k, gateway: undefined }, fridges: [] }));
    group.fridges.push(f);
  }
  const all = venue.detail?.fridges.length ?? 0;
  const shownGroups = [...groups.values()].filter((x) => x.fridges.length > 0 || fridges.length === all);
  keyed(q(el, 'gw-groups'), shownGroups, (x) => x.head.gatewayId, (x) => createGateway(x.head), (gel, x) => {
    updateGatewayHeader(gel, x.head, v.timezone);
    keyed(/** @type {Element} */ (gel.querySelector('.fridges')), x.fridges, (f) => f.fridgeId, createFridgeCard, (fel, f) => updateFridgeCard(fel, f, v.timezone));
  });
}

/**
 * Renders the fleet into `root` (the `#cities` container).
 * @param {Element} root
 * @param {Venue[]} venues
 * @param {{ q?: string, city?: string, problems?: boolean }} filters
 */
export function renderFleet(root, venues, filters) {
  const cities = filterFleet(venues, filters);
  keyed(root, cities, (c) => c.city, createCity, (el, c) => {
    setText(q(el, 'city'), c.city);
    keyed(q(el, 'venues'), c.venues, (x) => x.venue.summary.venueId, createVenue, updateVenue);
  });
  return cities;
}
