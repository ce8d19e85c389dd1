/**
 * Central admits a gateway replica only at an epoch it allocated (docs/sync-protocol.md, "Epoch
 * allocation"): a valid gateway token claiming an unused epoch is refused before it writes; a join
 * is allocated an epoch recorded durably in central's own structures; a join while the gateway's
 * live replica is connected is refused; replicas the document knew before allocation records
 * existed keep syncing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  DEFAULT_RIGHTS_POLICY,
  ORIGINS,
  VenueDoc,
  cellView,
  currentReconciler,
  encodeUpdate,
  epochAllocated,
  gatewayReplicaId,
  increment,
  nextEpoch,
  recordSnapshot,
  reconcileFridge,
  type FridgeId,
  type GatewayId,
  type MealId,
  type VenueId,
} from '@fridgesync/shared';
import { startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../helpers/gateway-client.ts';

const g1 = 'g1' as GatewayId;
const f1 = 'f1' as FridgeId;
const m1 = 'm1' as MealId;
const rep = (e: number) => gatewayReplicaId(g1, e);

let t: TestCentral | undefined;
const clients: GatewayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await t?.close();
  t = undefined;
});

function client(o: Partial<ConstructorParameters<typeof GatewayClient>[0]>): GatewayClient {
  const c = new GatewayClient({ wsUrl: t!.wsUrl, venue: 'v1', token: TOKENS.gw1, ...o });
  clients.push(c);
  return c;
}
const host = () => t!.central.registry.peek('v1' as VenueId)!;

/** The real gateway: joins (central allocates epoch 1), hears a snapshot of 6 and reconciles. */
async function realGateway(): Promise<GatewayClient> {
  const c = await client({ replica: rep(1) }).ready();
  c.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 6 } as never }));
  reconcileFridge(c.doc, ORIGINS.reconciler, f1, DEFAULT_RIGHTS_POLICY, Date.now());
  await c.durable();
  expect(cellView(host().doc, f1, m1).S).toBe(6);
  return c;
}

