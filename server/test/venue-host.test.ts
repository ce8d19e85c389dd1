/**
 * Durable before acknowledged (docs/sync-protocol.md step 6): with storage held back, a gateway's
 * update is neither acknowledged to it nor relayed to other peers; once the write completes, the
 * ack and the relay follow.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ORIGINS, gatewayReplicaId, recordStatus, type FridgeId, type GatewayId } from '@fridgesync/shared';
import { createMemoryStorage, type DocStorage } from '@fridgesync/server';
import { startCentral, TOKENS, type TestCentral } from './helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from './helpers/gateway-client.ts';

let t: TestCentral;
const open: GatewayClient[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  await t.close();
});

/** Memory storage whose appends wait while `held` is true. */
function gatedStorage() {
  const inner = createMemoryStorage();
  const gate = { held: false, waiting: [] as Array<() => void> };
  const storage: DocStorage = {
    ...inner,
    open: () => inner.open(),
    load: (v) => inner.load(v),
    compact: (v, m, p) => inner.compact(v, m, p),
    listVenues: () => inner.listVenues(),
    close: () => inner.close(),
    append: async (v, u) => {
      if (gate.held) await new Promise<void>((r) => gate.waiting.push(r));
      return inner.append(v, u);
    },
  };
  return {
    storage,
    hold: () => (gate.held = true),
    release: () => {
      gate.held = false;
      for (const r of gate.waiting.splice(0)) r();
    },
  };
}

describe('VenueHost persistence', () => {
  it('acknowledges and relays an update only after it is durable', async () => {
    const g = gatedStorage();
    t = await startCentral({ listen: true, deps: { storage: g.storage } });
    const gw = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1) }).ready();
    const viewer = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.viewer, noHello: true }).ready();
    open.push(gw, viewer);
    g.hold();
    const acksBefore = gw.acks;
    gw.doc.transact(ORIGINS.mqtt, (w) => recordStatus(w, 'f1' as FridgeId, { on: true, ts: 123 }));
    await new Promise((r) => setTimeout(r, 150));
    expect(gw.acks).toBe(acksBefore);
    expect(viewer.doc.index.status.get('f1')).toBeUndefined();
    const host = t.central.registry.peek('v1' as never)!;
    expect(host.pending).toBe(1);
    g.release();
    await gw.durable();
    await waitFor(() => viewer.doc.index.status.get('f1') !== undefined, 3000, 'relay after persist');
    expect(Y.getState(viewer.doc.ydoc.store, gw.doc.ydoc.clientID)).toBe(Y.getState(gw.doc.ydoc.store, gw.doc.ydoc.clientID));
  });

  it('a peer joining while an update is not yet durable receives it only once durable', async () => {
    const g = gatedStorage();
    t = await startCentral({ listen: true, deps: { storage: g.storage } });
    const gw = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1) }).ready();
    open.push(gw);
    g.hold();
    gw.doc.transact(ORIGINS.mqtt, (w) => recordStatus(w, 'f1' as FridgeId, { on: true, ts: 77 }));
    await waitFor(() => t.central.registry.peek('v1' as never)!.pending === 1, 3000, 'update pending');
    const late = new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.viewer, noHello: true });
    open.push(late);
    await late.opened;
    await new Promise((r) => setTimeout(r, 150));
    expect(late.synced).toBe(false);
    expect(late.doc.index.status.get('f1')).toBeUndefined();
    g.release();
    await late.ready();
    await waitFor(() => late.doc.index.status.get('f1') !== undefined, 3000, 'state after persist');
  });

  it('graceful shutdown closes sync sockets with 1001 after flushing', async () => {
    t = await startCentral({ listen: true });
    const gw = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1) }).ready();
    gw.doc.transact(ORIGINS.mqtt, (w) => recordStatus(w, 'f1' as FridgeId, { on: true, ts: 5 }));
    await gw.durable();
    const closing = t.central.close();
    expect(await gw.closed).toBe(1001);
    await closing;
  });
});
