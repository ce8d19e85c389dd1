/** Latency histograms of a run: percentiles within 0.1% of the recorded values, constant memory, reset. */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/stats.ts';

describe('LatencyHistogram', () => {
  it('reports percentiles and the maximum of 1..1000 ms within 0.1%', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    expect(h.count).toBe(1000);
    for (const [q, want] of [[0.5, 500], [0.9, 900], [0.99, 990]] as const) {
      expect(Math.abs(h.quantile(q) - want) / want).toBeLessThanOrEqual(0.001);
    }
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(Math.abs(s.max - 1000) / 1000).toBeLessThanOrEqual(0.001);
  });

  it('keeps sub-millisecond latencies to the microsecond and long ones (an hour) in range', () => {
    const h = new LatencyHistogram();
    h.record(0.25);
    h.record(3_600_000);
    expect(h.quantile(0.5)).toBeCloseTo(0.25, 3);
    expect(Math.abs(h.quantile(1) - 3_600_000) / 3_600_000).toBeLessThanOrEqual(0.001);
  });

  it('is empty (all zero) before any record and after reset', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
    h.record(12);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });
});
