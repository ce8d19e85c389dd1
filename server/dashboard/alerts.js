// @ts-check
// Alerts: the open problems of every venue, listed on the page and announced (new and resolved)
// in an ARIA live region so screen-reader users hear them without looking.

import { h, setText, setAttr, keyed } from './dom.js';
import { problemsOf } from './model.js';

/** @typedef {import('./model.js').Venue} Venue */
/** @typedef {import('./model.js').Problem} Problem */

/** Lines kept in the live region (screen readers only need the latest few). */
const LIVE_REGION_LINES = 5;

/**
 * Creates the alerts controller over the live region, the list and the header badge.
 * @param {{ live: HTMLElement, list: HTMLElement, badge: HTMLElement }} elements
 */
export function createAlerts({ live, list, badge }) {
  /** @type {Map<string, Problem>} */
  let open = new Map();
  let primed = false;

  /** @param {string} text */
  function announce(text) {
    live.append(h('p', {}, text));
    while (live.childElementCount > LIVE_REGION_LINES) live.firstElementChild?.remove();
  }

  /**
   * Recomputes alerts from `venues`; announces what appeared or cleared since the last call.
   * @param {Venue[]} venues
   */
  function refresh(venues) {
    /** @type {Map<string, Problem>} */
    const now = new Map();
    for (const v of venues) if (v.detail) for (const p of problemsOf(v.summary, v.detail)) now.set(p.key, p);
    if (primed) {
      for (const p of now.values()) if (!open.has(p.key)) announce(p.text);
      for (const p of open.values()) if (!now.has(p.key)) announce(`Resolved: ${p.text}`);
    } else if (now.size > 0) {
      // First load: one summary line rather than a burst of announcements.
      announce(`${now.size} alert${now.size === 1 ? '' : 's'} open`);
    }
    primed = true;
    open = now;
    keyed(list, [...now.values()], (p) => p.key, (p) => h('li', { class: p.level }), (li, p) => setText(li, p.text));
    if (list.parentElement) setAttr(list.parentElement, 'data-count', now.size);
    setText(badge, `${now.size} alert${now.size === 1 ? '' : 's'}`);
    badge.hidden = now.size === 0;
  }

  return { announce, refresh };
}
