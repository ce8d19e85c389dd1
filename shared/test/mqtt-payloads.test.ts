/** The MQTT payload schemas (README "Contracts"): what a fridge may send. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InventoryPayloadSchema, MAX_MEALS_PER_MESSAGE, MAX_UNITS_PER_MEAL, MealIdSchema, PickupPayloadSchema, plainInventory } from '@fridgesync/shared';

const ts = '2026-11-21T09:00:00.000Z';

/** The plain zod definition the one-pass `items` check must agree with. */
const reference = (min: number) =>
  z
    .record(MealIdSchema, z.number().int().min(min).max(MAX_UNITS_PER_MEAL))
    .refine((r) => Object.keys(r).length <= MAX_MEALS_PER_MESSAGE)
    .refine((r) => min === 0 || Object.keys(r).length >= 1);

/** Meal ids and near misses, units and near misses, and non-objects. */
const key = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.constantFrom('', 'a b', 'a:b', 'x'.repeat(65), 'é', '__proto__', 'constructor', 'a/b', '#'), fc.string({ maxLength: 5 }));
const units = fc.oneof(fc.constantFrom(-1, 0, 1, 2, MAX_UNITS_PER_MEAL - 1, MAX_UNITS_PER_MEAL, MAX_UNITS_PER_MEAL + 1), fc.integer({ min: -2, max: MAX_UNITS_PER_MEAL + 2 }), fc.constantFrom(0.5, Number.NaN, Infinity, -0, '3', null, true, [], {}), fc.double());
const items = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(key, units, { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, [], [1], 'items', 5, Object.fromEntries(Array.from({ length: MAX_MEALS_PER_MESSAGE + 1 }, (_, i) => [`m${i}`, 1]))) },
);

