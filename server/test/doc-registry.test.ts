/**
 * Document lifecycle: served only after load, failed loads write nothing (both failure paths: the
 * store refuses to load, and the stored bytes are damaged), idle unload flushes and a reload keeps
 * every write, storage failure is fatal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { FridgesyncError, ORIGINS, VenueDoc, configRecord, gatewayReplicaId, keys, type FridgeId, type GatewayId, type TxOrigin, type VenueId } from '@fridgesync/shared';
import { createMemoryStorage, type DocStorage } from '@fridgesync/server';
import { bearer, keepOpen, startCentral, stockViaGateway, TOKENS, type TestCentral } from './helpers/central.ts';

/** A storage double whose load or append can be made to fail; counts appends. */
function failingStorage(inner: DocStorage, mode: { load?: boolean; append?: boolean }) {
  const calls = { appends: 0, compacts: 0 };
  const s: DocStorage = {
    open: () => inner.open(),
    append: async (v, u) => {
      calls.appends++;
      if (mode.append) throw new Error('disk full');
      return inner.append(v, u);
    },
    load: async (v) => {
      if (mode.load) throw new Error('I/O error');
      return inner.load(v);
    },
    compact: async (v, m, p) => {
      calls.compacts++;
      return inner.compact(v, m, p);
    },
    getMeta: (n) => inner.getMeta(n),
    putMeta: (n, v) => inner.putMeta(n, v),
    listVenues: () => inner.listVenues(),
    close: () => inner.close(),
  };
  return { storage: s, calls, mode };
}

let t: TestCentral | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('document lifecycle', () => {
  it('a load error serves nothing and writes nothing; the next use loads again', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    // Prior state: venue v1 already holds data (seeded by an earlier run).
    const first = await startCentral({ deps: { storage: keepOpen(inner) } });
    const before = (await inner.load('v1' as VenueId)).updates.length;
    await first.close();
    const f = failingStorage(inner, { load: true });
    t = await startCentral({ deps: { storage: f.storage } });
    expect(t.central.registry.peek('v1' as VenueId)).toBeUndefined();
    expect(f.calls.appends).toBe(0);
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: 'd1', venueId: 'v1', fridgeId: 'f1', items: { m1: 1 } } });
    expect(r.statusCode).toBe(503); // known venue, document not loaded: nothing was written
    expect(r.json().code).toBe('NOT_READY');
    expect((await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json().code).toBe('NOT_READY');
    await expect(t.central.registry.acquire('v1' as VenueId)).rejects.toBeInstanceOf(FridgesyncError);
    expect(f.calls.appends).toBe(0);
    expect((await inner.load('v1' as VenueId)).updates.length).toBe(before);
    f.mode.load = false;
    const host = await t.central.registry.acquire('v1' as VenueId);
    expect(configRecord(host.doc, 'venue', 'v1')?.name).toBe('Berlin HQ');
  });

  it('damaged stored bytes fail the load without overwriting them', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    const garbage = Uint8Array.from([1, 2, 3, 250, 251, 252, 7]);
    await inner.append('v1' as VenueId, garbage);
    const f = failingStorage(inner, {});
    t = await startCentral({ deps: { storage: f.storage } });
    expect(t.central.registry.peek('v1' as VenueId)).toBeUndefined();
    const stored = await inner.load('v1' as VenueId);
    expect(stored.updates).toHaveLength(1);
    expect([...stored.updates[0]!]).toEqual([...garbage]);
    // The healthy venue is served.
    expect(t.central.registry.peek('v2' as VenueId)).toBeDefined();
    const ready = await t.central.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  });

  it('a websocket to a venue that cannot load is closed with 4500', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    await inner.append('v1' as VenueId, Uint8Array.from([9, 9, 9]));
    t = await startCentral({ listen: true, deps: { storage: inner } });
    const { GatewayClient } = await import('./helpers/gateway-client.ts');
    const c = new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.viewer, noHello: true });
    expect(await c.closed).toBe(4500);
  });

  it('idle documents are flushed and unloaded; a reload has every write', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    t = await startCentral({ deps: { storage: inner }, over: { documents: { idleUnloadMs: 1000 } } });
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: 'd1', venueId: 'v1', fridgeId: 'f1', items: { m1: 3 } } });
    expect(r.statusCode).toBe(201);
    const n = await t.central.registry.sweepIdle(Date.now() + 5000);
    expect(n).toBe(2);
    expect(t.central.registry.peek('v1' as VenueId)).toBeUndefined();
    // The read model still answers while unloaded.
    const list = await t.central.app.inject({ url: '/v1/kitchen/deliveries?venueId=v1', headers: bearer(TOKENS.kitchen) });
    expect(list.json().deliveries).toHaveLength(1);
    const host = await t.central.registry.acquire('v1' as VenueId);
    expect(host.doc.index.deliveries.has('d1')).toBe(true);
  });

  it('compacts a long log into one update that loads to the same state', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    const f = failingStorage(inner, {});
    t = await startCentral({ deps: { storage: f.storage }, over: { storage: { engine: 'memory', compactEvery: 5 } } });
    for (let i = 0; i < 12; i++) {
      const r = await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: `d${i}`, venueId: 'v1', fridgeId: 'f1', items: { m1: 1 } } });
      expect(r.statusCode).toBe(201);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(f.calls.compacts).toBeGreaterThan(0);
    const stored = await inner.load('v1' as VenueId);
    expect(stored.updates.length).toBeLessThan(8);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.mergeUpdates(stored.updates));
    const host = t.central.registry.peek('v1' as VenueId)!;
    expect(Y.encodeStateVector(copy)).toEqual(Y.encodeStateVector(host.doc.ydoc));
  });

  it('a failed synced write is fatal: no acknowledgement, readyz fails, onFatal is called', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    const f = failingStorage(inner, {});
    let fatal: Error | undefined;
    t = await startCentral({ deps: { storage: f.storage, onFatal: (e) => (fatal = e) } });
    f.mode.append = true;
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/kitchen/deliveries', headers: bearer(TOKENS.kitchen), payload: { deliveryId: 'dx', venueId: 'v1', fridgeId: 'f1', items: { m1: 1 } } });
    expect(r.statusCode).toBe(503);
    expect(r.json().code).toBe('STORAGE_FAILED');
    expect(fatal?.message).toBe('disk full');
    expect((await t.central.app.inject({ url: '/readyz' })).statusCode).toBe(503);
  });
});

