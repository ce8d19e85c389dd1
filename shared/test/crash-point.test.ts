import { describe, expect, it } from 'vitest';
import { CRASH_POINTS, armCrashPoint, crashPointArmed, parseCrashSpec } from '../src/crash-point.ts';

describe('crash point specs', () => {
  it('reads a point with and without a count', () => {
    expect(parseCrashSpec('after-puback')).toEqual({ point: 'after-puback', remaining: 1 });
    expect(parseCrashSpec('mid-sync:17')).toEqual({ point: 'mid-sync', remaining: 17 });
  });

  it('refuses an unknown point or a zero count, naming the known points', () => {
    expect(() => parseCrashSpec('after-pubak')).toThrow(Object.keys(CRASH_POINTS).join(', '));
    expect(() => parseCrashSpec('mid-sync:0')).toThrow('at least 1');
  });

  it('arms only the named point; unset disarms', () => {
    armCrashPoint('before-puback:3');
    expect(crashPointArmed('before-puback')).toBe(true);
    expect(crashPointArmed('after-puback')).toBe(false);
    armCrashPoint(undefined);
    expect(crashPointArmed('before-puback')).toBe(false);
  });
});
