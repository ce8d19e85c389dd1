import { describe, expect, it } from 'vitest';
import { FridgeIdSchema, type FridgeId } from '@fridgesync/shared';
import { FridgePresence } from '../src/fridge-presence.ts';

const F1 = FridgeIdSchema.parse('f1');
const TS = '2026-01-01T00:00:00.000Z';

function presence() {
  const online: FridgeId[] = [];
  return { p: new FridgePresence({ minIntervalMs: 1_000, onOnline: (f) => online.push(f) }), online };
}

describe('fridge presence', () => {
  it('writes a change at once and the same presence again only after the interval', () => {
    const { p, online } = presence();
    expect(p.status(F1, { online: true, ts: TS }, 0)).toMatchObject({ on: true });
    expect(p.status(F1, { online: true, ts: TS }, 500)).toBeUndefined();
    expect(p.status(F1, { online: true, ts: TS, door: 'open' }, 600)).toMatchObject({ door: 'open' });
    // The door a status leaves out is the one last heard.
    expect(p.status(F1, { online: true, ts: TS }, 700)).toBeUndefined();
    expect(p.status(F1, { online: true, ts: TS, firmware: '2.0' }, 800), 'a firmware version is always written').toBeDefined();
    expect(p.telemetry(F1, 'open', 900)).toBe(false);
    expect(p.telemetry(F1, 'open', 1_900)).toBe(true);
    expect(p.telemetry(F1, 'closed', 1_901)).toBe(true);
    expect(online).toEqual([F1]);
  });

  it('counts a fridge as coming online when first heard, after offline, after forget, and after a status that was not stored', () => {
    const { p, online } = presence();
    expect(p.telemetry(F1, 'closed', 0)).toBe(true);
    expect(p.status(F1, { online: false, ts: TS }, 10)).toBeDefined();
    expect(p.status(F1, { online: true, ts: TS }, 20)).toBeDefined();
    p.forget();
    const seen = p.status(F1, { online: true, ts: TS }, 30)!;
    p.notWritten(F1, seen);
    expect(p.status(F1, { online: true, ts: TS }, 40)).toBeDefined();
    expect(online).toEqual([F1, F1, F1, F1]);
  });
});
