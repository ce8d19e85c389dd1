/**
 * Cross-package: the same order id taken with different contents on both sides of a cut uplink
 * (real central, real gateway agent with its kiosk API, embedded broker, LevelDB, a real fridge over
 * MQTT; the link cut by a relay while both keep running). After healing, both sides report a
 * contents conflict with both variants by taker (order API, event feed, venue view), `R` holds both
 * customers' units, nothing is handed out twice, neither customer's cancel nor the kiosk's unlock
 * nor a staff pickup settles the other customer's claim (ORDER_NEEDS_RESOLUTION), and an
 * operator's explicit resolution settles the id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fridgeCells, type FridgeId, type LiveEvent } from '@fridgesync/shared';
import { FRIDGE, MEALS, Stack, TOKENS, VENUE } from '../e2e/helpers/stack.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { FaultProxy } from '../reliability/fault-proxy.ts';

const ORDER = 'dup-diff';

interface OrderBody {
  state: string;
  conflict: boolean;
  conflicts?: string[];
  items: Array<{ mealId: string; qty: number }>;
  variants?: Array<{ takers: string[]; items: Array<{ mealId: string; qty: number }> }>;
}

describe('the same order id with different contents on both sides of a partition', () => {
  let stack: Stack | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await stack?.close();
    await proxy?.close();
    stack = undefined;
    proxy = undefined;
  });

  it('is reported as a contents conflict on both sides, R counts both customers, no customer settles the other’s claim, an operator resolves it', async () => {
    stack = new Stack();
    await stack.startCentral();
    const s = stack;
    proxy = new FaultProxy(() => s.centralPort);
    await proxy.start();
    await stack.startGateway({ centralPort: proxy.port });
    await stack.connectFridge();
    const meal = MEALS[0];
    await stack.snapshot({ [meal]: 20, [MEALS[1]]: 4 });
    const centralCell = async () => (await stack!.venue()).fridges.find((f) => f.fridgeId === FRIDGE)?.cells.find((c) => c.mealId === meal);
    const gatewayCell = () => fridgeCells(stack!.agent!.replica.doc, FRIDGE as FridgeId, [meal as never])[0]!;
    await waitFor(async () => ((await centralCell())?.centralRights ?? 0) >= 2 && gatewayCell().S === 20, 15_000, 'central holds rights for two');

    const events: LiveEvent[] = [];
    stack.central!.hub.subscribe((e) => events.push(e.data));
    proxy.cut();
    await waitFor(() => stack!.agent!.sync!.status().state !== 'synced', 10_000, 'the gateway notices the cut');

    const kiosk = `http://127.0.0.1:${stack.agent!.httpPort}`;
    const k = await fetch(`${kiosk}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: ORDER, venueId: VENUE, fridgeId: FRIDGE, items: [{ mealId: meal, qty: 1 }] }),
    });
    expect(k.status).toBe(201);
    const c = await stack.order(ORDER, meal, 2);
    expect(c.status).toBe(201);

    proxy.heal();
    const central = (path: string, init?: RequestInit) => fetch(`${stack!.centralUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKENS.app}`, ...init?.headers } });
    await waitFor(async () => ((await (await central(`/v1/orders/${ORDER}`)).json()) as OrderBody).conflicts?.includes('contents') === true, 20_000, 'central reports the conflict');
    await waitFor(async () => ((await (await fetch(`${kiosk}/v1/orders/${ORDER}`)).json()) as OrderBody).conflicts?.includes('contents') === true, 20_000, 'the kiosk reports the conflict');

    for (const body of [(await (await central(`/v1/orders/${ORDER}`)).json()) as OrderBody, (await (await fetch(`${kiosk}/v1/orders/${ORDER}`)).json()) as OrderBody]) {
      expect(body).toMatchObject({ state: 'reserved', conflict: true, conflicts: ['contents'] });
      const byTaker = Object.fromEntries((body.variants ?? []).map((v) => [v.takers.join(','), v.items]));
      expect(byTaker).toEqual({ 'central:c1': [{ mealId: meal, qty: 2 }], 'gw:gw-e2e:1': [{ mealId: meal, qty: 1 }] });
    }
    // Both customers' units are held: 20 on the shelf, 3 reserved, 17 sellable, no drift to "correct".
    await waitFor(async () => {
      const cc = await centralCell();
      const g = gatewayCell();
      return cc?.R === 3 && cc.S === 17 && g.R === 3 && g.S === 17 && g.drift === 0;
    }, 20_000, 'R = 3 and S = 17 on both sides');
    // The event feed said so, and the venue view lists the variants.
    expect(events.some((e) => e.type === 'order' && e.order.orderId === ORDER && e.order.conflicts?.includes('contents'))).toBe(true);
    const detail = (await (await fetch(`${stack.centralUrl}/v1/venues/${VENUE}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).json()) as {
      orders: Array<{ orderId: string; conflicts: string[]; variants?: unknown[] }>;
      fridges: Array<{ conflicts: string[] }>;
    };
    expect(detail.orders.find((o) => o.orderId === ORDER)).toMatchObject({ conflicts: ['contents'] });
    expect(detail.orders.find((o) => o.orderId === ORDER)?.variants).toHaveLength(2);
    expect(detail.fridges[0]?.conflicts).toContain(ORDER);

    // Either customer's retry is a replay, not a new reservation.
    expect((await stack.order(ORDER, meal, 1)).status).toBe(200);
    // Neither customer settles the other's claim: central's cancel, the kiosk's cancel and unlock,
    // and a staff pickup naming no customer are refused; both claims stay held.
    const refused = [
      await central(`/v1/orders/${ORDER}/cancel`, { method: 'POST' }),
      await fetch(`${kiosk}/v1/orders/${ORDER}/cancel`, { method: 'POST' }),
      await fetch(`${kiosk}/v1/orders/${ORDER}/unlock`, { method: 'POST' }),
      await fetch(`${stack.centralUrl}/v1/orders/${ORDER}/pickup`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.kitchen}` } }),
    ];
    for (const r of refused) expect({ status: r.status, code: ((await r.json()) as { code: string }).code }).toEqual({ status: 409, code: 'ORDER_NEEDS_RESOLUTION' });
    expect(((await (await central(`/v1/orders/${ORDER}`)).json()) as OrderBody).state).toBe('reserved');
    expect((await centralCell())?.R).toBe(3);
    // The customer app cannot resolve; an operator can, explicitly, for the whole id.
    const resolve = (token: string) =>
      fetch(`${stack!.centralUrl}/v1/orders/${ORDER}/resolve`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ outcome: 'cancelled' }) });
    expect((await resolve(TOKENS.app)).status).toBe(403);
    const resolved = await resolve(TOKENS.admin);
    expect(resolved.status).toBe(200);
    expect(((await resolved.json()) as OrderBody).state).toBe('cancelled');
    await waitFor(async () => {
      const cc = await centralCell();
      const g = gatewayCell();
      return cc?.R === 0 && cc.S === 20 && g.R === 0 && g.S === 20;
    }, 20_000, 'R = 0 and S = 20 after the resolution');
  }, 90_000);
});
