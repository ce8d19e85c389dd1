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

/** One status line from counter deltas over `secs`. */
export function statusLine(stats: RunStats, prev: Record<string, number>, secs: number, elapsedS: number): string {
  const c = stats.counters;
  const rate = (k: keyof typeof c) => ((c[k] - (prev[k] ?? 0)) / Math.max(secs, 0.001)).toFixed(1);
  const p = stats.recentPublishAck;
  const o = stats.recentOrder;
  return (
    `${elapsedS.toFixed(0)}s  snap ${rate('inventoryPublished')}/s ack p50 ${p.quantile(0.5).toFixed(1)} p99 ${p.quantile(0.99).toFixed(1)} ms` +
    `  orders ${rate('ordersAttempted')}/s ok ${c.ordersConfirmed} sold-out ${c.ordersSoldOut} p50 ${o.quantile(0.5).toFixed(0)} p99 ${o.quantile(0.99).toFixed(0)} ms` +
    `  walk-ins ${c.walkIns} pickups ${c.pickups} deliveries ${c.deliveries}  errors ${stats.errorCount()}`
  );
}

/** Starts printing; returns a function that stops and clears the line. */
export function startProgress(o: ProgressOptions): () => void {
  const t0 = Date.now();
  let last = Date.now();
  let prev: Record<string, number> = { ...o.stats.counters };
  const tick = () => {
    const now = Date.now();
    let line = statusLine(o.stats, prev, (now - last) / 1_000, (now - t0) / 1_000);
    if (o.extra) line += `  ${o.extra()}`;
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
