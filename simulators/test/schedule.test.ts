import { describe, expect, it } from 'vitest';
import { formatDuration, msUntilNextRun, parseDuration, parseKitchenSchedule } from '../src/schedule.ts';

describe('durations and the kitchen schedule', () => {
  it('parses durations with units, bare numbers as seconds', () => {
    expect([parseDuration('250ms'), parseDuration('30s'), parseDuration('5m'), parseDuration('2h'), parseDuration('1.5')]).toEqual([250, 30_000, 300_000, 7_200_000, 1_500]);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(() => parseDuration('-1s')).toThrow(RangeError);
    expect(formatDuration(90_000)).toBe('1.5m');
  });

  it('parses every kind of schedule', () => {
    expect(parseKitchenSchedule('off')).toEqual({ kind: 'off' });
    expect(parseKitchenSchedule('every:10m')).toEqual({ kind: 'every', everyMs: 600_000 });
    expect(parseKitchenSchedule('45s')).toEqual({ kind: 'every', everyMs: 45_000 });
    expect(parseKitchenSchedule('14:30,06:00,14:30')).toEqual({ kind: 'daily', minutes: [360, 870] });
    expect(() => parseKitchenSchedule('24:00')).toThrow(/not a time of day/);
    expect(() => parseKitchenSchedule('10ms')).toThrow(/too short/);
  });

  it('finds the next daily run, wrapping past midnight', () => {
    const s = parseKitchenSchedule('06:00,14:30');
    expect(msUntilNextRun(s, new Date(2026, 0, 1, 5, 59, 0))).toBe(60_000);
    expect(msUntilNextRun(s, new Date(2026, 0, 1, 14, 0, 0))).toBe(30 * 60_000);
    expect(msUntilNextRun(s, new Date(2026, 0, 1, 23, 0, 0))).toBe(7 * 3_600_000);
    expect(msUntilNextRun({ kind: 'off' }, new Date())).toBeUndefined();
  });
});
