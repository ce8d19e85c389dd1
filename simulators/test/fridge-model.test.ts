import { InventoryPayloadSchema, PickupPayloadSchema } from '@fridgesync/shared';
import { describe, expect, it } from 'vitest';
import { FridgeModel } from '../src/fridge-model.ts';

const now = new Date('2026-01-01T12:00:00.000Z');

describe('FridgeModel', () => {
  it('reports full totals that fall with walk-ins and rise with deliveries', () => {
    const f = new FridgeModel({ initial: { m01: 3, m02: 1 }, boot: 10 });
    expect(f.take('m01', 1)).toBe(1);
    expect(f.take('m02', 5)).toBe(1); // only what is there
    expect(f.take('m02', 1)).toBe(0);
    let s = InventoryPayloadSchema.parse(f.snapshot(now));
    expect(s.items).toEqual({ m01: 2, m02: 0 }); // zeros included: full totals
    expect([s.boot, s.seq]).toEqual([10, 1]);
    f.restock({ m02: 4, m03: 2 });
    s = InventoryPayloadSchema.parse(f.snapshot(now));
    expect(s.items).toEqual({ m01: 2, m02: 4, m03: 2 });
    expect(s.seq).toBe(2);
  });

  it('pickups take what is there, emit a valid event, and share the sequence with snapshots', () => {
    const f = new FridgeModel({ initial: { m01: 1, m02: 2 } });
    f.snapshot(now);
    const { payload, taken } = f.pickup('o-1', { m01: 2, m02: 1 }, now);
    expect(taken).toEqual({ m01: 1, m02: 1 });
    const p = PickupPayloadSchema.parse(payload);
    expect(p.items).toEqual({ m01: 1, m02: 1 });
    expect(p.seq).toBe(2);
    expect(f.totals()).toEqual({ m01: 0, m02: 1 });
    // Nothing left of the wanted meal: no event at all (pickup items must be > 0).
    expect(f.pickup('o-2', { m01: 1 }, now).payload).toBeUndefined();
    expect(f.snapshot(now).seq).toBe(3);
  });

  it('restarts the sequence on reboot; a forgetful firmware keeps its boot counter', () => {
    const f = new FridgeModel({ initial: { m01: 1 }, boot: 5 });
    f.snapshot(now);
    f.snapshot(now);
    f.reboot(false);
    expect([f.boot, f.snapshot(now).seq]).toEqual([6, 1]);
    f.snapshot(now);
    f.reboot(true);
    const s = f.snapshot(now);
    expect([s.boot, s.seq]).toEqual([6, 1]); // looks older than (6, 2): the case the gateway must handle
    expect([f.reboots, f.forgottenBoots]).toEqual([2, 1]);
  });

  it('rejects impossible stock', () => {
    expect(() => new FridgeModel({ initial: { m01: -1 } })).toThrow(RangeError);
    expect(() => new FridgeModel({ initial: { m01: 1 } }).restock({ m01: 1.5 })).toThrow(RangeError);
  });
});
