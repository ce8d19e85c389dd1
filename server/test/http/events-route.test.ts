/** `GET /v1/events` over a real socket: live events with ids, resume with Last-Event-ID, refetch. */
import { afterEach, describe, expect, it } from 'vitest';
import { LiveEventSchema, VenueDetailJsonSchema } from '@fridgesync/shared';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { REFRESH_INTERVAL_MS } from '../../src/read-model.ts';

let t: TestCentral;
afterEach(async () => t.close());

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** A minimal SSE reader over fetch. */
async function openStream(url: string, headers: Record<string, string>) {
  const ctrl = new AbortController();
  const res = await fetch(url, { headers, signal: ctrl.signal });
  const events: SseEvent[] = [];
  let buf = '';
  const reader = res.body!.getReader();
  void (async () => {
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const e: SseEvent = {};
          for (const line of block.split('\n')) {
            const m = /^(id|event|data): (.*)$/.exec(line);
            if (m) e[m[1] as keyof SseEvent] = m[2];
          }
          if (e.event !== undefined) events.push(e);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return { res, events, close: () => ctrl.abort() };
}

describe('GET /v1/events', () => {
  it('streams fridge events with ids and resumes after Last-Event-ID', async () => {
    t = await startCentral({ listen: true });
    const s = await openStream(`${t.url}/v1/events?venueId=v1`, bearer(TOKENS.viewer));
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/text\/event-stream/);
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3 });
    const first = await waitFor(() => s.events.find((e) => e.event === 'fridge'), 3000, 'fridge event');
    const data = LiveEventSchema.parse(JSON.parse(first.data!));
    expect(data).toMatchObject({ type: 'fridge', venueId: 'v1', fridge: { fridgeId: 'f1', cells: [{ mealId: 'm1', T: 3 }] }, totals: { T: 3 } });
    expect(first.id).toMatch(/^[0-9a-f]+-\d+$/);
    s.close();
    // Changes while disconnected are replayed on resume, in order.
    stockViaGateway(t.central, 'v1', 'f1', { m1: 5 }, { seq: 2 });
    const resumed = await openStream(`${t.url}/v1/events?venueId=v1`, { ...bearer(TOKENS.viewer), 'last-event-id': first.id! });
    const replay = await waitFor(() => resumed.events.find((e) => e.event === 'fridge' && JSON.parse(e.data!).fridge.cells[0].T === 5), 3000, 'replayed event');
    expect(Number(replay.id!.split('-')[1])).toBeGreaterThan(Number(first.id!.split('-')[1]));
    expect(resumed.events.some((e) => e.event === 'refetch')).toBe(false);
    resumed.close();
  });

  it('carries exactly the REST views: a fridge event equals the venue detail’s fridge and totals, an order and a delivery event theirs', async () => {
    t = await startCentral({ listen: true });
    const s = await openStream(`${t.url}/v1/events?venueId=v1`, bearer(TOKENS.viewer));
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3 });
    await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'ev-same', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: 'd-same', venueId: 'v1', fridgeId: 'f1', items: { m1: 4 } } })).statusCode).toBe(201);
    // The fridge reports: the delivery is observed (one short).
    stockViaGateway(t.central, 'v1', 'f1', { m1: 6 }, { seq: 2 });
    const parsed = () => s.events.map((e) => LiveEventSchema.parse(JSON.parse(e.data!)));
    await waitFor(() => parsed().some((e) => e.type === 'order') && parsed().some((e) => e.type === 'fridge' && e.fridge.fridgeId === 'f1' && e.fridge.cells[0]?.R === 1), 3000, 'order and fridge events');
    // Once quiet, the latest events hold what the REST view shows (polled: a fold may still follow).
    await waitFor(async () => {
      const events = parsed();
      const fridge = events.filter((e) => e.type === 'fridge' && e.fridge.fridgeId === 'f1').at(-1);
      const order = events.filter((e) => e.type === 'order').at(-1);
      const delivery = events.filter((e) => e.type === 'delivery').at(-1);
      const detail = VenueDetailJsonSchema.parse((await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json());
      expect(fridge?.type === 'fridge' && fridge.fridge).toEqual(detail.fridges.find((f) => f.fridgeId === 'f1'));
      expect(fridge?.type === 'fridge' && fridge.totals).toEqual(detail.totals);
      expect(order?.type === 'order' && order.order).toEqual(detail.orders.find((o) => o.orderId === 'ev-same'));
      expect(delivery?.type === 'delivery' && delivery.delivery).toEqual(detail.deliveries.find((d) => d.deliveryId === 'd-same'));
      expect(detail.deliveries[0]).toMatchObject({ status: 'observed', items: [{ mealId: 'm1', discrepancy: -1 }] });
      return true;
    }, 3000, 'live views equal to the REST views');
    // Every event on the stream is exactly a member of the union: nothing more, nothing less.
    for (const e of s.events) expect(LiveEventSchema.parse(JSON.parse(e.data!))).toEqual(JSON.parse(e.data!));
    s.close();
  });

  it('tells a client with an unknown or expired id to refetch', async () => {
    t = await startCentral({ listen: true, over: { events: { retainEvents: 10 } } });
    const stale = await openStream(`${t.url}/v1/events`, { ...bearer(TOKENS.viewer), 'last-event-id': 'deadbeef-3' });
    await waitFor(() => stale.events.find((e) => e.event === 'refetch'), 3000, 'refetch');
    stale.close();
    for (let i = 0; i < 30; i++) t.central.hub.publish({ type: 'venue', venueId: 'v1', venue: null });
    const old = `${t.central.hub.boot}-1`;
    const s = await openStream(`${t.url}/v1/events`, { ...bearer(TOKENS.viewer), 'last-event-id': old });
    await waitFor(() => s.events.find((e) => e.event === 'refetch'), 3000, 'refetch after the window');
    s.close();
  });

  it('publishes order transitions', async () => {
    t = await startCentral({ listen: true });
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3 });
    const s = await openStream(`${t.url}/v1/events?venueId=v1`, { authorization: `Bearer ${TOKENS.viewer}` });
    await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'ev-1', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
    // The feed reports the state the read model folds; an order taken and cancelled within one
    // fold would reach it as its last state only (server/README.md "Decisions").
    await waitFor(() => s.events.some((e) => e.event === 'order'), 3000, 'the reserved order');
    await t.central.app.inject({ method: 'POST', url: '/v1/orders/ev-1/cancel', headers: bearer(TOKENS.app) });
    await waitFor(() => s.events.filter((e) => e.event === 'order').length >= 2, 3000, 'order events');
    expect(s.events.filter((e) => e.event === 'order').map((e) => JSON.parse(e.data!).order.state)).toEqual(['reserved', 'cancelled']);
    s.close();
  });

  it('accepts the token as a query parameter (EventSource cannot set headers)', async () => {
    t = await startCentral({ listen: true });
    const s = await openStream(`${t.url}/v1/events?token=${TOKENS.viewer}`, {});
    expect(s.res.status).toBe(200);
    s.close();
  });

  it('requires a reader token', async () => {
    t = await startCentral();
    expect((await t.central.app.inject({ url: '/v1/events' })).statusCode).toBe(401);
    expect((await t.central.app.inject({ url: '/v1/events', headers: bearer(TOKENS.app) })).statusCode).toBe(403);
  });
});

