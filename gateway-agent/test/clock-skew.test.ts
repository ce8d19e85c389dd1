/**
 * The clock measurement against central: the offset is taken at the midpoint of hello → welcome,
 * shown in `/status` form with an alert beyond the threshold, exported as a metric, and turned into
 * the reconciler's judgement of each taker's clock.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { ReplicaId } from '@fridgesync/shared';
import { ClockSkew } from '../src/clock-skew.ts';
import { createMetrics } from '../src/metrics.ts';

const skew = (maxSkewMs = 30_000) => {
  const metrics = createMetrics();
  return { metrics, clock: new ClockSkew({ gatewayId: 'g1', maxSkewMs, unknownGraceMs: 7_200_000, logger: pino({ level: 'silent' }), metrics }) };
};

describe('ClockSkew', () => {
  it('measures central − gateway at the midpoint of the round trip', async () => {
    const { clock, metrics } = skew();
    expect(clock.status()).toMatchObject({ measured: false, offsetMs: null, alert: false });
    // Gateway an hour ahead: hello at 3 600 000, welcome 200 ms later, central read 100 in between.
    const m = clock.record(3_600_000, 3_600_200, 100);
    expect(m).toEqual({ offsetMs: -3_600_000, rttMs: 200, at: 3_600_200 });
    expect(clock.status()).toMatchObject({ measured: true, offsetMs: -3_600_000, rttMs: 200, alert: true, maxSkewMs: 30_000 });
    expect(await metrics.registry.getSingleMetricAsString('fridgesync_gateway_clock_offset_seconds')).toMatch(/ -3600$/m);
  });

  it('alerts only beyond the threshold', () => {
    const { clock } = skew(30_000);
    clock.record(1_000, 1_020, 21_010); // central 20 s ahead
    expect(clock.status()).toMatchObject({ offsetMs: 20_000, alert: false });
  });

  it('judges central by the measurement (margin: half the round trip and a drift allowance), its own epochs as itself, others as unknown', () => {
    const { clock } = skew();
    expect(clock.takerClocks().offsetOf!('central:c1' as ReplicaId)).toBeUndefined();
    clock.record(10_000, 10_400, 5_200);
    const t = clock.takerClocks();
    expect(t.offsetOf!('central:c1' as ReplicaId)).toBe(-5_000);
    expect(t.offsetOf!('central:c2' as ReplicaId)).toBe(-5_000);
    expect(t.marginMs).toBe(1_200);
    expect(t.offsetOf!('gw:g1:1' as ReplicaId)).toBe(0);
    expect(t.offsetOf!('gw:g2:1' as ReplicaId)).toBeUndefined();
    expect(t.unknownGraceMs).toBe(7_200_000);
  });
});
