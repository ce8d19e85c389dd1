// @ts-check
// Venue view: stock over time per fridge and meal (chart fed from the live feed), rights held by
// each replica, open orders, recent events, and the fridge cards.

import { h, setText, setAttr, setClass, keyed, q } from './dom.js';
import { clock } from './format.js';
import { drawStepChart, colorOf, History } from './chart.js';
import { createFridgeCard, updateFridgeCard } from './fridge-card.js';
import { createGateway, updateGatewayHeader, deliverySummary } from './fleet-view.js';
import { variantsText } from './model.js';

/** @typedef {import('./types.js').VenueSummaryJson} VenueSummaryJson */
/** @typedef {import('./types.js').VenueDetailJson} VenueDetailJson */
/** @typedef {import('./types.js').CellJson} CellJson */
/** @typedef {import('./store.js').FeedLine} FeedLine */
/** @typedef {'S' | 'Teff' | 'R'} Metric */

/** The chart's `<svg>` (SVG namespace; `h` makes HTML elements). */
function svgRoot() {
  const el = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  el.setAttribute('class', 'chart');
  el.setAttribute('data-k', 'chart');
  return el;
}

/** @type {Record<Metric, string>} */
const METRICS = { S: 'Sellable (S)', Teff: 'Observed (T_eff)', R: 'Reserved (R)' };

/**
 * @param {string | undefined} m
 * @returns {m is Metric}
 */
const isMetric = (m) => m === 'S' || m === 'Teff' || m === 'R';

/** @param {Event} e */
const valueOf = (e) => /** @type {HTMLSelectElement} */ (e.target).value;

/**
 * Builds the static skeleton of the venue view once; `onParams` is called when a control changes.
 * @param {Element} root
 * @param {(p: Record<string, string>) => void} onParams
 */
export function createVenueView(root, onParams) {
  root.replaceChildren(
    h(
      'div',
      { class: 'venue-head' },
      h('a', { href: '#/', class: 'back' }, '← Fleet'),
      h('h1', { 'data-k': 'title' }),
      h('span', { class: 'muted', 'data-k': 'where' }),
    ),
    h('p', { class: 'deliveries', 'data-k': 'deliveries' }),
    h('div', { class: 'gw-list', 'data-k': 'gateways' }),
    h(
      'section',
      { class: 'panel chart-panel', 'aria-labelledby': 'chart-h' },
      h('h2', { id: 'chart-h' }, 'Stock over time'),
      h(
        'div',
        { class: 'filters' },
        h('label', {}, 'Fridge ', h('select', { 'data-k': 'fridge', onchange: (/** @type {Event} */ e) => onParams({ fridge: valueOf(e) }) })),
        h(
          'label',
          {},
          'Value ',
          h('select', { 'data-k': 'metric', onchange: (/** @type {Event} */ e) => onParams({ metric: valueOf(e) }) }, ...Object.entries(METRICS).map(([k, v]) => h('option', { value: k }, v))),
        ),
      ),
      svgRoot(),
      h('ul', { class: 'legend', 'data-k': 'legend' }),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'fridges-h' }, h('h2', { id: 'fridges-h' }, 'Fridges'), h('div', { class: 'fridges', 'data-k': 'fridges' })),
    h(
      'div',
      { class: 'two-col' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'rights-h' },
        h('h2', { id: 'rights-h' }, 'Rights by replica'),
        h('div', { class: 'scroll' }, h('table', { class: 'rights' }, h('thead', {}, h('tr', { 'data-k': 'rights-head' })), h('tbody', { 'data-k': 'rights' }))),
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'orders-h' },
        h('h2', { id: 'orders-h' }, 'Open orders'),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'orders' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Order'), h('th', { scope: 'col' }, 'Fridge'), h('th', { scope: 'col' }, 'Items'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Hold until'))),
            h('tbody', { 'data-k': 'orders' }),
          ),
        ),
        h('p', { class: 'empty', 'data-k': 'no-orders' }, 'No open orders.'),
      ),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'events-h' }, h('h2', { id: 'events-h' }, 'Recent events'), h('ol', { class: 'events', 'data-k': 'events' })),
  );
}

const k = q;

/**
 * Updates the venue view in place. `events` are this venue's recent feed events, newest first.
 * @param {Element} root
 * @param {VenueDetailJson} venue
 * @param {{ params: Record<string, string>, history: History, events: FeedLine[] }} o
 */
