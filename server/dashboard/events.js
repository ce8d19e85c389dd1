// @ts-check
// Live feed: `GET /v1/events` (server-sent events) read through fetch streaming so the bearer
// token travels in a header rather than in the URL (EventSource cannot set headers). Reconnects
// with backoff and resumes with `Last-Event-ID`.

/** One server-sent event as parsed: its id, its `event:` name and its `data:` text. @typedef {{ id: string | undefined, type: string, data: string }} SseEvent */

/**
 * Parses an SSE byte stream into events (WHATWG HTML §9.2.6): `id`, `event`, `data` fields,
 * comments ignored, blank line dispatches.
 */
export class SseParser {
  /** @param {(ev: SseEvent) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    /** @type {string[]} */
    this.data = [];
    this.type = '';
    /** @type {string | undefined} */
    this.id = undefined;
  }
  reset() {
    this.data = [];
    this.type = '';
    this.id = undefined;
  }
  /** @param {string} text */
  push(text) {
    this.buf += text;
    let nl;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sepLen = this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1;
      // A lone trailing \r may be the first half of \r\n: wait for more input.
      if (this.buf[nl] === '\r' && nl + 1 === this.buf.length) break;
      this.buf = this.buf.slice(nl + sepLen);
      this.line(line);
    }
  }
  /** @param {string} line */
  line(line) {
    if (line === '') {
      if (this.data.length > 0 || this.id !== undefined) this.onEvent({ id: this.id, type: this.type || 'message', data: this.data.join('\n') });
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** Longest silence accepted on the feed, ms: three missed 15 s heartbeats. */
const WATCHDOG_MS = 45_000;

/**
 * Keeps a live connection to the event feed.
 * Callbacks: `onOpen()`, `onEvent({id, type, data})`, `onDown(error)`, `onAuthError(status)`.
 * Backoff grows from 250 ms to 5 s so a restarted central is picked up within seconds.
 * @param {string} url
 * @param {{ token: () => string, onOpen: () => void, onEvent: (ev: SseEvent) => void, onDown: (err: unknown) => void, onAuthError: (status: number) => void }} callbacks
 */
export function connectEvents(url, { token, onOpen, onEvent, onDown, onAuthError }) {
  /** @type {string | undefined} */
  let lastEventId;
  let stopped = false;
  /** @type {AbortController | undefined} */
  let ctrl;
  let delay = 250;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  async function run() {
    const abort = (ctrl = new AbortController());
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
    try {
      const res = await fetch(url, { headers, signal: abort.signal, cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        stopped = true;
        onAuthError(res.status);
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      delay = 250;
      onOpen();
      const parser = new SseParser((ev) => {
        if (ev.id !== undefined) lastEventId = ev.id;
        onEvent(ev);
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      // Central sends a heartbeat comment every 15 s; a silent stream for longer than
      // WATCHDOG_MS is a dead link (a half-open TCP connection never errors by itself).
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let watchdog;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => abort.abort(new Error('no heartbeat')), WATCHDOG_MS);
      };
      try {
        arm();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          arm();
          parser.push(value);
        }
      } finally {
        clearTimeout(watchdog);
      }
      throw new Error('stream ended');
    } catch (err) {
      if (stopped) return;
      onDown(err);
      timer = setTimeout(run, delay);
      delay = Math.min(5000, delay * 2);
    }
  }

  run();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      ctrl?.abort();
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
