/**
 * The dashboard's store applies live events to central's views (server/dashboard/store.js): a
 * fridge, order or delivery event replaces exactly what it carries, a venue event asks for the venue
 * to be read again. Built from central's real answers, so the test and the page see one contract.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LiveEventSchema, VenueDetailJsonSchema, type VenueLiveEvent } from '@fridgesync/shared';
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
    // Gateway links are not on the feed, and `asOfEventId` names the read; the rest is exactly
    // what central answers now.
    expect({ ...v?.detail, gateways: [], asOfEventId: '' }).toEqual({ ...after, gateways: [], asOfEventId: '' });
    expect(v?.summary.totals).toEqual(after.totals);
  });

  it('a venue event (configuration changed) means: read the venue again', async () => {
    t = await startCentral();
    const detail = await read();
    expect(applyEvent({ summary: detail, detail }, { type: 'venue', venueId: 'v1', venue: null })).toBeUndefined();
  });
});
