import { describe, expect, it } from 'vitest';
import { commandFaultHooks, parseFaults } from '../src/faults.ts';
import { OrderBook } from '../src/order-book.ts';
import { OversellCheck } from '../src/oversell-check.ts';
import { Prng } from '../src/prng.ts';
import { RunStats } from '../src/stats.ts';
import { VenueFaults } from '../src/venue-faults.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

describe('fault settings', () => {
  it('parses the --faults grammar with defaults', () => {
    expect(parseFaults('')).toEqual({ duplicate: 0, reorder: 0, reboot: 0, forgetBoot: 0 });
    expect(parseFaults('duplicate,reorder=0.2,reboot')).toEqual({ duplicate: 0.05, reorder: 0.2, reboot: 0.01, forgetBoot: 0.25 });
    expect(parseFaults('forget-boot=1')).toMatchObject({ reboot: 0.01, forgetBoot: 1 });
    expect(parseFaults('link-cut=2m/30s,gateway-kill')).toMatchObject({ linkCut: { everyMs: 120_000, forMs: 30_000 }, gatewayKill: { everyMs: 90_000, forMs: 10_000 } });
    expect(() => parseFaults('link-cut=10s/20s')).toThrow(/less than its period/);
  });
});

describe('VenueFaults', () => {
  it('cuts venues in turn through the hooks, restores them, and opens windows in the oversell check', async () => {
    const calls: string[] = [];
    const stats = new RunStats();
    const check = new OversellCheck(new OrderBook(), { graceMs: 10 });
    check.stocked('f1', { m1: 1 });
    const timers: NodeJS.Timeout[] = [];
    let running = true;
    const faults = new VenueFaults({
      venues: ['v1', 'v2'],
      hooks: {
        cutLink: (v) => void calls.push(`cut ${v}`),
        restoreLink: async (v) => {
          calls.push(`restore ${v}`);
        },
        killGateway: () => {
          throw new Error('no such gateway');
        },
      },
      oversell: check, stats, prng: new Prng(3),
      later: (ms, fn) => void timers.push(setTimeout(fn, ms)),
      running: () => running,
    });
    faults.schedule('link-cut', { everyMs: 60, forMs: 30 });
    await waitFor(() => calls.length >= 4, 2_000, 'two cuts and restores');
    running = false;
    await faults.endAll();
    for (const t of timers) clearTimeout(t);
    expect(calls.slice(0, 4)).toEqual(calls[0] === 'cut v1' ? ['cut v1', 'restore v1', 'cut v2', 'restore v2'] : ['cut v2', 'restore v2', 'cut v1', 'restore v1']);
    expect(faults.events[0]!.endedAt).toBeDefined();
    // A hook that throws is counted, not fatal.
    await faults.begin('gateway-kill', 'v1', 1);
    await faults.endAll();
    expect(stats.counters.faultHookErrors).toBe(1);
    // While v1's link is cut, a walk-in there does not count against central.
    const end = check.venueFault('v1', Date.now());
    check.walkIn('f1', 'm1', 1, 1, Date.now());
    await new Promise((r) => setTimeout(r, 30));
    expect(check.bound('v1', 'f1', 'm1', Date.now()).settledWalkIns).toBe(0);
    end(Date.now());
    await new Promise((r) => setTimeout(r, 30));
    expect(check.bound('v1', 'f1', 'm1', Date.now()).settledWalkIns).toBe(1);
  });

  it('runs a --fault-hook command with the action and venue', async () => {
    const hooks = commandFaultHooks('test "$1" = link-cut && test "$2" = v7 && test "$FRIDGESYNC_VENUE" = v7 && echo', {});
    await expect(Promise.resolve(hooks.cutLink!('v7'))).resolves.toBeUndefined();
    await expect(Promise.resolve(hooks.restoreLink!('v7'))).rejects.toThrow(/link-restore v7" exited with 1/);
  });
});
