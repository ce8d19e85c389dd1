import { describe, expect, it } from 'vitest';
import { runSnapshotLoad } from '../src/snapshot-load.ts';
import { startBroker } from './helpers.ts';
import { useTeardown } from '@fridgesync/shared/test-harness';
import { afterEach } from 'vitest';

const { defer } = useTeardown();

const fridges = Array.from({ length: 20 }, (_, i) => ({ fridgeId: `load-${i}`, secret: `s${i}` }));

describe('runSnapshotLoad', () => {
  it('holds the target rate and measures PUBACK latency', async () => {
    const broker = await startBroker(Object.fromEntries(fridges.map((f) => [f.fridgeId, f.secret])));
    defer(() => broker.close());
    let received = 0;
    broker.broker.on('publish', (packet, client) => {
      if (client && packet.topic.endsWith('/inventory')) received++;
    });
    const r = await runSnapshotLoad({ url: broker.url, fridges, ratePerSecond: 400, durationMs: 1_000 });
    expect(r.errors).toBe(0);
    expect(r.sent).toBeGreaterThan(340);
    expect(r.sent).toBeLessThanOrEqual(405);
    expect(r.acked).toBe(r.sent);
    expect(received).toBe(r.sent);
    expect(r.latencyMs.count).toBeGreaterThanOrEqual(r.sent);
  });

  it('never exceeds the window when the broker is slower than asked', async () => {
    const broker = await startBroker(Object.fromEntries(fridges.slice(0, 2).map((f) => [f.fridgeId, f.secret])));
    defer(() => broker.close());
    broker.setPubackDelay(30);
    const r = await runSnapshotLoad({ url: broker.url, fridges: fridges.slice(0, 2), ratePerSecond: 0, durationMs: 500, window: 3 });
    expect(r.windowPeak).toBe(3);
    expect(r.behind).toBeGreaterThan(0);
    expect(r.acked).toBe(r.sent);
    // 2 fridges × 3 in flight / 30 ms ≈ 200/s: far below "as fast as possible", bounded by the window.
    expect(r.ackedPerSecond).toBeLessThan(400);
  });
});
