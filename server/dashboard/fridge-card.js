// One fridge: presence, last seen (venue time zone), temperature against its threshold, door,
// and per meal T, R, S, drift and shortage. Shared by the fleet and venue views.

import { h, setText, setAttr, setClass, keyed, flash } from './dom.js';
import { celsius } from './format.js';
import { isHot } from './model.js';

/** Creates the card skeleton for a fridge. */
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
      h('tbody', {}),
    ),
  );
  return el;
}

const q = (el, k) => el.querySelector(`[data-k="${k}"]`);

function createMealRow(fridgeId) {
  return (c) =>
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

/** Writes a number into a cell, flashing it when it changed (not on first render). */
function setNum(td, v) {
  const t = String(v);
  if (td.textContent === t) return;
  const first = td.textContent === '';
  td.textContent = t;
  if (!first) flash(td);
}

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

/** Updates a card in place from a normalised fridge and its venue's time zone. */
export function updateFridgeCard(el, f, tz) {
  // Same object, same zone: nothing changed (fridge objects are replaced on every change).
  if (el._fridge === f && el._tz === tz) return;
  el._fridge = f;
  el._tz = tz;
  setText(q(el, 'name'), f.name && f.name !== f.fridgeId ? `${f.name} (${f.fridgeId})` : f.fridgeId);
  const dot = q(el, 'dot');
  setClass(dot, 'on', f.online);
  setAttr(dot, 'aria-label', f.online ? 'online' : 'offline');
  const badge = q(el, 'online');
  setText(badge, f.online ? 'online' : 'offline');
  setClass(badge, 'bad', !f.online);
  setClass(el, 'offline', !f.online);
  const seen = q(el, 'seen');
  setAttr(seen, 'data-ago', f.lastSeen);
  setAttr(seen, 'data-tz', tz);
  const temp = q(el, 'temp');
  const hot = isHot(f);
  const warm = !hot && f.temperatureC !== undefined && f.maxTemperatureC !== undefined && f.temperatureC > f.maxTemperatureC - 1;
  setText(temp, f.temperatureC === undefined ? '—' : `${celsius(f.temperatureC)}${hot ? ' ▲' : ''}`);
  setAttr(temp, 'title', hot ? 'above the alarm threshold' : f.maxTemperatureC === undefined ? undefined : `threshold ${f.maxTemperatureC} °C`);
  setClass(temp, 'bad', hot);
  setClass(temp, 'warn', warm);
  const door = q(el, 'door');
  setText(door, f.door ?? '—');
  setClass(door, 'warn', f.door === 'open');
  setClass(el, 'has-shortage', f.cells.some((c) => c.shortage > 0));
  keyed(el.querySelector('tbody'), f.cells, (c) => c.mealId, createMealRow(f.fridgeId), updateMealRow);
}