describe('live fridge events under a stream of changes', () => {
  it('fold a busy fridge at most every REFRESH_INTERVAL_MS, end on its latest state, and publish an isolated change at once', async () => {
    t = await startCentral();
    const seen: Array<{ at: number; T: number }> = [];
    const off = t.central.hub.subscribe((e) => {
      if (e.data.type === 'fridge' && e.data.fridge.fridgeId === 'f1') seen.push({ at: performance.now(), T: e.data.fridge.cells[0]?.T ?? -1 });
    });
    const started = performance.now();
    for (let seq = 1; seq <= 20; seq++) {
      stockViaGateway(t.central, 'v1', 'f1', { m1: seq }, { seq });
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => seen.at(-1)?.T === 20, 3000, 'the latest state');
    const span = performance.now() - started;
    // 20 changes over `span` ms: at most one fold per interval, plus the first at once.
    expect(seen.length).toBeLessThanOrEqual(Math.ceil(span / REFRESH_INTERVAL_MS) + 1);
    expect(seen.length).toBeLessThan(20);
    await new Promise((r) => setTimeout(r, REFRESH_INTERVAL_MS + 50)); // quiet
    const before = seen.length;
    const at = performance.now();
    stockViaGateway(t.central, 'v1', 'f1', { m1: 4 }, { seq: 21 });
    const last = await waitFor(() => (seen.length > before ? seen.at(-1) : undefined), 3000, 'the isolated change');
    expect(last.T).toBe(4);
    expect(last.at - at).toBeLessThan(REFRESH_INTERVAL_MS);
    off();
  });

  it('caps open streams per token: 429 with the error body beyond events.maxStreamsPerToken, a slot freed when a stream closes', async () => {
    t = await startCentral({ listen: true, over: { events: { maxStreamsPerToken: 2 } } });
    const a = await openStream(`${t.url}/v1/events`, bearer(TOKENS.viewer));
    const b = await openStream(`${t.url}/v1/events`, bearer(TOKENS.viewer));
    expect([a.res.status, b.res.status]).toEqual([200, 200]);
    const refused = await fetch(`${t.url}/v1/events?token=${TOKENS.viewer}`);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', message: 'too many event streams for this token' });
    // Another token has slots of its own.
    const admin = await openStream(`${t.url}/v1/events`, bearer(TOKENS.admin));
    expect(admin.res.status).toBe(200);
    admin.close();
    // When a stream closes, its slot is free again.
    a.close();
    await waitFor(
      async () => {
        const c = await fetch(`${t.url}/v1/events`, { headers: bearer(TOKENS.viewer) });
        if (c.status !== 200) return undefined;
        await c.body?.cancel();
        return true;
      },
      3000,
      'a freed stream slot',
    );
    b.close();
  });
});
