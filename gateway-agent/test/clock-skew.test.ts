/**
 * The clock measurement against central: central's clock at the welcome's arrival is taken at the
 * midpoint of hello → welcome and carried forward by the monotonic clock (a wall-clock step after
 * the handshake changes nothing), shown in `/status` form with an alert beyond the threshold,
 * exported as a metric, and turned into the reconciler's judgement of each taker's clock with a
 * margin that grows with the measurement's age.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ORIGINS, VenueDoc, canonicalLines, keys, foldOrder, holdDue, type FridgeId, type MealId, type OrderId, type ReplicaId } from '@fridgesync/shared';
import { ClockSkew, DRIFT_MS_PER_HOUR } from '../src/clock-skew.ts';
import { createMetrics } from '../src/metrics.ts';

const HOUR = 3_600_000;

/** A ClockSkew on hand-driven wall and monotonic clocks. */
const skew = (maxSkewMs = 30_000) => {
  const metrics = createMetrics();
  const t = { wall: 0, mono: 0 };
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const clock = new ClockSkew({ gatewayId: 'g1', maxSkewMs, unknownGraceMs: 7_200_000, centralGraceMs: 600_000, logger, metrics, now: () => t.wall, mono: () => t.mono });
  return { metrics, clock, t, logs };
};

describe('ClockSkew', () => {
  it('measures central − gateway at the midpoint of the round trip', async () => {
    const { clock, metrics, t } = skew();
    expect(clock.status()).toMatchObject({ measured: false, offsetMs: null, alert: false });
    // Gateway an hour ahead: hello at mono 50, welcome at mono 250, central read 100 in between.
    t.wall = 3_600_200;
    const m = clock.record(50, 250, 100);
    expect(m).toMatchObject({ offsetMs: -3_600_000, rttMs: 200, at: 3_600_200, centralAt: 200, monoAt: 250 });
    t.mono = 250;
    expect(clock.status()).toMatchObject({ measured: true, offsetMs: -3_600_000, rttMs: 200, alert: true, maxSkewMs: 30_000 });
    expect(await metrics.registry.getSingleMetricAsString('fridgesync_gateway_clock_offset_seconds')).toMatch(/ -3600$/m);
  });

  it('alerts only beyond the threshold', () => {
    const { clock, t } = skew(30_000);
    t.wall = 1_020;
    clock.record(1_000, 1_020, 21_010); // central 20 s ahead
    t.mono = 1_020;
    expect(clock.status()).toMatchObject({ offsetMs: 20_000, alert: false });
  });

  it('judges central by the measurement (margin: half the round trip and jitter), its own epochs as itself, others as unknown', () => {
    const { clock, t } = skew();
    expect(clock.takerClocks().offsetOf!('central:c1' as ReplicaId)).toBeUndefined();
    t.wall = 10_400;
    t.mono = 400;
    clock.record(0, 400, 5_200);
    const c = clock.takerClocks();
    expect(c.offsetOf!('central:c1' as ReplicaId)).toBe(-5_000);
    expect(c.offsetOf!('central:c2' as ReplicaId)).toBe(-5_000);
    expect(c.marginMs).toBe(1_200);
    expect(c.offsetOf!('gw:g1:1' as ReplicaId)).toBe(0);
    expect(c.offsetOf!('gw:g2:1' as ReplicaId)).toBeUndefined();
    expect(c.unknownGraceMs).toBe(7_200_000);
  });

  it('a step of the gateway’s wall clock after the handshake does not move central’s estimated clock', () => {
    const { clock, t, logs } = skew();
    t.wall = 1_000_000;
    clock.record(0, 100, 1_000_000 - 50); // in step with central, 100 ms round trip
    // A minute later NTP steps the gateway's wall clock an hour forward.
    t.mono = 100 + 60_000;
    t.wall = 1_000_000 + 60_000 + HOUR;
    const central = clock.centralNow()!;
    expect(central.now).toBe(1_000_000 + 60_000);
    const c = clock.takerClocks();
    // What the reconciler compares a central hold with: the wall clock plus the offset.
    expect(t.wall + c.offsetOf!('central:c1' as ReplicaId)!).toBe(1_000_000 + 60_000);
    expect(clock.status()).toMatchObject({ offsetMs: -HOUR, alert: true });
    // The step is logged once as a skew warning, not at every sweep.
    clock.takerClocks();
    expect(logs.filter((l) => l.level === 40 && /skewed/.test(l.msg))).toHaveLength(1);
  });

  it('the margin grows with the measurement’s age', () => {
    const { clock, t } = skew();
    clock.record(0, 100, 0);
    t.mono = 100;
    const fresh = clock.takerClocks().marginMs!;
    t.mono = 100 + 10 * HOUR;
    expect(clock.takerClocks().marginMs! - fresh).toBe(10 * DRIFT_MS_PER_HOUR);
  });

  it('before the first measurement, central’s orders wait the central grace, other gateways’ the unknown-clock grace', () => {
    const { clock } = skew();
    const c = clock.takerClocks();
    expect(c.unknownGraceOf!('central:c1' as ReplicaId)).toBe(600_000);
    expect(c.unknownGraceOf!('gw:g2:1' as ReplicaId)).toBe(7_200_000);
    // A central order 15 min past its hold at a gateway restarted while cut off: due.
    const doc = new VenueDoc({ replica: 'central:c1' as ReplicaId });
    doc.transact(ORIGINS.api, (w) => w.set(keys.order('o1' as OrderId), { f: 'f1', s: 0, t: 0, l: canonicalLines([{ mealId: 'm1' as MealId, qty: 1 }]), h: 1_000_000, c: 0 }));
    const o = foldOrder(doc, 'o1' as OrderId)!;
    expect(o.fridge).toBe('f1' as FridgeId);
    expect(holdDue(doc, o, 'gw:g1:1' as ReplicaId, { ...c, now: 1_000_000 + 15 * 60_000 })).toBe(true);
    expect(holdDue(doc, o, 'gw:g1:1' as ReplicaId, { ...c, now: 1_000_000 + 5 * 60_000 })).toBe(false);
  });
});
