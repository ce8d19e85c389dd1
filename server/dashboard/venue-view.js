// Venue view: stock over time per fridge and meal (chart fed from the live feed), rights held by
// each replica, open orders, recent events, and the fridge cards.

import { h, setText, setAttr, setClass, keyed } from './dom.js';
import { clock } from './format.js';
import { drawStepChart, colorOf } from './chart.js';
import { createFridgeCard, updateFridgeCard } from './fridge-card.js';
import { createGateway, updateGatewayHeader, deliverySummary } from './fleet-view.js';
import { variantsText } from './model.js';

/** The chart's `<svg>` (SVG namespace; `h` makes HTML elements). */
function svgRoot() {
  const el = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  el.setAttribute('class', 'chart');
  el.setAttribute('data-k', 'chart');
  return el;
}

const METRICS = { S: 'Sellable (S)', Teff: 'Observed (T_eff)', R: 'Reserved (R)' };

/** Builds the static skeleton of the venue view once; `onParams` is called when a control changes. */
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
        h('label', {}, 'Fridge ', h('select', { 'data-k': 'fridge', onchange: (e) => onParams({ fridge: e.target.value }) })),
        h(
          'label',
          {},
          'Value ',
          h('select', { 'data-k': 'metric', onchange: (e) => onParams({ metric: e.target.value }) }, ...Object.entries(METRICS).map(([k, v]) => h('option', { value: k }, v))),
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

const k = (root, key) => root.querySelector(`[data-k="${key}"]`);

/** Updates the venue view in place. `events` are this venue's recent feed events, newest first. */
export function updateVenueView(root, venue, { params, history, events }) {
  const tz = venue.timezone;
  setText(k(root, 'title'), venue.name);
  setText(k(root, 'where'), `${venue.city} · ${tz ?? ''} · ${venue.venueId}`);
  deliverySummary(k(root, 'deliveries'), venue.deliveries);
  keyed(k(root, 'gateways'), venue.gateways, (g) => g.gatewayId, createGateway, updateGatewayHeader);

  // Chart controls.
  const fridgeSel = k(root, 'fridge');
  keyed(fridgeSel, venue.fridges, (f) => f.fridgeId, (f) => h('option', { value: f.fridgeId }), (el, f) => setText(el, f.fridgeId));
  const fridgeId = venue.fridges.some((f) => f.fridgeId === params.fridge) ? params.fridge : venue.fridges[0]?.fridgeId;
  if (fridgeId !== undefined && fridgeSel.value !== fridgeId) fridgeSel.value = fridgeId;
  const metric = METRICS[params.metric] ? params.metric : 'S';
  const metricSel = k(root, 'metric');
  if (metricSel.value !== metric) metricSel.value = metric;
  const fridge = venue.fridges.find((f) => f.fridgeId === fridgeId);
  const series = (fridge?.cells ?? []).map((c) => ({ name: c.mealId, points: history.points(`${venue.venueId}/${fridgeId}/${c.mealId}/${metric}`) }));
  const now = Date.now();
  // The window spans the history gathered since the page opened, at least one minute.
  let from = now - 60_000;
  for (const se of series) if (se.points[0]) from = Math.min(from, se.points[0][0]);
  drawStepChart(k(root, 'chart'), series, { from, to: now, timeZone: tz, title: `${METRICS[metric]} per meal in fridge ${fridgeId ?? ''}` });
  keyed(
    k(root, 'legend'),
    series.map((se, i) => ({ ...se, i })),
    (se) => se.name,
    () => h('li', {}, h('span', { class: 'swatch' }), h('span', { 'data-k': 'n' })),
    (li, se) => {
      li.querySelector('.swatch').style.background = colorOf(se.i);
      const last = se.points[se.points.length - 1];
      setText(li.querySelector('[data-k="n"]'), `${se.name}: ${last ? last[1] : '—'}`);
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
      const vals = [r.f, r.c.mealId, r.c.S, ...replicas.map((rep) => r.c.rights[rep] ?? 0)];
      keyed(tr, vals.map((v, i) => ({ i, v })), (x) => x.i, (x) => h(x.i < 2 ? 'th' : 'td', x.i < 2 ? { scope: 'row' } : {}), (td, x) => setText(td, x.v));
      setAttr(tr, 'data-rights', `${r.f}/${r.c.mealId}`);
    },
  );

  // Without an order list from central, the panel shows what the cells say: open orders per
  // fridge and the orders a shortage affects.
  const open = venue.ordersListed
    ? venue.orders.filter((o) => o.state === 'reserved')
    : venue.fridges.flatMap((f) => {
        const affected = [...new Set(f.cells.flatMap((c) => c.affectedOrders))];
        const rows = affected.map((id) => ({ orderId: id, fridgeId: f.fridgeId, items: f.cells.filter((c) => c.affectedOrders.includes(id)).map((c) => ({ mealId: c.mealId, qty: NaN })), state: 'reserved', conflict: f.conflicts.includes(id) }));
        const rest = f.openOrders - affected.length;
        if (rest > 0) rows.push({ key: `more:${f.fridgeId}`, orderId: `${rest}${affected.length ? ' more' : ''} open order${rest === 1 ? '' : 's'}`, fridgeId: f.fridgeId, items: [], state: 'reserved', conflict: false });
        return rows;
      });
  keyed(
    k(root, 'orders'),
    open,
    (o) => o.key ?? o.orderId,
    (o) => h('tr', o.key ? {} : { 'data-order': o.orderId }, h('th', { scope: 'row' }), h('td'), h('td'), h('td'), h('td')),
    (tr, o) => {
      setText(tr.querySelector('th'), o.orderId);
      const tds = tr.querySelectorAll('td');
      setText(tds[0], o.fridgeId);
      setText(tds[1], o.items.map((l) => (Number.isNaN(l.qty) ? l.mealId : `${l.qty} × ${l.mealId}`)).join(', '));
      setText(tds[2], o.conflicts?.includes('contents') ? `${o.state} (taken twice: ${variantsText(o)})` : o.conflict ? `${o.state} (conflict)` : o.state);
      setText(tds[3], o.holdUntil ? clock(o.holdUntil, tz) : '—');
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

