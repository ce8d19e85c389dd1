/**
 * The sync endpoint with real sockets: authentication before the upgrade, a gateway-like client
 * that syncs and receives durable-acks, y-websocket's own WebsocketProvider as a read-only
 * subscriber, duplicate replicas, handshake limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import {
  DEFAULT_RIGHTS_POLICY,
  ORIGINS,
  VenueDoc,
  configRecord,
  gatewayReplicaId,
  observedSnapshot,
  recordSnapshot,
  reconcileFridge,
  retire,
  type FridgeId,
  type GatewayId,
  type MealId,
  type VenueId,
} from '@fridgesync/shared';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../helpers/gateway-client.ts';

let t: TestCentral;
const clients: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await t.close();
});

const g1 = gatewayReplicaId('g1' as GatewayId, 1);
const f1 = 'f1' as FridgeId;

function gateway(opts: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {}): GatewayClient {
  const c = new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: g1, ...opts });
  clients.push(c);
  return c;
}

/** HTTP status of a refused upgrade. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', reject);
  });
}

describe('authentication before the upgrade', () => {
  it('refuses missing or unknown tokens, foreign venues, unknown venues and other roles', async () => {
    t = await startCentral({ listen: true });
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1`)).toBe(401);
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1`, bearer('nope'))).toBe(401);
    expect(await upgradeStatus(`${t.wsUrl}/sync/v2`, bearer(TOKENS.gw1))).toBe(403);
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1`, bearer(TOKENS.app))).toBe(403);
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1`, bearer(TOKENS.kitchen))).toBe(403);
    expect(await upgradeStatus(`${t.wsUrl}/sync/nowhere`, bearer(TOKENS.viewer))).toBe(404);
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1?token=${TOKENS.viewer}`)).toBe(101);
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1`, bearer(TOKENS.gw1))).toBe(101);
  });

  it('limits connections per token', async () => {
    t = await startCentral({ listen: true, over: { sync: { maxConnectionsPerToken: 1 } } });
    const a = await gateway().ready();
    expect(await upgradeStatus(`${t.wsUrl}/sync/v1`, bearer(TOKENS.gw1))).toBe(429);
    await a.close();
    await waitFor(async () => (await upgradeStatus(`${t.wsUrl}/sync/v1`, bearer(TOKENS.gw1))) === 101, 3000, 'slot freed');
  });
});

describe('gateway session', () => {
  it('syncs, writes, and gets durable-acks; central folds the gateway writes', async () => {
    t = await startCentral({ listen: true });
    const c = await gateway().ready();
    expect(c.welcome).toMatchObject({ venueId: 'v1', instance: 'c1' });
    // The gateway received the seeded operator data.
    expect(configRecord(c.doc, 'fridge', 'f1')?.reconciler).toBe('g1');
    c.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 10 } as never }));
    reconcileFridge(c.doc, ORIGINS.reconciler, f1, DEFAULT_RIGHTS_POLICY, Date.now());
    await c.durable();
    expect(c.acks).toBeGreaterThan(0);
    const detail = await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) });
    const f = detail.json().fridges.find((x: { fridgeId: string }) => x.fridgeId === 'f1');
    expect(f.cells.find((x: { mealId: string }) => x.mealId === 'm1')).toMatchObject({ T: 10, S: 10, centralRights: 8 });
    expect(detail.json().gateways.find((g: { gatewayId: string }) => g.gatewayId === 'g1')).toMatchObject({ connected: true, replica: g1, pendingDurable: 0 });
    // An order at central reaches the gateway as a relayed update.
    const o = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'w-1', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
    expect(o.statusCode).toBe(201);
    await waitFor(() => c.doc.index.orders.has('w-1'), 3000, 'order relayed to the gateway');
  });

  it('a read-only join upgrades once to a replica on the same connection', async () => {
    t = await startCentral({ listen: true });
    const c = gateway({ replica: undefined, joining: true });
    await c.ready();
    expect(c.welcome).toBeDefined();
    c.hello(g1, false);
    const doc = c.doc;
    doc.replica = g1;
    doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 2 } as never }));
    await c.durable();
    expect(observedSnapshot(t.central.registry.peek('v1' as VenueId)!.doc, f1)?.i).toEqual({ m1: 2 });
  });

  it('allows one upgrade from a stale epoch to a later one, never back, never twice', async () => {
    t = await startCentral({ listen: true });
    // Joined once (central allocates epoch 1), then back with that epoch's hello at once.
    await (await gateway().ready()).close();
    const c = await gateway({ direct: true }).ready();
    const g2 = gatewayReplicaId('g1' as GatewayId, 2);
    c.hello(g2, false);
    c.doc.replica = g2;
    c.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 1 } as never }));
    await c.durable();
    expect(t.central.registry.peek('v1' as VenueId)!.replicaPeers.has(g2)).toBe(true);
    expect(t.central.registry.peek('v1' as VenueId)!.replicaPeers.has(g1)).toBe(false);
    c.hello(gatewayReplicaId('g1' as GatewayId, 3), false);
    expect(await c.closed).toBe(4403);
    const back = gateway({ replica: g2, direct: true });
    await back.ready();
    back.hello(g1, false);
    expect(await back.closed).toBe(4403);
  });

  it('refuses a second live connection for the same replica with 4409', async () => {
    t = await startCentral({ listen: true });
    await gateway().ready();
    const dup = gateway();
    expect(await dup.closed).toBe(4409);
  });

  it('terminates a socket that stops answering pings, so a fresh connection for the same replica is admitted', async () => {
    t = await startCentral({ listen: true, over: { sync: { pingIntervalMs: 300 } } });
    const silent = await gateway({ autoPong: false }).ready();
    // While it is within two missed pongs, it still holds the replica.
    const early = gateway();
    expect(await early.closed).toBe(4409);
    expect(await silent.closed).toBe(1006); // terminated: no close frame
    const fresh = await gateway().ready();
    expect(fresh.closeCode).toBeUndefined();
    // A peer that answers pings stays connected over many intervals.
    await new Promise((r) => setTimeout(r, 500));
    expect(fresh.closeCode).toBeUndefined();
    expect((await t.central.app.inject({ url: '/metrics' })).body).toMatch(/^fridgesync_sync_closes_total\{reason="PING_TIMEOUT"\} 1$/m);
  });

  it('refuses a replica of another gateway with 4403', async () => {
    t = await startCentral({ listen: true });
    const c = gateway({ replica: gatewayReplicaId('g2' as GatewayId, 1) });
    expect(await c.closed).toBe(4403);
  });

  it('refuses a retired replica with 4410', async () => {
    t = await startCentral({ listen: true });
    const h = t.central.registry.peek('v1' as VenueId)!;
    h.doc.transact(ORIGINS.lifecycle, (w) => retire(w, g1, Date.now()));
    expect(await gateway().closed).toBe(4410);
  });

  it('an operator retirement closes the live connection with 4410', async () => {
    t = await startCentral({ listen: true });
    const c = await gateway().ready();
    const r = await t.central.app.inject({ method: 'POST', url: `/v1/admin/venues/v1/replicas/${g1}/retire`, headers: bearer(TOKENS.admin) });
    expect(r.statusCode).toBe(200);
    expect(await c.closed).toBe(4410);
    expect(await gateway().closed).toBe(4410);
  });

  it('refuses client ids that already wrote for another replica with 4403', async () => {
    t = await startCentral({ listen: true });
    const a = await gateway().ready();
    a.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: {} }));
    await a.durable();
    await a.close();
    const clone = gateway({ replica: gatewayReplicaId('g1' as GatewayId, 2), doc: a.doc });
    expect(await clone.closed).toBe(4403);
  });

  it('closes a writer that does not say hello in time with 4408', async () => {
    t = await startCentral({ listen: true, over: { sync: { preAuthMs: 200 } } });
    const ws = new WebSocket(`${t.wsUrl}/sync/v1`, { headers: bearer(TOKENS.gw1) });
    const code = await new Promise<number>((r) => ws.on('close', (c) => r(c)));
    expect(code).toBe(4408);
  });
});

describe('y-websocket WebsocketProvider as a read-only subscriber', () => {
  it('receives the state and live updates', async () => {
    t = await startCentral({ listen: true });
    const viewer = new VenueDoc();
    const provider = new WebsocketProvider(`${t.wsUrl}/sync`, 'v1', viewer.ydoc, {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: TOKENS.viewer },
    });
    clients.push({ close: () => provider.destroy() });
    await waitFor(() => provider.synced, 5000, 'provider synced');
    expect(configRecord(viewer, 'venue', 'v1')?.name).toBe('Berlin HQ');
    const c = await gateway().ready();
    c.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 5, ts: new Date().toISOString(), items: { m1: 4 } as never }));
    await waitFor(() => observedSnapshot(viewer, f1)?.i['m1' as MealId] === 4, 5000, 'live snapshot at the viewer');
    // The provider stays connected (its own sync messages were accepted as read-only).
    expect(provider.wsconnected).toBe(true);
    const host = t.central.registry.peek('v1' as VenueId)!;
    expect(Y.encodeStateVector(viewer.ydoc)).toEqual(Y.encodeStateVector(host.doc.ydoc));
  });
});
