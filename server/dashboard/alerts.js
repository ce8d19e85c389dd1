// Alerts: the open problems of every venue, listed on the page and announced (new and resolved)
// in an ARIA live region so screen-reader users hear them without looking.

import { h, setText, setAttr, keyed } from './dom.js';
import { problemsOf } from './model.js';

/** Lines kept in the live region (screen readers only need the latest few). */
const LIVE_REGION_LINES = 5;

/** Creates the alerts controller over the live region, the list and the header badge. */
export function createAlerts({ live, list, badge }) {
  let open = new Map();
  let primed = false;

  function announce(text) {
    live.append(h('p', {}, text));
    while (live.childElementCount > LIVE_REGION_LINES) live.firstElementChild.remove();
  }

  /** Recomputes alerts from `venues`; announces what appeared or cleared since the last call. */
  function refresh(venues) {
    const now = new Map();
    for (const v of venues) if (v.fridges) for (const p of problemsOf(v)) now.set(p.key, p);
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
    setAttr(list.parentElement, 'data-count', now.size);
    setText(badge, `${now.size} alert${now.size === 1 ? '' : 's'}`);
    badge.hidden = now.size === 0;
  }

  return { announce, refresh };
}
