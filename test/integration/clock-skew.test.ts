/**
 * Cross-package: a gateway whose clock is an hour off (real central and gateway on real sockets,
 * started in this process by their factories; the gateway with an injected wall clock, embedded
 * broker, LevelDB, a fridge over MQTT; the uplink through a relay the test can cut). Holds are
 * judged by the clock of the replica that took each order: central's 10-minute order stays reserved
 * whatever the gateway's clock says, central's 3-second order expires at the cut-off gateway about
 * 3 s after creation, a 2-second kiosk order at the skewed gateway expires by the gateway's own
 * clock, a step of the gateway's wall clock after the handshake changes none of it, and the skew
 * measured at the sync handshake shows in the gateway's `/status`, in central's venue view and in
 * central's metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FRIDGE, MEALS, Stack, TOKENS, VENUE } from '../e2e/helpers/stack.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { FaultProxy } from '../reliability/fault-proxy.ts';

const HOUR = 3_600_000;

/** Polls the gateway's kiosk API for an order's state until `until` holds; resolves to the time it did (ms). */
async function stateAt(kiosk: string, id: string, until: (state: string) => boolean, timeoutMs: number): Promise<number> {
  let seen = 0;
  await waitFor(
    async () => {
      const r = await fetch(`${kiosk}/v1/orders/${id}`);
      if (r.status !== 200) return false;
      seen = Date.now();
      return until(((await r.json()) as { state: string }).state);
    },
    timeoutMs,
    `${id} at the gateway`,
  );
  return seen;
}