describe('fridge payload schemas', () => {
  it('accept exactly the items the plain zod record accepts, with the same value', () => {
    fc.assert(
      fc.property(items, fc.boolean(), (it, pickup) => {
        // JSON round trip: the gateway only ever sees parsed JSON.
        const json = it === undefined ? undefined : (JSON.parse(JSON.stringify(it)) as unknown);
        const ours = pickup ? PickupPayloadSchema.safeParse({ boot: 1, seq: 1, ts, orderId: 'o1', items: json }) : InventoryPayloadSchema.safeParse({ boot: 1, seq: 1, ts, items: json });
        if (typeof json === 'object' && json !== null && Object.hasOwn(json, '__proto__')) {
          expect(ours.success).toBe(false);
          return;
        }
        const ref = reference(pickup ? 1 : 0).safeParse(json);
        expect(ours.success).toBe(ref.success);
        if (ours.success && ref.success) expect(ours.data.items).toEqual(ref.data);
      }),
      { numRuns: 3000 },
    );
  });

  it('report each bad meal at its own path', () => {
    const r = InventoryPayloadSchema.safeParse({ boot: 1, seq: 1, ts, items: { 'a b': 1, ok: 2, neg: -1, half: 0.5 } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['items.a b', 'items.neg', 'items.half']);
    expect(r.error!.issues[1]!.message).toBe(`must be an integer from 0 to ${MAX_UNITS_PER_MEAL}`);
    expect(PickupPayloadSchema.safeParse({ boot: 1, seq: 1, ts, orderId: 'o1', items: { m: 0 } }).error!.issues[0]!.message).toBe(`must be an integer from 1 to ${MAX_UNITS_PER_MEAL}`);
    expect(InventoryPayloadSchema.safeParse({ boot: 1, seq: 1, ts }).error!.issues[0]!.path).toEqual(['items']);
    // Parsed JSON can carry an own `__proto__` key; a plain record would drop that meal silently.
    expect(InventoryPayloadSchema.safeParse(JSON.parse(`{"boot":1,"seq":1,"ts":"${ts}","items":{"__proto__":3}}`)).error!.issues[0]!.message).toMatch(/reserved/);
  });

  it('accept a well-formed snapshot unchanged and refuse unknown fields', () => {
    const p = { boot: 2, seq: 7, ts, items: { m1: 3, m2: 0 } };
    expect(InventoryPayloadSchema.parse(p)).toEqual(p);
    expect(InventoryPayloadSchema.safeParse({ ...p, extra: 1 }).success).toBe(false);
    expect(InventoryPayloadSchema.safeParse({ ...p, seq: -1 }).success).toBe(false);
    expect(InventoryPayloadSchema.safeParse({ ...p, ts: 'yesterday' }).success).toBe(false);
  });

  it('take the plain path for a snapshot only when the schema accepts it, with the same value', () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    // Timestamps around the edges of the plain pattern and of ISO-8601.
    const time = fc.oneof(
      fc
        .record({
          y: fc.integer({ min: 0, max: 9999 }),
          mo: fc.integer({ min: 0, max: 13 }),
          d: fc.integer({ min: 0, max: 32 }),
          h: fc.integer({ min: 0, max: 24 }),
          mi: fc.integer({ min: 0, max: 60 }),
          s: fc.integer({ min: 0, max: 60 }),
          frac: fc.constantFrom('', '.', '.1', '.123', '.123456789', '.1234567890'),
          zone: fc.constantFrom('Z', 'z', '', '+00:00', '-05:30', '+24:00', '+0100', '+01'),
        })
        .map((t) => `${pad(t.y, 4)}-${pad(t.mo)}-${pad(t.d)}T${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}${t.frac}${t.zone}`),
      fc.constantFrom(ts, '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2026-11-21 09:00:00Z', '2026-11-21T09:00:00.000Z ', ''),
      fc.string({ maxLength: 30 }),
    );
    const counter = fc.oneof(fc.nat(), fc.constantFrom(-1, -0, 0.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Infinity, '1', null));
    const usualTime = fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString());
    const usualItems = fc.dictionary(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.integer({ min: 0, max: MAX_UNITS_PER_MEAL }), { maxKeys: 12 });
    const payload = fc.oneof(
      { weight: 6, arbitrary: fc.record({ boot: fc.nat(), seq: fc.nat(), ts: usualTime, items: usualItems }) },
      { weight: 6, arbitrary: fc.record({ boot: counter, seq: counter, ts: time, items }) },
      // Missing, extra and odd keys.
      fc.record({ boot: counter, seq: counter, ts: time, items }, { requiredKeys: [] }),
      fc.record({ boot: counter, seq: counter, ts: time, items, extra: fc.anything() }),
      fc.anything(),
    );
    let plainTaken = 0;
    fc.assert(
      fc.property(payload, (p) => {
        const json = p === undefined ? undefined : (JSON.parse(JSON.stringify(p) ?? 'null') as unknown);
        const plain = plainInventory(json);
        const schema = InventoryPayloadSchema.safeParse(json);
        if (plain === undefined) return;
        plainTaken++;
        expect(schema.success).toBe(true);
        expect(plain).toEqual(schema.data);
      }),
      { numRuns: 5000 },
    );
    // The plain path is the usual one: a snapshot as fridges send it takes it.
    expect(plainTaken).toBeGreaterThan(1000);
    const usual = JSON.parse(JSON.stringify({ boot: 1, seq: 9, ts: new Date(Date.UTC(2026, 10, 21, 9)).toISOString(), items: { m1: 3, m2: 0 } })) as unknown;
    expect(plainInventory(usual)).toBe(usual);
    // An own `__proto__` key (possible in parsed JSON) goes to the schema, which refuses it.
    expect(plainInventory(JSON.parse(`{"boot":1,"seq":1,"ts":"${ts}","items":{"__proto__":3}}`))).toBeUndefined();
    expect(plainInventory(JSON.parse(`{"boot":1,"seq":1,"ts":"${ts}","__proto__":{}}`))).toBeUndefined();
  });
});