export function updateVenueView(root, venue, { params, history, events }) {
  const tz = venue.timezone;
  setText(k(root, 'title'), venue.name);
  setText(k(root, 'where'), `${venue.city} · ${tz} · ${venue.venueId}`);
  deliverySummary(k(root, 'deliveries'), venue.deliveries);
  keyed(k(root, 'gateways'), venue.gateways.map((g) => ({ gatewayId: g.gatewayId, gateway: g })), (g) => g.gatewayId, createGateway, (el, g) => updateGatewayHeader(el, g, tz));

  // Chart controls.
  const fridgeSel = /** @type {HTMLSelectElement} */ (k(root, 'fridge'));
  keyed(fridgeSel, venue.fridges, (f) => f.fridgeId, (f) => h('option', { value: f.fridgeId }), (el, f) => setText(el, f.fridgeId));
  const fridgeId = venue.fridges.some((f) => f.fridgeId === params.fridge) ? params.fridge : venue.fridges[0]?.fridgeId;
  if (fridgeId !== undefined && fridgeSel.value !== fridgeId) fridgeSel.value = fridgeId;
  const metric = isMetric(params.metric) ? params.metric : 'S';
  const metricSel = /** @type {HTMLSelectElement} */ (k(root, 'metric'));
  if (metricSel.value !== metric) metricSel.value = metric;
  const fridge = venue.fridges.find((f) => f.fridgeId === fridgeId);
  const series = (fridge?.cells ?? []).map((c) => ({ name: c.mealId, points: history.points(`${venue.venueId}/${fridgeId}/${c.mealId}/${metric}`) }));
  const now = Date.now();
  // The window spans the history gathered since the page opened, at least one minute.
  let from = now - 60_000;
  for (const se of series) if (se.points[0]) from = Math.min(from, se.points[0][0]);
  drawStepChart(/** @type {SVGSVGElement} */ (k(root, 'chart')), series, { from, to: now, timeZone: tz, title: `${METRICS[metric]} per meal in fridge ${fridgeId ?? ''}` });
  keyed(
    k(root, 'legend'),
    series.map((se, i) => ({ ...se, i })),
    (se) => se.name,
    () => h('li', {}, h('span', { class: 'swatch' }), h('span', { 'data-k': 'n' })),
    (li, se) => {
      /** @type {HTMLElement} */ (li.querySelector('.swatch')).style.background = colorOf(se.i);
      const last = se.points[se.points.length - 1];
      setText(k(li, 'n'), `${se.name}: ${last ? last[1] : '—'}`);
    },
  );

  keyed(k(root, 'fridges'), venue.fridges, (f) => f.fridgeId, createFridgeCard, (el, f) => updateFridgeCard(el, f, tz));

  // Rights: one row per fridge and meal, one column per replica seen anywhere in the venue.
  const replicas = [...new Set(venue.fridges.flatMap((f) => f.cells.flatMap((c) => Object.keys(c.rights))))].sort();
  const head = k(root, 'rights-head');
  const cols = ['Fridge', 'Meal', 'S', ...replicas];
  keyed(head, cols, (c) => c, (c) => h('th', { scope: 'col', class: c === 'Fridge' || c === 'Meal' ? 'text' : undefined }, c), () => {});
  const rows = venue.fridges.flatMap((f) => f.cells.map((c) => ({ f: f.fridgeId, c })));
  keyed(
    k(root, 'rights'),
    rows,
    (r) => `${r.f}/${r.c.mealId}`,
    () => h('tr'),
    (tr, r) => {
      /** @type {Array<string | number>} */
      const vals = [r.f, r.c.mealId, r.c.S, ...replicas.map((rep) => r.c.rights[rep] ?? 0)];
      keyed(tr, vals.map((v, i) => ({ i, v })), (x) => x.i, (x) => h(x.i < 2 ? 'th' : 'td', x.i < 2 ? { scope: 'row' } : {}), (td, x) => setText(td, x.v));
      setAttr(tr, 'data-rights', `${r.f}/${r.c.mealId}`);
    },
  );

  const open = venue.orders;
  keyed(
    k(root, 'orders'),
    open,
    (o) => o.orderId,
    (o) => h('tr', { 'data-order': o.orderId }, h('th', { scope: 'row', 'data-k': 'id' }), h('td', { 'data-k': 'fridge' }), h('td', { 'data-k': 'items' }), h('td', { 'data-k': 'state' }), h('td', { 'data-k': 'hold' })),
    (tr, o) => {
      setText(k(tr, 'id'), o.orderId);
      setText(k(tr, 'fridge'), o.fridgeId);
      setText(k(tr, 'items'), o.items.map((l) => `${l.qty} × ${l.mealId}`).join(', '));
      setText(k(tr, 'state'), o.conflicts?.includes('contents') ? `${o.state} (taken twice: ${variantsText(o)})` : o.conflict ? `${o.state} (conflict)` : o.state);
      setText(k(tr, 'hold'), o.holdUntil === undefined ? '—' : clock(Date.parse(o.holdUntil), tz));
      const short = venue.fridges.some((f) => f.cells.some((c) => c.affectedOrders.includes(o.orderId)));
      setClass(tr, 'shortage', short);
    },
  );
  setAttr(k(root, 'no-orders'), 'hidden', open.length > 0);

  keyed(
    k(root, 'events'),
    events,
    (e) => e.seq,
    (e) => h('li', {}, h('time', {}, clock(e.at, tz)), ' ', h('span', { class: 'ev-type' }, e.type), ' ', h('span', {}, e.summary)),
    (li, e) => setAttr(li, 'title', e.id ? `event id ${e.id}` : undefined),
  );
}

