/**
 * Cross-package: a gateway whose clock is an hour off (real central, real gateway agent with an
 * injected clock, embedded broker, LevelDB, a fridge over MQTT). Holds are judged by the clock of
 * the replica that took each order: central's 10-minute order stays reserved whatever the gateway's
 * clock says, a 2-second kiosk order at the skewed gateway expires by the gateway's own clock, and
 * the skew measured at the sync handshake shows in the gateway's `/status`, in central's venue view
 * and in central's metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FRIDGE, MEALS, Stack, TOKENS, VENUE, waitFor } from '../e2e/helpers/stack.ts';

const HOUR = 3_600_000;

describe.each([
  ['+1 h', HOUR],
  ['−1 h', -HOUR],
])('a gateway whose clock is %s off', (_name, skew) => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

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
