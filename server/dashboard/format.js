// @ts-check
// Formatting helpers: relative times in a venue's time zone, numbers, durations.

const clockFormats = new Map();

/** A cached `hh:mm:ss` formatter for an IANA time zone (falls back to the browser's zone). */
/** @param {string | undefined} timeZone */
function clockFormat(timeZone) {
  const key = timeZone ?? '';
  let f = clockFormats.get(key);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: timeZone || undefined });
    } catch {
      // An unknown zone name from the server must not break the page.
      f = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    }
    clockFormats.set(key, f);
  }
  return f;
}

/**
 * `hh:mm:ss` of epoch milliseconds in a time zone.
 * @param {number | undefined | null} ms
 * @param {string} [timeZone]
 */
export function clock(ms, timeZone) {
  return ms === undefined || ms === null || Number.isNaN(ms) ? '—' : clockFormat(timeZone).format(new Date(ms));
}

/** A short duration: `850 ms`, `12 s`, `4 min`, `3 h`, `2 d`. */
/** @param {number | undefined | null} ms */
export function duration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(a)} ms`;
  if (a < 60_000) return `${Math.floor(a / 1000)} s`;
  if (a < 3_600_000) return `${Math.floor(a / 60_000)} min`;
  if (a < 86_400_000) return `${Math.floor(a / 3_600_000)} h`;
  return `${Math.floor(a / 86_400_000)} d`;
}

/** `12 s ago` (or `just now`) relative to `now`. */
/**
 * @param {number | undefined | null} ms
 * @param {number} [now]
 */
export function ago(ms, now = Date.now()) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return 'never';
  const d = now - ms;
  return d < 1500 ? 'just now' : `${duration(d)} ago`;
}

/** Parses a timestamp that may be epoch ms, epoch s, or an ISO string; `undefined` when absent. */
/** @param {unknown} v */
export function toMs(v) {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t;
}

/** A temperature with one decimal and the unit. */
/** @param {unknown} v */
export function celsius(v) {
  return typeof v === 'number' ? `${v.toFixed(1)} °C` : '—';
}
