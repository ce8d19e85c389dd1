/**
 * Domain facts on the real central with LevelDB on disk: derived from the merged state in a venue's
 * order, paged and resumable over `GET /v1/events/log`, and appended once across a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ORIGINS, VenueDoc, gatewayReplicaId, recordSnapshot, reserve, settle, type FridgeId, type GatewayId, type LoggedEventJson, type MealId, type OrderId, type VenueId } from '@fridgesync/shared';
import { createLevelStorage, createMemoryStorage, type DocStorage } from '@fridgesync/server';
import { waitFor } from '@fridgesync/shared/test-harness';
import { asGateway, bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';
import { GatewayClient } from '../helpers/gateway-client.ts';

let t: TestCentral | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  if (dir !== undefined) await import('node:fs/promises').then((fs) => fs.rm(dir!, { recursive: true, force: true }));
  dir = undefined;
});

async function start(): Promise<TestCentral> {
  dir ??= await import('node:fs/promises').then(async (fs) => fs.mkdtemp((await import('node:path')).join((await import('node:os')).tmpdir(), 'central-log-')));
  t = await startCentral({ level: true, dir, listen: true });
  return t;
}
async function page(q: string, token: string = TOKENS.viewer): Promise<{ events: LoggedEventJson[]; next: string; oldest: number; latest: number; gap: boolean }> {
  const r = await t!.central.app.inject({ url: `/v1/events/log?${q}`, headers: bearer(token) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}
const all = async (venue = 'v1') => (await page(`venueId=${venue}&limit=1000`)).events;
const kinds = (es: LoggedEventJson[]) => es.map((e) => e.fact.kind);
/** Waits until the venue's log holds a fact of `kind` (matching `extra`), and returns the log. */
async function until(kind: string, extra: Record<string, unknown> = {}): Promise<LoggedEventJson[]> {
  let events: LoggedEventJson[] = [];
  await waitFor(async () => {
    events = await all();
    return events.some((e) => e.fact.kind === kind && Object.entries(extra).every(([k, v]) => (e.fact as Record<string, unknown>)[k] === v));
  }, 10_000);
  return events;
}
const post = (url: string, payload: object, token: string = TOKENS.app) => t!.central.app.inject({ method: 'POST', url, headers: bearer(token), payload });
const order = (id: string, qty: number) => post('/v1/orders', { orderId: id, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty }] });
const later = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('domain facts', () => {
  it('derives a venue\'s facts in order and appends each once across a restart', async () => {
    const c = (await start()).central;
    stockViaGateway(c, 'v1', 'f1', { m1: 10 }, { seq: 1 });
    await until('snapshot.applied', { seq: 1 });
    expect((await order('o-1', 2)).statusCode).toBe(201);
    expect((await order('o-2', 1)).statusCode).toBe(201);
    expect((await post('/v1/orders/o-2/cancel', {})).statusCode).toBe(200);
    await until('order.cancelled', { orderId: 'o-2' });
    expect((await post('/v1/kitchen/deliveries', { deliveryId: 'd-1', venueId: 'v1', fridgeId: 'f1', items: { m1: 5 } }, TOKENS.kitchen)).statusCode).toBe(201);
    await until('delivery.announced');
    // The fridge now reports 1: o-1's 2 units are short by 1, and the delivery never arrived.
    stockViaGateway(c, 'v1', 'f1', { m1: 1 }, { seq: 2, ts: later(1_000) });
    await until('delivery.discrepancy');
    await until('shortage.raised');
    stockViaGateway(c, 'v1', 'f1', { m1: 8 }, { seq: 3, ts: later(2_000) });
    await until('shortage.cleared');
    const gw = await new GatewayClient({ wsUrl: t!.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 1) }).ready();
    await until('gateway.online', { gatewayId: 'g1' });
    await gw.close();
    const before = await until('gateway.offline', { gatewayId: 'g1' });

    expect(kinds(before)).toEqual([
      'snapshot.applied',
      'order.reserved',
      'order.reserved',
      'order.cancelled',
      'delivery.announced',
      'snapshot.applied',
      ...(kinds(before).indexOf('shortage.raised') < kinds(before).indexOf('delivery.discrepancy') ? ['shortage.raised', 'delivery.discrepancy'] : ['delivery.discrepancy', 'shortage.raised']),
      'snapshot.applied',
      'shortage.cleared',
      'gateway.online',
      'gateway.offline',
    ]);
    const positions = before.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(before.map((e) => e.id)).size).toBe(before.length);
    expect(before.find((e) => e.fact.kind === 'delivery.discrepancy')?.fact).toEqual({ kind: 'delivery.discrepancy', deliveryId: 'd-1', fridgeId: 'f1', items: [{ mealId: 'm1', announced: 5, discrepancy: -14 }] });
    expect(before.find((e) => e.fact.kind === 'shortage.raised')?.fact).toMatchObject({ fridgeId: 'f1', mealId: 'm1', units: 1, orders: ['o-1'] });
    const metrics = (await t!.central.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/fridgesync_event_log_appended_total\{kind="order.reserved"\} 2/);

    // A restart derives every fact of the stored state again: the log keeps one of each.
    await t!.close();
    t = undefined;
    const c2 = (await start()).central;
    await c2.eventLog!.deriver.settle();
    expect(await all()).toEqual(before);
    expect((await t!.central.app.inject({ url: '/metrics' })).body).not.toMatch(/fridgesync_event_log_appended_total\{kind="order.reserved"\}/);
    // A new fact after the restart goes after them.
    expect((await post('/v1/orders/o-1/cancel', {})).statusCode).toBe(200);
    const after = await until('order.cancelled', { orderId: 'o-1' });
    expect(after.slice(0, -1)).toEqual(before);
    expect(after.at(-1)!.position).toBe(before.at(-1)!.position + 1);
  });

  it('clears a shortage raised before a restart that ended while central was down', async () => {
    const c = (await start()).central;
    stockViaGateway(c, 'v1', 'f1', { m1: 10 }, { seq: 1 });
    expect((await order('s-1', 3)).statusCode).toBe(201);
    stockViaGateway(c, 'v1', 'f1', { m1: 1 }, { seq: 2 });
    const raised = (await until('shortage.raised')).find((e) => e.fact.kind === 'shortage.raised')!;
    await t!.close();
    t = undefined;
    // While central is down, the fridge's next snapshot (restocked) lands in the stored document,
    // as a gateway's update central stored before it went down would.
    const storage = createLevelStorage({ dir: dir! });
    await storage.open();
    const gw = new VenueDoc({ replica: gatewayReplicaId('g1' as GatewayId, 1) });
    for (const u of (await storage.load('v1' as VenueId)).updates) gw.applyUpdate(u, ORIGINS.storageLoad);
    const sv = Y.encodeStateVector(gw.ydoc);
    gw.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, 'f1' as FridgeId, { boot: 1, seq: 3, ts: new Date().toISOString(), items: { m1: 5 } as never }));
    await storage.append('v1' as VenueId, Y.encodeStateAsUpdate(gw.ydoc, sv));
    await storage.close();
    const c2 = (await start()).central;
    const events = await until('shortage.cleared');
    await c2.eventLog!.deriver.settle();
    expect((await all()).filter((e) => e.fact.kind.startsWith('shortage.')).map((e) => e.fact)).toEqual([raised.fact, { kind: 'shortage.cleared', fridgeId: 'f1', mealId: 'm1' }]);
    expect(events.at(-1)!.fact).toEqual({ kind: 'shortage.cleared', fridgeId: 'f1', mealId: 'm1' });
  });

  it('logs a transition two replicas record once, and an order central never took', async () => {
    const c = (await start()).central;
    stockViaGateway(c, 'v1', 'f1', { m1: 10 }, { seq: 1 });
    expect((await order('r-1', 1)).statusCode).toBe(201);
    await until('order.reserved', { orderId: 'r-1' });
    // Both gateways of the venue record the pickup (each from its own view of the order).
    for (const gateway of ['g1', 'g2']) asGateway(c, 'v1', { gateway }, (gw) => expect(settle(gw, ORIGINS.kiosk, 'r-1' as OrderId, 'picked_up', Date.now()).ok).toBe(true));
    // A kiosk order taken at the gateway and cancelled there before central folded it.
    asGateway(c, 'v1', { gateway: 'g1' }, (gw) => {
      expect(reserve(gw, ORIGINS.kiosk, { orderId: 'k-1' as OrderId, fridgeId: 'f1' as FridgeId, lines: [{ mealId: 'm1' as MealId, qty: 1 }], holdUntil: Date.now() + 60_000, now: Date.now() })).toMatchObject({ ok: true, status: 'created' });
      expect(settle(gw, ORIGINS.kiosk, 'k-1' as OrderId, 'cancelled', Date.now()).ok).toBe(true);
    });
    await until('order.cancelled', { orderId: 'k-1' });
    await until('order.picked_up', { orderId: 'r-1' });
    await c.eventLog!.deriver.settle();
    const orders = (await all()).filter((e) => e.fact.kind.startsWith('order.')).map((e) => [e.fact.kind, (e.fact as { orderId: string }).orderId]);
    expect(orders).toEqual([
      ['order.reserved', 'r-1'],
      ['order.picked_up', 'r-1'],
      ['order.reserved', 'k-1'],
      ['order.cancelled', 'k-1'],
    ]);
  });

  it('logs no fact of a write that never became durable', async () => {
    const inner = createMemoryStorage();
    await inner.open();
    let failing = false;
    const storage: DocStorage = { ...inner, append: async (v, u) => (failing ? Promise.reject(new Error('disk full')) : inner.append(v, u)) };
    t = await startCentral({ deps: { storage, onFatal: () => undefined } });
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    expect((await order('ok-1', 1)).statusCode).toBe(201);
    await until('order.reserved', { orderId: 'ok-1' });
    failing = true;
    expect((await order('lost-1', 1)).json().code).toBe('STORAGE_FAILED');
    await t.central.eventLog!.deriver.settle();
    expect((await all()).map((e) => (e.fact as { orderId?: string }).orderId)).not.toContain('lost-1');
  });

  it('pages and resumes: every event once, in order, across venues', async () => {
    const c = (await start()).central;
    stockViaGateway(c, 'v1', 'f1', { m1: 10 }, { seq: 1 });
    stockViaGateway(c, 'v2', 'h-f1', { m1: 10 }, { gateway: 'h1', seq: 1 });
    for (let i = 0; i < 7; i++) expect((await order(`p-${i}`, 1)).statusCode).toBe(201);
    await until('order.reserved', { orderId: 'p-6' });
    await c.eventLog!.deriver.settle();
    const whole = (await page('limit=1000')).events;
    expect(whole.map((e) => e.venueId).sort()).toEqual([...Array(8).fill('v1'), 'v2'].sort());
    const read: LoggedEventJson[] = [];
    let cursor = '0';
    for (;;) {
      const p = await page(`after=${cursor}&limit=3`);
      expect(p.gap).toBe(false);
      if (p.events.length === 0) break;
      read.push(...p.events);
      cursor = p.next;
    }
    expect(read).toEqual(whole);
    expect(cursor).toBe(String(whole.at(-1)!.position));
    // Resuming at the end answers an empty page and the same cursor.
    expect(await page(`after=${cursor}`)).toMatchObject({ events: [], next: cursor, latest: whole.at(-1)!.position });
    expect((await page('venueId=v2')).events.map((e) => e.fact.kind)).toEqual(['snapshot.applied']);
  });
});
