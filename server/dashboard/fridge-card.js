// @ts-check
// One fridge: presence, last seen (venue time zone), temperature against its threshold, door,
// and per meal T, R, S, drift and shortage. Shared by the fleet and venue views.

import { h, setText, setAttr, setClass, keyed, flash, q } from './dom.js';
import { celsius } from './format.js';

/** @typedef {import('./types.js').FridgeJson} FridgeJson */
/** @typedef {import('./types.js').CellJson} CellJson */

/**
 * Creates the card skeleton for a fridge.
 * @param {FridgeJson} f
 */
export function createFridgeCard(f) {
  const el = h(
    'article',
    { class: 'fridge', 'data-fridge': f.fridgeId },
    h(
      'header',
      {},
      h('span', { class: 'dot', 'data-k': 'dot', role: 'img' }),
      h('h4', { 'data-k': 'name' }),
      h('span', { class: 'badge', 'data-k': 'online' }),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', {}, 'Last seen'), h('dd', { 'data-k': 'seen' })),
      h('div', {}, h('dt', {}, 'Temp'), h('dd', { 'data-k': 'temp' })),
      h('div', {}, h('dt', {}, 'Door'), h('dd', { 'data-k': 'door' })),
    ),
    h(
      'table',
      { class: 'meals' },
      h('caption', { class: 'sr-only' }, `Stock of fridge ${f.fridgeId}`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Meal'),
          h('th', { scope: 'col', title: 'Observed total T_eff: the last snapshot minus pickups since; the snapshot T in brackets when they differ' }, 'T'),
          h('th', { scope: 'col', title: 'Reserved by open orders' }, 'R'),
          h('th', { scope: 'col', title: 'Sellable (bounded counter)' }, 'S'),
          h('th', { scope: 'col', title: 'T_eff − (S + R): still to be corrected by the reconciler; "short n" when reserved meals are physically missing' }, 'Drift'),
        ),
      ),
      h('tbody', { 'data-k': 'tbody' }),
    ),
  );
  return el;
}

/** @param {string} fridgeId */
function createMealRow(fridgeId) {
  return (/** @type {CellJson} */ c) =>
    h(
      'tr',
      { 'data-cell': `${fridgeId}/${c.mealId}` },
      h('th', { scope: 'row', 'data-k': 'meal' }, c.mealId),
      h('td', { 'data-k': 'T' }),
      h('td', { 'data-k': 'R' }),
      h('td', { 'data-k': 'S' }),
      h('td', { 'data-k': 'drift' }),
    );
}

/**
 * Writes a number into a cell, flashing it when it changed (not on first render).
 * @param {Element} td
 * @param {string | number} v
 */
function setNum(td, v) {
  const t = String(v);
  if (td.textContent === t) return;
  const first = td.textContent === '';
  td.textContent = t;
  if (!first) flash(td);
}

/**
 * @param {Element} tr
 * @param {CellJson} c
 */
function updateMealRow(tr, c) {
  const teff = q(tr, 'T');
  // T_eff, with the snapshot's T beside it while pickups newer than the snapshot are pending.
  setNum(teff, c.Teff === c.T ? c.Teff : `${c.Teff} (${c.T})`);
  setAttr(teff, 'title', c.Teff !== c.T ? `snapshot ${c.T}, minus ${c.T - c.Teff} picked up since` : `snapshot ${c.T}`);
  setNum(q(tr, 'R'), c.R);
  setNum(q(tr, 'S'), c.S);
  const d = q(tr, 'drift');
  // In a shortage the drift is −shortage by construction (S is 0, R exceeds T_eff): say "short".
  const short = c.shortage > 0 && c.drift === -c.shortage;
  setNum(d, short ? `short ${c.shortage}` : c.shortage > 0 ? `${c.drift} · short ${c.shortage}` : c.drift > 0 ? `+${c.drift}` : c.drift);
  setClass(d, 'nonzero', c.drift !== 0 && !short);
  setClass(tr, 'shortage', c.shortage > 0);
  setAttr(tr, 'title', c.shortage > 0 ? `Shortage of ${c.shortage}: orders ${c.affectedOrders.join(', ')}` : undefined);
}

/** What each card last showed: a fridge object is replaced on every change, so the same one needs no work. */
const shown = new WeakMap();

/**
 * Updates a card in place from a fridge and its venue's time zone.
 * @param {Element} el
 * @param {FridgeJson} f
 * @param {string} tz
 */
export function updateFridgeCard(el, f, tz) {
  const last = shown.get(el);
  if (last?.f === f && last.tz === tz) return;
  shown.set(el, { f, tz });
  setText(q(el, 'name'), f.name && f.name !== f.fridgeId ? `${f.name} (${f.fridgeId})` : f.fridgeId);
  const dot = q(el, 'dot');
  setClass(dot, 'on', f.online);
  setAttr(dot, 'aria-label', f.online ? 'online' : 'offline');
  const badge = q(el, 'online');
  setText(badge, f.online ? 'online' : 'offline');
  setClass(badge, 'bad', !f.online);
  setClass(el, 'offline', !f.online);
  const seen = q(el, 'seen');
  setAttr(seen, 'data-ago', f.lastSeenAt === null ? undefined : Date.parse(f.lastSeenAt));
  setAttr(seen, 'data-tz', tz);
  const temp = q(el, 'temp');
  const hot = f.temperatureAlarm;
  // Within a degree of the threshold: a hint on screen, not an alarm (central raises those).
  const warm = !hot && f.temperatureC !== null && f.maxTemperatureC !== null && f.temperatureC > f.maxTemperatureC - 1;
  setText(temp, f.temperatureC === null ? '—' : `${celsius(f.temperatureC)}${hot ? ' ▲' : ''}`);
  setAttr(temp, 'title', hot ? 'above the alarm threshold' : f.maxTemperatureC === null ? undefined : `threshold ${f.maxTemperatureC} °C`);
  setClass(temp, 'bad', hot);
  setClass(temp, 'warn', warm);
  const door = q(el, 'door');
  setText(door, f.door ?? '—');
  setClass(door, 'warn', f.door === 'open');
  setClass(el, 'has-shortage', f.cells.some((c) => c.shortage > 0));
  keyed(q(el, 'tbody'), f.cells, (c) => c.mealId, createMealRow(f.fridgeId), updateMealRow);
}
