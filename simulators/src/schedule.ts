/**
 * Durations and the kitchen schedule, as written on the command line.
 * Durations: `250ms`, `30s`, `5m`, `2h`, or a bare number of seconds (`1.5` = 1,500 ms).
 * Kitchen schedule: `off`; an interval (`10m`, `every:10m`); or times of day in the simulator's
 * local time zone (`06:00,14:30`).
 */

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a duration into milliseconds; throws a `RangeError` naming the bad input. */
export function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(s);
  if (!m) throw new RangeError(`"${s}" is not a duration (use e.g. 500ms, 30s, 5m, 2h)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

/** Formats milliseconds compactly (`1.5s`, `2m`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6_000) / 10}m`;
  return `${Math.round(ms / 360_000) / 10}h`;
}

/** When the kitchen restocks. */
export type KitchenSchedule =
  | { kind: 'off' }
  | { kind: 'every'; everyMs: number }
  /** Minutes after local midnight, sorted. */
  | { kind: 'daily'; minutes: number[] };

/** Parses `--kitchen-schedule`. */
export function parseKitchenSchedule(s: string): KitchenSchedule {
  const t = s.trim();
  if (t === 'off' || t === 'none') return { kind: 'off' };
  if (/^\d{1,2}:\d{2}(,\d{1,2}:\d{2})*$/.test(t)) {
    const minutes = t.split(',').map((hm) => {
      const [h, m] = hm.split(':').map(Number) as [number, number];
      if (h > 23 || m > 59) throw new RangeError(`"${hm}" is not a time of day`);
      return h * 60 + m;
    });
    return { kind: 'daily', minutes: [...new Set(minutes)].sort((a, b) => a - b) };
  }
  const everyMs = parseDuration(t.replace(/^every:/, ''));
  if (everyMs < 100) throw new RangeError(`kitchen interval ${t} is too short (at least 100ms)`);
  return { kind: 'every', everyMs };
}

/** Milliseconds from `now` until the kitchen's next run, or `undefined` when it never runs. */
export function msUntilNextRun(schedule: KitchenSchedule, now: Date): number | undefined {
  switch (schedule.kind) {
    case 'off':
      return undefined;
    case 'every':
      return schedule.everyMs;
    case 'daily': {
      const mins = now.getHours() * 60 + now.getMinutes() + now.getSeconds() / 60 + now.getMilliseconds() / 60_000;
      const next = schedule.minutes.find((m) => m > mins) ?? schedule.minutes[0]! + 24 * 60;
      return Math.round((next - mins) * 60_000);
    }
  }
}