describe('document observers', () => {
  it('each observer hears a load first, then every transaction with its typed origin; one that throws does not silence the others', async () => {
    t = await startCentral();
    const heard: string[] = [];
    const named = (o: TxOrigin | undefined) => (o === undefined ? 'untagged' : `${o.kind}${o.peer === undefined ? '' : `/${o.peer}`}`);
    t.central.registry.observe({
      loaded: (host) => heard.push(`loaded ${host.venueId}`),
      changed: () => {
        throw new Error('observer bug');
      },
    });
    t.central.registry.observe({ changed: (host, change, origin) => heard.push(`${host.venueId} ${named(origin)}${change.config ? ' config' : ''}`) });
    // Observers apply to documents loaded from now on.
    await t.central.registry.unload('v1' as VenueId);
    const host = await t.central.registry.acquire('v1' as VenueId);
    expect(heard).toEqual(['loaded v1']);
    const admin = await t.central.app.inject({ method: 'PUT', url: '/v1/admin/meals/m7', headers: bearer(TOKENS.admin), payload: { name: 'Soup', priceCents: 400 } });
    expect(admin.statusCode).toBeLessThan(300);
    stockViaGateway(t.central, 'v1', 'f1', { m1: 2 });
    // A transaction with no fridgesync origin is still reported, as untagged.
    const other = new VenueDoc({ replica: gatewayReplicaId('g1' as GatewayId, 1) });
    other.applyUpdate(Y.encodeStateAsUpdate(host.doc.ydoc), ORIGINS.upstream);
    const sv = Y.encodeStateVector(other.ydoc);
    other.transact(ORIGINS.mqtt, (w) => w.set(keys.status('f1' as FridgeId), { on: true, ts: Date.now() }));
    Y.applyUpdate(host.doc.ydoc, Y.encodeStateAsUpdate(other.ydoc, sv), 'not-an-origin');
    expect(heard).toEqual(['loaded v1', 'v1 api config', 'v1 upstream/test-gateway', 'v1 untagged']);
  });
});
