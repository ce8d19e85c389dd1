/**
 * `gateway` events (sync/gateway-feed.ts) from a real central and a real sync socket: the event
 * carries the venue detail's gateway view, at once on connect and disconnect, and a burst of
 * updates makes at most one event a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES, LiveEventSchema, ORIGINS, encodeUpdate, VenueDetailJsonSchema, gatewayReplicaId, recordSnapshot, type FridgeId, type GatewayId, type GatewayJson } from '@fridgesync/shared';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../helpers/gateway-client.ts';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';
import { MIN_INTERVAL_MS } from '../../src/sync/gateway-feed.ts';

let t: TestCentral;
let client: GatewayClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await t.close();
});

/** Every `gateway` event of g1 central publishes, with its publish time (ms), parsed as the feed's union. */
function recordGatewayEvents(): Array<{ at: number; gateway: GatewayJson }> {
  const out: Array<{ at: number; gateway: GatewayJson }> = [];
  t.central.hub.subscribe((e) => {
    const data = LiveEventSchema.parse(JSON.parse(JSON.stringify(e.data)));
    if (data.type === 'gateway' && data.venueId === 'v1' && data.gateway.gatewayId === 'g1') out.push({ at: Date.now(), gateway: data.gateway });
  });
  return out;
}

async function restGateway(): Promise<GatewayJson> {
  const detail = VenueDetailJsonSchema.parse((await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json());
  return detail.gateways.find((g) => g.gatewayId === 'g1')!;
}

function connect(): GatewayClient {
  return new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1), helloExtra: () => ({ now: Date.now() }) });
}

describe('gateway events', () => {
  it('publish the REST gateway view when a gateway connects, and again at once when it disconnects', async () => {
    t = await startCentral({ listen: true });
    const events = recordGatewayEvents();
    client = await connect().ready();
    // A gateway joins read-only, then moves its connection to its new replica: both at once.
    const connected = await waitFor(() => events.find((e) => e.gateway.connected && e.gateway.replica !== null), 3000, 'the connect event');
    expect(connected.at - events[0]!.at).toBeLessThan(MIN_INTERVAL_MS);
    expect(connected.gateway).toMatchObject({ gatewayId: 'g1', connected: true, replica: 'gw:g1:1', clockSkewAlert: false });
    // The hello's clock measurement rides along with the connect.
    expect(connected.gateway.clockSkewMs).not.toBeNull();
    client.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, 'f1' as FridgeId, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 3 } as never }));
    await client.durable();
    // Once the updates are durable the view is the one of the connect event, apart from the times
    // of the last message and durable write (they move with every message and publish nothing).
    await waitFor(async () => {
      const rest = await restGateway();
      const last = events.at(-1)!.gateway;
      expect(rest).toEqual({ ...last, lastMessageAt: rest.lastMessageAt, lastDurableAckAt: rest.lastDurableAckAt });
      expect(rest).toMatchObject({ connected: true, syncState: 'synced', syncLagMs: 0, pendingDurable: 0 });
      return true;
    }, 3000, 'the REST view as the last event');

    const before = events.length;
    const closedAt = Date.now();
    await client.close();
    client = undefined;
    const gone = await waitFor(() => events.slice(before).find((e) => !e.gateway.connected), 3000, 'the disconnect event');
    // At once, not after the rate limit.
    expect(gone.at - closedAt).toBeLessThan(MIN_INTERVAL_MS);
    expect(gone.gateway).toMatchObject({ connected: false, syncState: 'disconnected' });
    // After it nothing moves but the lag, which is the time since the last message.
    const rest = await restGateway();
    expect(rest).toEqual({ ...gone.gateway, syncLagMs: rest.syncLagMs });
    expect(rest.syncLagMs).toBeGreaterThanOrEqual(gone.gateway.syncLagMs!);
    expect(rest.syncLagMs! - (Date.now() - Date.parse(rest.lastMessageAt!))).toBeLessThanOrEqual(0);
  });

  it('publish at once when central refuses a connected gateway (an update it rejects closes the link)', async () => {
    t = await startCentral({ listen: true });
    const events = recordGatewayEvents();
    client = await connect().ready();
    await waitFor(() => events.find((e) => e.gateway.connected && e.gateway.replica !== null), 3000, 'the connect event');
    const before = events.length;
    const refusedAt = Date.now();
    client.sendRaw(encodeUpdate(Uint8Array.from([1, 2, 3, 4, 5, 6])));
    expect(await client.closed).toBe(CLOSE_CODES.UPDATE_REJECTED);
    const gone = await waitFor(() => events.slice(before).find((e) => !e.gateway.connected), 3000, 'the disconnect event');
    expect(gone.at - refusedAt).toBeLessThan(MIN_INTERVAL_MS);
    expect(gone.gateway).toMatchObject({ connected: false, syncState: 'disconnected', replica: 'gw:g1:1' });
  });

  it('publish a burst of updates at most once a second, and nothing more once it settled', async () => {
    t = await startCentral({ listen: true });
    const events = recordGatewayEvents();
    client = await connect().ready();
    await waitFor(() => events.find((e) => e.gateway.connected), 3000, 'the connect event');
    const started = Date.now();
    const before = events.length;
    for (let seq = 1; seq <= 40; seq++) {
      client.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, 'f1' as FridgeId, { boot: 1, seq, ts: new Date().toISOString(), items: { m1: seq } as never }));
      await new Promise((r) => setTimeout(r, 10));
    }
    await client.durable();
    // Quiet for two intervals: whatever the burst published has been published.
    await new Promise((r) => setTimeout(r, 2 * MIN_INTERVAL_MS + 200));
    const burst = events.slice(before);
    const span = Date.now() - started;
    expect(burst.length).toBeLessThanOrEqual(Math.ceil(span / MIN_INTERVAL_MS));
    for (let i = 1; i < burst.length; i++) expect(burst[i]!.at - burst[i - 1]!.at).toBeGreaterThanOrEqual(MIN_INTERVAL_MS - 20);
    // The last event says what the REST view says: connected, synced, nothing pending.
    const rest = await restGateway();
    const last = events.at(-1)!.gateway;
    expect(last).toMatchObject({ connected: true, syncState: 'synced', pendingDurable: 0, syncLagMs: 0 });
    expect(rest).toEqual({ ...last, lastMessageAt: rest.lastMessageAt, lastDurableAckAt: rest.lastDurableAckAt });
    // Nothing changed: no event while the gateway is quiet.
    const n = events.length;
    await new Promise((r) => setTimeout(r, MIN_INTERVAL_MS + 200));
    expect(events.length).toBe(n);
  });
});
