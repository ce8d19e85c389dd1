// Fleet view: city → venue → gateway → fridge, filtered by search text, city and "only problems".

import { h, setText, setAttr, setClass, keyed } from './dom.js';
import { duration } from './format.js';
import { fridgeHasProblem } from './model.js';
import { createFridgeCard, updateFridgeCard } from './fridge-card.js';

const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Lower-cased words of a search text. */
const words = (q) => q.toLowerCase().split(/\s+/).filter(Boolean);

/** True when every word occurs in one of `fields` (case-insensitive). */
function matches(fields, ws) {
  const hay = fields.filter(Boolean).join(' ').toLowerCase();
  return ws.every((w) => hay.includes(w));
}

/**
 * Applies the filters: venues (with their visible fridges) grouped by city. A fridge shows when
 * the search words all occur in its venue, city, ids, gateway or meals and, with "only problems",
 * when it has one. A venue shows when some fridge does, or when no filter is set (even without
 * fridges), or with "only problems" when a gateway of it is not syncing.
 */
export function filterFleet(venues, { q = '', city = '', problems = false }) {
  const ws = words(q);
  const cities = new Map();
  for (const v of venues) {
    if (city && v.city !== city) continue;
    const fridges = (v.fridges ?? []).filter((f) => matches([v.venueId, v.name, v.city, f.fridgeId, f.name, f.gatewayId, ...f.cells.map((c) => c.mealId)], ws) && (!problems || fridgeHasProblem(f)));
    const unfiltered = ws.length === 0 && !problems;
    const gatewayProblem = problems && matches([v.venueId, v.name, v.city], ws) && (v.gateways ?? []).some((g) => g.connected === false);
    if (fridges.length === 0 && !unfiltered && !gatewayProblem) continue;
    const list = cities.get(v.city) ?? [];
    list.push({ venue: v, fridges });
    cities.set(v.city, list);
  }
  return [...cities.entries()].sort(([a], [b]) => byName(a, b)).map(([name, list]) => ({ city: name, venues: list.sort((a, b) => byName(a.venue.name, b.venue.name)) }));
}

function createCity(c) {
  return h('section', { class: 'city', 'data-city': c.city }, h('h2', { 'data-k': 'city' }), h('div', { class: 'venues' }));
}

function createVenue({ venue }) {
  return h(
    'article',
    { class: 'venue', 'data-venue': venue.venueId },
    h(
      'header',
      {},
      h('h3', {}, h('a', { 'data-k': 'link', href: `#/venue/${encodeURIComponent(venue.venueId)}` })),
      h('span', { class: 'muted', 'data-k': 'tz' }),
      h('span', { class: 'totals', 'data-k': 'totals' }),
    ),
    h('div', { class: 'deliveries', 'data-k': 'deliveries' }),
    h('div', { class: 'gw-groups' }),
  );
}

/** A gateway heading: sync state and lag. */
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
      h('span', { class: 'muted', 'data-k': 'ver' }),
      h('span', { class: 'muted', 'data-k': 'skew' }),
    ),
    h('div', { class: 'fridges' }),
  );
}

export function updateGatewayHeader(el, g) {
  const sel = (k) => el.querySelector(`:scope > header [data-k="${k}"]`);
  setText(sel('id'), g.gatewayId);
  const st = sel('state');
  setText(st, g.state);
  setClass(st, 'bad', g.connected === false);
  setClass(st, 'good', g.connected === true);
  setText(sel('lag'), g.lagMs === undefined ? '' : `lag ${duration(g.lagMs)}`);
  setClass(sel('lag'), 'warn', g.lagMs !== undefined && g.lagMs > 5000);
  setText(sel('ver'), g.version ? `v${g.version}` : '');
  const skew = sel('skew');
  setText(skew, g.clockSkewAlert ? `clock ${g.clockSkewMs > 0 ? '+' : ''}${Math.round(g.clockSkewMs / 1000)} s` : '');
  setClass(skew, 'warn', g.clockSkewAlert);
}

/** Deliveries line: incoming and discrepancies. */
export function deliverySummary(el, deliveries) {
  const incoming = deliveries.filter((d) => /incoming|announced|pending/.test(d.state) && d.discrepancies.length === 0);
  const disc = deliveries.filter((d) => d.discrepancies.length > 0 || /discrep/.test(d.state));
  const parts = [];
  if (incoming.length) parts.push(`${incoming.length} deliver${incoming.length === 1 ? 'y' : 'ies'} incoming (${incoming.map((d) => d.fridgeId || d.deliveryId).join(', ')})`);
  if (disc.length) parts.push(`${disc.length} discrepanc${disc.length === 1 ? 'y' : 'ies'}: ${disc.map((d) => `${d.fridgeId} ${d.discrepancies.map((x) => `${x.mealId} ${x.qty > 0 ? '+' : ''}${x.qty}`).join(' ')}`).join('; ')}`);
  setText(el, parts.join(' · '));
  setClass(el, 'warn', disc.length > 0);
  setAttr(el, 'hidden', parts.length === 0);
}

function updateVenue(el, { venue, fridges }) {
  // Venue objects are replaced whenever their data changes, so an unchanged object with the same
  // visible fridges needs no DOM work: a large fleet re-renders only what moved.
  const sig = fridges.map((f) => f.fridgeId).join(',');
  if (el._venue === venue && el._sig === sig) return;
  el._venue = venue;
  el._sig = sig;
  const link = el.querySelector('[data-k="link"]');
  setText(link, venue.name);
  setText(el.querySelector('[data-k="tz"]'), venue.timezone ?? '');
  let R = 0;
  let S = 0;
  let T = 0;
  let short = 0;
  for (const f of venue.fridges ?? []) for (const c of f.cells) {
    T += c.Teff;
    R += c.R;
    S += c.S;
    short += c.shortage;
  }
  const tot = el.querySelector('[data-k="totals"]');
  setText(tot, `T ${T} · R ${R} · S ${S}${short ? ` · short ${short}` : ''}`);
  setClass(tot, 'bad', short > 0);
  deliverySummary(el.querySelector('[data-k="deliveries"]'), venue.deliveries ?? []);
  const groups = new Map((venue.gateways ?? []).map((g) => [g.gatewayId, { g, fridges: [] }]));
  for (const f of fridges) {
    const k = f.gatewayId ?? '—';
    if (!groups.has(k)) groups.set(k, { g: { gatewayId: k, state: 'unassigned' }, fridges: [] });
    groups.get(k).fridges.push(f);
  }
  const shown = [...groups.values()].filter((x) => x.fridges.length > 0 || fridges.length === (venue.fridges ?? []).length);
  keyed(el.querySelector('.gw-groups'), shown, (x) => x.g.gatewayId, (x) => createGateway(x.g), (gel, x) => {
    updateGatewayHeader(gel, x.g);
    keyed(gel.querySelector('.fridges'), x.fridges, (f) => f.fridgeId, createFridgeCard, (fel, f) => updateFridgeCard(fel, f, venue.timezone));
  });
}

/** Renders the fleet into `root` (the `#cities` container). */
export function renderFleet(root, venues, filters) {
  const cities = filterFleet(venues, filters);
  keyed(root, cities, (c) => c.city, createCity, (el, c) => {
    setText(el.querySelector('[data-k="city"]'), c.city);
    keyed(el.querySelector('.venues'), c.venues, (x) => x.venue.venueId, createVenue, updateVenue);
  });
  return cities;
}
