import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MemoryStore } from '../src/memory-store.ts';
import { connectFridge, fridgeHashes, inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { centralDoc, writeFridgeConfig } from './helpers/venue-config.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';
import { Writable } from 'node:stream';
import pino from 'pino';
import { OrderResponseSchema, errorBody } from '@fridgesync/shared';

const { defer, tempDir } = useTeardown();

/** An offline gateway (epoch 1, config from central already in its store) reconciling f1 with 5 × m1. */
async function stockedAgent() {
  const dir = tempDir();
  const cdoc = centralDoc();
  writeFridgeConfig(cdoc, 'f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
  // f2 is reconciled by another gateway: this kiosk holds no rights for it.
  writeFridgeConfig(cdoc, 'f2', { venueId: 'v1' as never, reconciler: 'gw2' as never });
  await seedActiveStore(dir, 1, 'gw1', 'v1', [Y.encodeStateAsUpdate(cdoc.ydoc)]);
  const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']) }), defer);
  const f = await connectFridge(agent.mqttPort!, 'f1', defer);
  await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
  await f.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1 });
  await eventually(() => expect(agent.status().rightsHeld).toEqual({ f1: { m1: 5 } }));
  const base = `http://127.0.0.1:${agent.httpPort}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary JSON
    return { status: r.status, body: ((r.headers.get('content-type') ?? '').includes('json') ? await r.json() : await r.text()) as any };
  };
  return { agent, call, fridge: f };
}

const body = (orderId: string, qty = 1, extra: Record<string, unknown> = {}) => ({ orderId, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty }], ...extra });

describe('kiosk API', () => {
  it('reserves within own rights, replays idempotently, refuses conflicts and sells out at once', async () => {
    const { call } = await stockedAgent();
    const created = await call('POST', '/v1/orders', body('o1', 2, { holdSeconds: 60 }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ orderId: 'o1', venueId: 'v1', fridgeId: 'f1', state: 'reserved', items: [{ mealId: 'm1', qty: 2 }] });
    expect((await call('POST', '/v1/orders', body('o1', 2, { holdSeconds: 60 }))).status).toBe(200);
    expect((await call('POST', '/v1/orders', body('o1', 3))).body).toMatchObject({ statusCode: 409, code: 'ORDER_CONFLICT' });
    const sold = await call('POST', '/v1/orders', body('o2', 4));
    expect(sold.body).toEqual({ statusCode: 409, code: 'SOLD_OUT', message: 'Not enough stock can be reserved here right now: m1: asked 4, 3 can be sold here now.', lacking: [{ mealId: 'm1', requested: 4, sellableHere: 3, available: 3 }] });
    expect((await call('POST', '/v1/orders', body('o3', 3))).status).toBe(201);
  });

  it('reads and cancels orders; a cancel returns the units; settled orders refuse cancel', async () => {
    const { call, agent, fridge } = await stockedAgent();
    await call('POST', '/v1/orders', body('o1', 5));
    expect((await call('GET', '/v1/orders/o1')).body).toMatchObject({ state: 'reserved' });
    expect((await call('POST', '/v1/orders/o1/cancel')).body).toMatchObject({ state: 'cancelled' });
    await eventually(() => expect(agent.status().rightsHeld).toEqual({ f1: { m1: 5 } }));
    await call('POST', '/v1/orders', body('o2', 1));
    await fridge.publishAsync('fridges/f1/pickup', JSON.stringify({ boot: 1, seq: 2, ts: new Date().toISOString(), orderId: 'o2', items: { m1: 1 } }), { qos: 1 });
    expect((await call('POST', '/v1/orders/o2/cancel')).body).toMatchObject({ statusCode: 409, code: 'ORDER_SETTLED' });
    expect((await call('GET', '/v1/orders/nope')).body).toEqual({ statusCode: 404, code: 'UNKNOWN_ORDER', message: 'No such order.' });
  });

  it('unlocks the fridge of a reserved order; the pickup it reports settles the order', async () => {
    const { agent, call, fridge } = await stockedAgent();
    const commands: unknown[] = [];
    fridge.on('message', (topic, payload) => commands.push({ topic, command: JSON.parse(payload.toString()) }));
    await fridge.subscribeAsync('fridges/f1/commands', { qos: 1 });
    expect((await call('POST', '/v1/orders', body('o1', 2))).status).toBe(201);
    const unlocked = await call('POST', '/v1/orders/o1/unlock');
    expect(unlocked).toMatchObject({ status: 202, body: { orderId: 'o1', fridgeId: 'f1', command: 'unlock' } });
    await eventually(() => expect(commands).toEqual([{ topic: 'fridges/f1/commands', command: { type: 'unlock', orderId: 'o1' } }]));
    await fridge.publishAsync('fridges/f1/pickup', JSON.stringify({ boot: 1, seq: 2, ts: new Date().toISOString(), orderId: 'o1', items: { m1: 2 } }), { qos: 1 });
    await eventually(async () => expect((await call('GET', '/v1/orders/o1')).body).toMatchObject({ state: 'picked_up' }));
    // A settled or unknown order opens nothing.
    expect((await call('POST', '/v1/orders/o1/unlock')).body).toMatchObject({ statusCode: 409, code: 'ORDER_SETTLED' });
    expect((await call('POST', '/v1/orders/nope/unlock')).body).toMatchObject({ statusCode: 404, code: 'UNKNOWN_ORDER' });
    expect(commands).toHaveLength(1);
    // A fridge that is not connected cannot be unlocked: 503, nothing sent.
    expect((await call('POST', '/v1/orders', body('o2', 1))).status).toBe(201);
    await fridge.endAsync();
    await eventually(() => expect(agent.status().broker).toMatchObject({ fridgesConnected: 0 }));
    expect((await call('POST', '/v1/orders/o2/unlock')).body).toMatchObject({ statusCode: 503, code: 'FRIDGE_OFFLINE' });
    const m = await agent.metrics.registry.getSingleMetric('fridgesync_gateway_commands_total')!.get();
    expect(m.values.find((v) => v.labels.type === 'unlock')?.value).toBe(1);
  });

  it('answers bad requests from the error catalog', async () => {
    const { call } = await stockedAgent();
    expect((await call('POST', '/v1/orders', { orderId: 'x' })).body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect((await call('POST', '/v1/orders', { ...body('o1'), venueId: 'elsewhere' })).body).toMatchObject({ statusCode: 404, code: 'UNKNOWN_VENUE' });
    expect((await call('POST', '/v1/orders', { ...body('o1'), fridgeId: 'nowhere' })).body).toMatchObject({ statusCode: 404, code: 'UNKNOWN_FRIDGE' });
    // A meal the venue does not offer: refused as central refuses it, whatever the fridge holds.
    expect((await call('POST', '/v1/orders', { ...body('o1'), items: [{ mealId: 'm9', qty: 1 }] })).body).toEqual({ statusCode: 404, code: 'UNKNOWN_MEAL', message: 'no such meal: m9' });
    // The schema's message names the field as central's does.
    expect((await call('POST', '/v1/orders', { ...body('o1'), items: [{ mealId: 'm1', qty: 0 }] })).body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', message: expect.stringMatching(/^body\/items\/0\/qty: /) });
    expect((await call('GET', '/nowhere')).body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
  });

  it('sells out at once and asks the fridge\'s reconciler for the units before answering; counts results with central\'s labels', async () => {
    const { agent, call } = await stockedAgent();
    const sold = await call('POST', '/v1/orders', { ...body('s1', 2), fridgeId: 'f2' });
    expect(sold.body).toMatchObject({ statusCode: 409, code: 'SOLD_OUT', lacking: [{ mealId: 'm1', requested: 2, sellableHere: 0 }] });
    // Written (and durable) by the time the kiosk answered: the reconciler gw2 sees it on the next sync.
    expect(agent.replica.doc.index.requests.get('f2')?.get('m1')?.get('gw:gw1:1')).toEqual([1, 2]);
    await call('POST', '/v1/orders', { ...body('s2', 3), fridgeId: 'f2' });
    expect(agent.replica.doc.index.requests.get('f2')?.get('m1')?.get('gw:gw1:1')).toEqual([1, 2]); // still open: not asked again
    // The kiosk reconciles f1 itself: it corrects its own rights and asks no one.
    await call('POST', '/v1/orders', body('s3', 9));
    expect(agent.replica.doc.index.requests.get('f1')).toBeUndefined();
    await call('POST', '/v1/orders', body('o1'));
    await call('POST', '/v1/orders', body('o1'));
    await call('POST', '/v1/orders', body('o1', 2));
    await call('POST', '/v1/orders', { orderId: 'x' });
    await call('POST', '/v1/orders/o1/cancel');
    const counted = Object.fromEntries((await agent.metrics.orders.get()).values.map((v) => [v.labels.result, v.value]));
    expect(counted).toEqual({ sold_out: 3, created: 1, replayed: 1, conflict: 1, invalid: 1, cancelled: 1 });
  });

  it('serves /livez, /readyz, /status and /metrics', async () => {
    const { call } = await stockedAgent();
    expect((await call('GET', '/livez')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
    const s = (await call('GET', '/status')).body;
    expect(s).toMatchObject({
      gatewayId: 'gw1',
      replica: 'gw:gw1:1',
      epoch: 1,
      lifecycle: 'active',
      broker: { mode: 'embedded', up: true, fridgesConnected: 1 },
      fridgesOnline: 1,
      fridgesReconciled: ['f1'],
      sync: { state: 'disabled' },
      rightsHeld: { f1: { m1: 5 } },
    });
    expect(s.pendingUpdates).toBe(0);
    const m = await call('GET', '/metrics');
    expect(m.body).toContain('fridgesync_gateway_ingested_total{kind="inventory",outcome="applied"} 1');
  });

  it('answers an order, and a retry of it, only once the order is durable in the local store', async () => {
    const store = new MemoryStore();
    const cdoc = centralDoc();
    writeFridgeConfig(cdoc, 'f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
    await store.append(Y.encodeStateAsUpdate(cdoc.ydoc));
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    const agent = await startAgent(testConfig(tempDir(), { fridges: await fridgeHashes(['f1']) }), defer, { store });
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
    await eventually(() => expect(agent.status().rightsHeld).toEqual({ f1: { m1: 5 } }));
    const release = store.holdWrites();
    const answered: number[] = [];
    const order = () =>
      fetch(`http://127.0.0.1:${agent.httpPort}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('d1', 2)) }).then((r) => {
        answered.push(r.status);
        return r.status;
      });
    const first = order();
    await eventually(() => expect(agent.replica.doc.index.orders.has('d1')).toBe(true));
    const retry = order();
    await new Promise((r) => setTimeout(r, 100));
    expect(answered, 'no answer before the order is durable').toEqual([]);
    release();
    expect(await Promise.all([first, retry])).toEqual([201, 200]);
  });

  it('answers a store failure on an order with the catalog body and logs its cause once', async () => {
    const store = new MemoryStore();
    const cdoc = centralDoc();
    writeFridgeConfig(cdoc, 'f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
    await store.append(Y.encodeStateAsUpdate(cdoc.ydoc));
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const agent = await startAgent(testConfig(tempDir(), { fridges: await fridgeHashes(['f1']) }), defer, { store, logger: pino({ level: 'info' }, sink) });
    const f = await connectFridge(agent.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
    await eventually(() => expect(agent.status().rightsHeld).toEqual({ f1: { m1: 5 } }));
    store.failNextWrite(new Error('disk unplugged'));
    const r = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('broken', 1)) });
    // The catalog's body, which names no cause...
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual(errorBody('STORAGE_FAILED'));
    // ...and the log, which does: once, from the HTTP part, with the route.
    await eventually(() => expect(lines.filter((l) => l.msg === 'request failed')).toHaveLength(1));
    const logged = lines.find((l) => l.msg === 'request failed')!;
    expect(logged).toMatchObject({ level: 50, part: 'http', method: 'POST', url: '/v1/orders', code: 'STORAGE_FAILED' });
    expect(JSON.stringify(logged.err)).toContain('disk unplugged');
  });

  it('documents the answers of the order routes in the shared order schema (OpenAPI)', async () => {
    const agent = await startAgent(testConfig(tempDir()), defer);
    const spec = (await (await fetch(`http://127.0.0.1:${agent.httpPort}/documentation/json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>> };
    const fields = Object.keys(OrderResponseSchema.shape).sort();
    const routes: Array<[string, string, string[]]> = [
      ['post', '/v1/orders', ['200', '201']],
      ['get', '/v1/orders/{id}', ['200']],
      ['post', '/v1/orders/{id}/cancel', ['200']],
    ];
    for (const [method, path, statuses] of routes) {
      for (const status of statuses) {
        const schema = spec.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema;
        expect(Object.keys(schema?.properties ?? {}).sort(), `${method} ${path} ${status}`).toEqual(fields);
      }
    }
    // Errors are documented in the catalog's body too.
    expect(spec.paths['/v1/orders']?.post?.responses['409']).toBeDefined();
  });

  it('is not ready and takes no orders before its first full sync', async () => {
    const agent = await startAgent(testConfig(tempDir()), defer);
    const base = `http://127.0.0.1:${agent.httpPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const r = await fetch(`${base}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('o1')) });
    expect(await r.json()).toMatchObject({ statusCode: 503, code: 'NOT_READY' });
  });
});
