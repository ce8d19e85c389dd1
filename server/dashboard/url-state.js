// @ts-check
// The view and its filters live in the URL hash (`#/?q=…&city=…&problems=1`,
// `#/venue/<id>?fridge=…&metric=…`) so a link or a reload shows the same thing.

/** Parses `location.hash` into `{view, venueId, params}`. */
/**
 * @param {string} [hash]
 * @returns {{ view: 'venue', venueId: string, params: URLSearchParams } | { view: 'fleet', venueId: undefined, params: URLSearchParams }}
 */
export function readRoute(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const m = /^\/venue\/([^/]+)$/.exec(path ?? '/');
  if (m) return { view: 'venue', venueId: decodeURIComponent(m[1] ?? ''), params };
  return { view: 'fleet', venueId: undefined, params };
}

/** Builds a hash for a view with params; empty values are dropped. */
/**
 * @param {'fleet' | 'venue'} view
 * @param {string | undefined} venueId
 * @param {Record<string, string | boolean | undefined>} [params]
 */
export function routeHash(view, venueId, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '' && v !== false) q.set(k, v === true ? '1' : String(v));
  const qs = q.toString();
  const path = view === 'venue' ? `/venue/${encodeURIComponent(venueId ?? '')}` : '/';
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/** Replaces the current hash without adding a history entry (typing in a filter). */
/**
 * @param {'fleet' | 'venue'} view
 * @param {string | undefined} venueId
 * @param {Record<string, string | boolean | undefined>} params
 */
export function replaceRoute(view, venueId, params) {
  const h = routeHash(view, venueId, params);
  if (location.hash !== h) history.replaceState(null, '', h);
}
