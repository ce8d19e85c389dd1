/**
 * Live progress: in a terminal one status line rewritten in place; elsewhere (not a TTY, or
 * `CI=true`) a plain line every few seconds, so logs stay readable.
 */
import type { Writable } from 'node:stream';
import type { RunStats } from './stats.ts';

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  stats: RunStats;
  out: Writable & { isTTY?: boolean };
  /** Rewrite one line in place (true in a terminal unless CI). */
  tty: boolean;
  /** Period of updates, ms (default 500 in a terminal, 5,000 otherwise). */
  everyMs?: number;
  /** Extra text at the end of the line (e.g. fridges connected). */
  extra?: () => string;
}

/**
 * One status line from counter deltas over `secs`. Most important first (the terminal cuts the
 * tail of a line wider than the window): errors, then MQTT, then orders, then the world.
 */
export function statusLine(stats: RunStats, prev: Record<string, number>, secs: number, elapsedS: number, extra = ''): string {
  const c = stats.counters;
  const rate = (k: keyof typeof c) => ((c[k] - (prev[k] ?? 0)) / Math.max(secs, 0.001)).toFixed(1);
  const ms = (h: RunStats['recentOrder']) => `${fmt(h.quantile(0.5))}/${fmt(h.quantile(0.99))}ms`;
  return (
    `${elapsedS.toFixed(0)}s ${extra ? `${extra} ` : ''}err ${stats.errorCount()}` +
    ` | snap ${rate('inventoryPublished')}/s ack p50/p99 ${ms(stats.recentPublishAck)}` +
    ` | orders ${rate('ordersAttempted')}/s ok ${c.ordersConfirmed} sold-out ${c.ordersSoldOut} p50/p99 ${ms(stats.recentOrder)}` +
    ` | walk-ins ${c.walkIns} pickups ${c.pickups} deliveries ${c.deliveries}`
  );
}

function fmt(x: number): string {
  return x >= 10 ? x.toFixed(0) : x.toFixed(1);
}

/** Starts printing; returns a function that stops and clears the line. */
export function startProgress(o: ProgressOptions): () => void {
  const t0 = Date.now();
  let last = Date.now();
  let prev: Record<string, number> = { ...o.stats.counters };
  const tick = () => {
    const now = Date.now();
    const line = statusLine(o.stats, prev, (now - last) / 1_000, (now - t0) / 1_000, o.extra?.() ?? '');
    prev = { ...o.stats.counters };
    last = now;
    o.stats.recentPublishAck.reset();
    o.stats.recentOrder.reset();
    if (o.tty) {
      const cols = (o.out as { columns?: number }).columns ?? 160;
      o.out.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
    } else o.out.write(`${new Date(now).toISOString()} ${line}\n`);
  };
  const timer = setInterval(tick, o.everyMs ?? (o.tty ? 500 : 5_000));
  return () => {
    clearInterval(timer);
    if (o.tty) o.out.write('\r\x1b[2K');
  };
}