describe('epoch allocation', () => {
  it('refuses a hello claiming an unallocated epoch (gw:g1:9, no join) and its increment of 500; nothing applied', async () => {
    t = await startCentral({ listen: true });
    const real = await realGateway();
    const sv = Y.encodeStateVector(host().doc.ydoc);
    const forged = new VenueDoc({ replica: rep(9) });
    forged.transact(ORIGINS.reconciler, (w) => increment(w, f1, m1, 500));
    const thief = client({ replica: rep(9), direct: true, doc: forged });
    await thief.opened;
    thief.sendRaw(encodeUpdate(Y.encodeStateAsUpdate(forged.ydoc)));
    expect(await thief.closed).toBe(4411);
    expect(thief.closeReason).toMatch(/epoch 9 of gateway g1 was never allocated/);
    await new Promise((r) => setTimeout(r, 50));
    expect(Y.encodeStateVector(host().doc.ydoc)).toEqual(sv);
    expect(cellView(host().doc, f1, m1)).toMatchObject({ S: 6, T: 6 });
    expect(host().doc.index.replicaEntryCount.has(rep(9))).toBe(false);
    expect(currentReconciler(host().doc, f1)).toBe(rep(1));
    expect(real.closeCode).toBeUndefined();
  });

  it('records the epoch of a join in central’s own structures, durably (survives a restart)', async () => {
    t = await startCentral({ listen: true, level: true });
    const c = await client({ replica: rep(1) }).ready();
    expect(epochAllocated(host().doc, g1, 1)).toBe(true);
    expect(host().doc.get(host().doc.replica!, 'ep/g1/1')).toMatchObject({ at: expect.any(Number) });
    // The joiner sees the record, so its next join computes the next epoch.
    await waitFor(() => epochAllocated(c.doc, g1, 1), 2000, 'allocation relayed');
    await c.close();
    clients.length = 0;
    const dir = t.dir!;
    await t.central.close();
    t = await startCentral({ listen: true, level: true, dir });
    const again = await client({ replica: rep(1), direct: true }).ready();
    expect(again.welcomes).toBe(1);
    expect(epochAllocated(host().doc, g1, 1)).toBe(true);
    await again.close();
    await t.close();
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
    t = undefined;
  });

  it('refuses a join for a new epoch while the live replica of the gateway is connected', async () => {
    t = await startCentral({ listen: true });
    const real = await realGateway();
    const thief = client({ replica: rep(2) });
    expect(await thief.closed).toBe(4412);
    expect(thief.closeReason).toMatch(/connected as gw:g1:1/);
    expect(epochAllocated(host().doc, g1, 2)).toBe(false);
    expect(currentReconciler(host().doc, f1)).toBe(rep(1));
    expect(real.closeCode).toBeUndefined();
  });

  it('refuses an allocated but unused later epoch while the live replica is connected', async () => {
    t = await startCentral({ listen: true });
    await (await client({ replica: rep(1) }).ready()).close();
    // A join allocated epoch 2 and wrote nothing; epoch 1 comes back and is connected.
    await (await client({ replica: rep(2) }).ready()).close();
    expect(epochAllocated(host().doc, g1, 2)).toBe(true);
    const real = await client({ replica: rep(1), direct: true }).ready();
    const later = client({ replica: rep(2), direct: true });
    expect(await later.closed).toBe(4412);
    expect(real.closeCode).toBeUndefined();
  });

  it('allocates exactly the next epoch on a join: an epoch below it or one that skips ahead is refused', async () => {
    t = await startCentral({ listen: true });
    await (await client({ replica: rep(1) }).ready()).close();
    // Epoch 1 exists: a second joiner claiming it is admitted as epoch 1 (it is allocated), so a
    // join cannot be used to re-allocate; an unknown lower epoch cannot occur (1 is the lowest).
    // A stolen token may not take the largest epoch (the real gateway's next would not parse).
    for (const e of [5, 999_999_999_999_999]) {
      const skip = client({ replica: rep(e) });
      expect(await skip.closed).toBe(4411);
      expect(skip.closeReason).toMatch(/the next is 2/);
      expect(epochAllocated(host().doc, g1, e)).toBe(false);
    }
    expect(nextEpoch(host().doc, g1)).toBe(2);
    const next = await client({ replica: rep(2) }).ready();
    expect(epochAllocated(host().doc, g1, 2)).toBe(true);
    await next.close();
    const stale = client({ replica: rep(3), direct: true });
    expect(await stale.closed).toBe(4411);
  });

  it('an admin records an epoch central lost (restored from an older backup); the gateway is then admitted', async () => {
    t = await startCentral({ listen: true });
    const lost = client({ replica: rep(4), direct: true });
    expect(await lost.closed).toBe(4411);
    const viewer = await t.central.app.inject({ method: 'POST', url: '/v1/admin/venues/v1/gateways/g1/epochs/4', headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    expect(viewer.statusCode).toBe(403);
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/admin/venues/v1/gateways/g1/epochs/4', headers: { authorization: `Bearer ${TOKENS.admin}` } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ allocated: 'gw:g1:4', venueId: 'v1' });
    const back = await client({ replica: rep(4), direct: true }).ready();
    expect(back.welcomes).toBe(1);
  });

  it('admits a replica the document knew before allocation records existed', async () => {
    t = await startCentral({ listen: true });
    await t.central.registry.acquire('v1' as VenueId);
    // A deployment from before: gw:g1:1 wrote (stock), but no `ep/g1/1` record exists.
    stockViaGateway(t.central, 'v1', 'f1', { m1: 4 });
    expect(epochAllocated(host().doc, g1, 1)).toBe(false);
    const c = await client({ replica: rep(1), direct: true }).ready();
    expect(c.welcomes).toBe(1);
    expect(c.closeCode).toBeUndefined();
  });
});