describe.each([
  ['+1 h', HOUR],
  ['−1 h', -HOUR],
])('a gateway whose clock is %s off', (_name, skew) => {
  let stack: Stack | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await stack?.close();
    await proxy?.close();
    stack = undefined;
    proxy = undefined;
  });

  it('expires central’s 3-second order about 3 s after creation while the link is cut', async () => {
    stack = new Stack();
    await stack.startCentral();
    const s = stack;
    proxy = new FaultProxy(() => s.centralPort);
    await proxy.start();
    await stack.startGateway({ centralPort: proxy.port, now: () => Date.now() + skew, sweepIntervalMs: 100 });
    await stack.connectFridge();
    const meal = MEALS[0];
    await stack.snapshot({ [meal]: 20 });
    await waitFor(async () => ((await stack!.venue()).fridges[0]?.cells.find((c) => c.mealId === meal)?.centralRights ?? 0) >= 1, 15_000, 'central holds rights');
    const kiosk = `http://127.0.0.1:${stack.agent!.httpPort}`;

    const created = Date.now();
    expect((await stack.order('central-short', meal, 1, 3)).status).toBe(201);
    await stateAt(kiosk, 'central-short', (st) => st === 'reserved', 2_500);
    // Cut: central's own expiry cannot reach the gateway; the gateway judges the hold alone.
    proxy.cut();
    const expiredAt = await stateAt(kiosk, 'central-short', (st) => st === 'expired', 20_000);
    const after = expiredAt - created;
    // Central's clock as the gateway estimates it, plus the measurement's margin (about 1 s) and a
    // sweep: not before the hold, not hours off, not the 8 s of a fixed guess.
    expect(after).toBeGreaterThanOrEqual(3_000);
    expect(after).toBeLessThan(6_500);
  }, 60_000);

  it('a step of the gateway’s wall clock after the handshake does not expire central’s order early', async () => {
    stack = new Stack();
    await stack.startCentral();
    let wall = 0; // the gateway's wall clock starts right, then NTP steps it by the skew
    await stack.startGateway({ now: () => Date.now() + wall, sweepIntervalMs: 100 });
    await stack.connectFridge();
    const meal = MEALS[0];
    await stack.snapshot({ [meal]: 20 });
    await waitFor(async () => ((await stack!.venue()).fridges[0]?.cells.find((c) => c.mealId === meal)?.centralRights ?? 0) >= 1, 15_000, 'central holds rights');
    const kiosk = `http://127.0.0.1:${stack.agent!.httpPort}`;
    expect((await stack.order('central-long', meal, 1, 600)).status).toBe(201);
    await stateAt(kiosk, 'central-long', (st) => st === 'reserved', 10_000);
    await waitFor(async () => ((await (await fetch(`${kiosk}/status`)).json()) as { clockSkew: { measured: boolean } }).clockSkew.measured, 10_000, 'skew measured');
    wall = skew;
    // Through 30 sweeps central's 10-minute order stays reserved …
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      const st = ((await (await fetch(`${kiosk}/v1/orders/central-long`)).json()) as { state: string }).state;
      expect(st).toBe('reserved');
      await new Promise((r) => setTimeout(r, 100));
    }
    // … and /status shows the step (the estimate of central's clock did not move with it).
    const st = ((await (await fetch(`${kiosk}/status`)).json()) as { clockSkew: { offsetMs: number } }).clockSkew;
    expect(Math.abs(st.offsetMs + skew)).toBeLessThan(5_000);
  }, 60_000);

  it('central’s order keeps its hold, the kiosk order expires by the gateway’s clock, the skew is shown', async () => {
    stack = new Stack();
    await stack.startCentral();
    await stack.startGateway({ now: () => Date.now() + skew, sweepIntervalMs: 100 });
    await stack.connectFridge();
    const meal = MEALS[0];
    await stack.snapshot({ [meal]: 20, [MEALS[1]]: 4 });
    await waitFor(async () => ((await stack!.venue()).fridges[0]?.cells.find((c) => c.mealId === meal)?.centralRights ?? 0) >= 1, 15_000, 'central holds rights');

    const kiosk = `http://127.0.0.1:${stack.agent!.httpPort}`;
    const kioskOrder = async (id: string) => (await (await fetch(`${kiosk}/v1/orders/${id}`)).json()) as { state: string };
    const centralOrder = async (id: string) => (await (await fetch(`${stack!.centralUrl}/v1/orders/${id}`, { headers: { authorization: `Bearer ${TOKENS.app}` } })).json()) as { state: string };

    // Central's customer: a 10-minute hold in central's clock.
    expect((await stack.order('central-hold', meal)).status).toBe(201);
    await waitFor(async () => (await fetch(`${kiosk}/v1/orders/central-hold`)).status === 200, 10_000, 'the gateway has central’s order');
    // The kiosk's customer: a 2-second hold in the gateway's clock.
    const placed = Date.now();
    const k = await fetch(`${kiosk}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'kiosk-short', venueId: VENUE, fridgeId: FRIDGE, items: [{ mealId: meal, qty: 1 }], holdSeconds: 2 }),
    });
    expect(k.status).toBe(201);
    await waitFor(async () => (await kioskOrder('kiosk-short')).state === 'expired', 15_000, 'the kiosk order expires');
    expect(Date.now() - placed).toBeGreaterThanOrEqual(1_900);
    await waitFor(async () => (await centralOrder('kiosk-short')).state === 'expired', 10_000, 'central sees the kiosk order expired');
    // Meanwhile the gateway swept its holds every 100 ms: central's order is still reserved on both sides.
    expect((await kioskOrder('central-hold')).state).toBe('reserved');
    expect((await centralOrder('central-hold')).state).toBe('reserved');

    // The skew, measured at the handshake, is shown on both sides and in central's metrics.
    const status = (await (await fetch(`${kiosk}/status`)).json()) as { clockSkew: { measured: boolean; offsetMs: number; alert: boolean } };
    expect(status.clockSkew).toMatchObject({ measured: true, alert: true });
    expect(Math.abs(status.clockSkew.offsetMs + skew)).toBeLessThan(5_000);
    const detail = (await (await fetch(`${stack.centralUrl}/v1/venues/${VENUE}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).json()) as {
      gateways: Array<{ clockSkewMs: number | null; clockSkewAlert: boolean }>;
    };
    expect(detail.gateways[0]?.clockSkewAlert).toBe(true);
    expect(Math.abs(detail.gateways[0]!.clockSkewMs! - skew)).toBeLessThan(5_000);
    const metrics = await (await fetch(`${stack.centralUrl}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('fridgesync_gateway_clock_skew_seconds{'));
    expect(Math.abs(Number(line?.split(' ').pop()) - skew / 1000)).toBeLessThan(5);
  }, 60_000);
});
