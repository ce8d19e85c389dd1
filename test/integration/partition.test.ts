/**
 * Cross-package: a real central and a real gateway agent (embedded broker, LevelDB) with an MQTT
 * fridge. The venue's link to central goes down; the fridge keeps reporting, the kiosk and central
 * both keep selling from their own rights; central comes back on the same data and port; both
 * sides converge to identical folds with `S = max(0, T_eff − R)`, and no more units were reserved
 * than the fridge held.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fridgeCells, type FridgeId } from '@fridgesync/shared';
import { AGENT_VERSION } from '@fridgesync/gateway-agent';
import { FRIDGE, MEALS, Stack, TOKENS, VENUE } from '../e2e/helpers/stack.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

const kioskOrder = async (stack: Stack, orderId: string, mealId: string, qty = 1) =>
  fetch(`http://127.0.0.1:${stack.agent!.httpPort}/v1/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId, venueId: VENUE, fridgeId: FRIDGE, items: [{ mealId, qty }], holdSeconds: 600 }),
  });

type Cell = { mealId: string; T: number; Teff?: number; R: number; S: number; drift?: number };

async function centralCells(stack: Stack): Promise<Map<string, Cell>> {
  const v = await stack.venue();
  return new Map((v.fridges.find((f) => f.fridgeId === FRIDGE)?.cells ?? []).map((c) => [c.mealId, c as Cell]));
}

function gatewayCells(stack: Stack): Map<string, Cell> {
  return new Map(fridgeCells(stack.agent!.replica.doc, FRIDGE as FridgeId).map((c) => [c.meal as string, { mealId: c.meal, T: c.T, Teff: c.Teff, R: c.R, S: c.S, drift: c.drift }]));
}

describe('gateway and central across a partition', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('both sides sell offline within their rights and converge when the link returns', async () => {
    stack = new Stack();
    await stack.startCentral();
    await stack.startGateway();
    await stack.connectFridge();
    const meal = MEALS[0];
    await stack.snapshot({ [meal]: 20, [MEALS[1]]: 4 });
    // The reconciler counts the stock in and grants central its share.
    await waitFor(async () => (await centralCells(stack!)).get(meal)?.S === 20, 10_000, 'central sees S = 20');
    await waitFor(async () => ((await centralCells(stack!)).get(meal) as { centralRights?: number } | undefined)?.centralRights !== 0, 10_000, 'central holds rights');

    await stack.stopCentral();
    // Offline: a walk-in takes one (the fridge reports 19), the kiosk sells from the gateway's rights.
    await stack.snapshot({ [meal]: 19, [MEALS[1]]: 4 });
    // Acknowledged means durable; the document has it within storage.snapshotFoldMs.
    await waitFor(() => gatewayCells(stack!).get(meal)?.T === 19, 5_000, 'gateway sees T = 19');
    let kioskOk = 0;
    for (let i = 0; i < 6; i++) {
      const r = await kioskOrder(stack, `kiosk-${i}`, meal);
      if (r.status === 201) kioskOk++;
      else expect(r.status).toBe(409);
    }
    expect(kioskOk).toBeGreaterThan(0);
    const offline = gatewayCells(stack).get(meal)!;
    expect(offline.T).toBe(19);
    expect(offline.R).toBe(kioskOk);

    // Central comes back on the same data and port and sells from its own rights too.
    await stack.startCentral();
    let centralOk = 0;
    for (let i = 0; i < 25; i++) {
      const r = await stack.order(`app-${i}`, meal);
      if (r.status === 201) centralOk++;
      else expect(r.status).toBe(409);
    }
    expect(centralOk).toBeGreaterThan(0);
    // Converged: identical folds on both sides, S = max(0, Teff − R), nothing oversold.
    await waitFor(
      async () => {
        const c = await centralCells(stack!);
        const g = gatewayCells(stack!);
        const cm = c.get(meal);
        const gm = g.get(meal);
        return cm !== undefined && gm !== undefined && cm.T === gm.T && cm.R === gm.R && cm.S === gm.S && gm.drift === 0 && gm.R === kioskOk + centralOk;
      },
      20_000,
      'central and gateway folds converge',
    );
    const g = gatewayCells(stack).get(meal)!;
    expect(g.T).toBe(19);
    expect(g.S).toBe(Math.max(0, g.Teff! - g.R));
    expect(kioskOk + centralOk).toBeLessThanOrEqual(19);
    // The gateway's version reaches central (through its replica's meta entry).
    const detail = (await (await fetch(`${stack.centralUrl}/v1/venues/${VENUE}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } })).json()) as {
      gateways: Array<{ version: string | null; connected: boolean }>;
      orders: Array<{ orderId: string; fridgeId: string; state: string; items: Array<{ mealId: string; qty: number }> }>;
    };
    expect(detail.gateways[0]).toMatchObject({ version: AGENT_VERSION, connected: true });
    // The open orders of both sides are listed, each with its lines.
    expect(detail.orders.length).toBe(kioskOk + centralOk);
    expect(detail.orders.every((o) => o.state === 'reserved' && o.fridgeId === FRIDGE && o.items[0]?.qty === 1)).toBe(true);
    const c = await centralCells(stack);
    for (const m of MEALS) expect({ T: c.get(m)?.T, R: c.get(m)?.R, S: c.get(m)?.S }).toEqual({ T: gatewayCells(stack).get(m)?.T, R: gatewayCells(stack).get(m)?.R, S: gatewayCells(stack).get(m)?.S });
  });
});
