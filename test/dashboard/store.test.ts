/**
 * The dashboard's store applies live events to central's views (server/dashboard/store.js): a
 * fridge, order, delivery or gateway event replaces exactly what it carries, a venue event asks for
 * the venue to be read again. Built from central's real answers, so the test and the page see one contract.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LiveEventSchema, VenueDetailJsonSchema, gatewayReplicaId, type GatewayId, type VenueLiveEvent } from '@fridgesync/shared';
import { GatewayClient } from '../../server/test/helpers/gateway-client.ts';
import { applyEvent } from '../../server/dashboard/store.js';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../../server/test/helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

let t: TestCentral;
afterEach(async () => t.close());

/** Central's venue detail of `v1`. */
async function read() {
  return VenueDetailJsonSchema.parse((await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json());
}

describe('dashboard store: live events on the venue detail', () => {
  it('a fridge, order and delivery event turn the detail read before them into the detail read after them', async () => {
    t = await startCentral();
    stockViaGateway(t.central, 'v1', 'f1', { m1: 4, m2: 2 });
    const before = await read();
    const events: VenueLiveEvent[] = [];
    t.central.hub.subscribe((e) => events.push(LiveEventSchema.parse(e.data) as VenueLiveEvent));
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'o-1', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } })).statusCode).toBe(201);
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: 'd-1', venueId: 'v1', fridgeId: 'f1', items: { m2: 3 } } })).statusCode).toBe(201);
    stockViaGateway(t.central, 'v1', 'f1', { m1: 4, m2: 5 }, { seq: 2 });
    await waitFor(() => events.some((e) => e.type === 'delivery' && e.delivery.status === 'observed'), 3000, 'the delivery observed');
    const after = await read();
    const { loaded, fridges, gateways, deliveries, orders, asOfEventId, ...summary } = before;
    let v = applyEvent({ summary, detail: before }, events[0]!);
    for (const e of events.slice(1)) v = v && applyEvent(v, e);
    // `asOfEventId` names the read; the gateways' replicas changed by writes made here in-process as
    // `gw:g1:1`, not over a sync link, so no `gateway` event tells of them (server/src/sync/gateway-feed.ts;
    // the next test has them over a real link). The rest is exactly what central answers now.
    expect({ ...v?.detail, gateways: [], asOfEventId: '' }).toEqual({ ...after, gateways: [], asOfEventId: '' });
    expect(v?.summary.totals).toEqual(after.totals);
  });

  it('gateway events turn the detail read before a gateway connected into the detail read after it disconnected', async () => {
    t = await startCentral({ listen: true });
    const before = await read();
    expect(before.gateways.find((g) => g.gatewayId === 'g1')).toMatchObject({ syncState: 'never-connected' });
    const events: VenueLiveEvent[] = [];
    t.central.hub.subscribe((e) => events.push(LiveEventSchema.parse(e.data) as VenueLiveEvent));
    const client = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1) }).ready();
    await client.durable();
    await client.close();
    await waitFor(() => events.some((e) => e.type === 'gateway' && e.gateway.syncState === 'disconnected'), 3000, 'the disconnect event');
    const after = await read();
    const { loaded, fridges, gateways, deliveries, orders, asOfEventId, ...summary } = before;
    let v = applyEvent({ summary, detail: before }, events[0]!);
    for (const e of events.slice(1)) v = v && applyEvent(v, e);
    // A disconnected gateway's lag grows with the clock (the time since its last message) without
    // an event; everything else is exactly what central answers now.
    const g1 = after.gateways.find((g) => g.gatewayId === 'g1')!;
    const shown = v?.detail?.gateways.find((g) => g.gatewayId === 'g1');
    expect(shown).toEqual({ ...g1, syncLagMs: shown?.syncLagMs });
    expect(shown).toMatchObject({ connected: false, syncState: 'disconnected', replica: 'gw:g1:1' });
    expect({ ...v?.detail, gateways: [], asOfEventId: '' }).toEqual({ ...after, gateways: [], asOfEventId: '' });
  });

  it('a venue event (configuration changed) means: read the venue again', async () => {
    t = await startCentral();
    const detail = await read();
    expect(applyEvent({ summary: detail, detail }, { type: 'venue', venueId: 'v1', venue: null })).toBeUndefined();
  });
});
