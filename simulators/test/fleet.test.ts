/**
 * The whole simulator against a real aedes broker and fake centrals on port 0: an honest central
 * passes both client-side checks; one that over-confirms fails the oversell check (so the check
 * can fail); an unreachable one is reported, not crashed on.
 */
import { CreateOrderBodySchema, DeliveryBodySchema, InventoryPayloadSchema, PickupPayloadSchema } from '@fridgesync/shared';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../src/fleet.ts';
import { generateFleet } from '../src/fleet-spec.ts';
import { record, startBroker, startHttp } from './helpers.ts';
import { useTeardown, waitFor } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

async function world() {
  const spec = generateFleet({ venues: 1, fridges: 2, meals: 2, par: 2, secretSeed: 's' });
  const secrets = Object.fromEntries(spec.venues.flatMap((v) => v.fridges.map((f) => [f.fridgeId, f.secret])));
  const broker = await startBroker(secrets);
  defer(() => broker.close());
  const sub = await record(broker.url, 'fridges/#');
  defer(() => sub.client.endAsync(true));
  return { spec, broker, sub };
}

/** A fake central: `honest` confirms only within the stock it was told (par), else confirms everything. */
async function fakeCentral(honest: boolean, par: number) {
  const reserved = new Map<string, number>();
  const orders = new Map<string, { fridgeId: string; lines: Array<{ mealId: string; qty: number }>; open: boolean }>();
  const server = await startHttp((req, body) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/v1/orders') {
      const o = CreateOrderBodySchema.parse(body);
      if (orders.has(o.orderId)) return { status: 200, body: { orderId: o.orderId } };
      const ok = !honest || o.items.every((l) => (reserved.get(`${o.fridgeId}/${l.mealId}`) ?? 0) + l.qty <= par);
      if (!ok) return { status: 409, body: { statusCode: 409, code: 'SOLD_OUT', message: 'sold out' } };
      for (const l of o.items) reserved.set(`${o.fridgeId}/${l.mealId}`, (reserved.get(`${o.fridgeId}/${l.mealId}`) ?? 0) + l.qty);
      orders.set(o.orderId, { fridgeId: o.fridgeId, lines: o.items, open: true });
      return { status: 201, body: { orderId: o.orderId, state: 'reserved' } };
    }
    const cancel = /^\/v1\/orders\/([^/]+)\/cancel$/.exec(url);
    if (req.method === 'POST' && cancel) {
      const o = orders.get(cancel[1]!);
      if (!o) return { status: 404, body: { statusCode: 404, code: 'UNKNOWN_ORDER', message: '' } };
      if (o.open) for (const l of o.lines) reserved.set(`${o.fridgeId}/${l.mealId}`, reserved.get(`${o.fridgeId}/${l.mealId}`)! - l.qty);
      o.open = false;
      return { status: 200, body: {} };
    }
    if (req.method === 'POST' && url === '/v1/kitchen/deliveries') {
      DeliveryBodySchema.parse(body);
      return { status: 201, body: {} };
    }
    if (req.method === 'GET' && url.startsWith('/v1/catalog')) {
      // Stock never changes in these runs (no walk-ins, no pickups, no kitchen): sellable = par − reserved.
      const rows = ['v1-f1', 'v1-f2'].map((fridgeId) => ({
        fridgeId,
        items: ['m01', 'm02'].map((mealId) => ({ mealId, sellable: Math.max(0, par - (reserved.get(`${fridgeId}/${mealId}`) ?? 0)) })),
      }));
      return { status: 200, body: { venues: [{ venueId: 'v1', fridges: rows }] } };
    }
    return { status: 404, body: { statusCode: 404, code: 'NOT_FOUND', message: '' } };
  });
  defer(() => server.close());
  return server;
}

const load = { customersPerMinute: 1_500, walkInsPerMinute: 0, kitchen: { kind: 'off' } as const, pickupShare: 0, cancelShare: 0.3, holdSeconds: 60, intervalMs: 200, convergeTimeoutMs: 2_000, seed: 'fleet-test', runId: 't' };

describe('createFleet end to end', () => {
  it('passes both checks against an honest central, with contract-valid traffic', async () => {
    const { spec, broker, sub } = await world();
    const central = await fakeCentral(true, 2);
    const fleet = createFleet({ fleet: spec, ...load, central: { url: central.url, appToken: 'app-token' }, brokerUrls: { v1: broker.url } });
    defer(() => fleet.stop());
    const report = await fleet.run(1_500);
    expect(report.counters.ordersConfirmed).toBeGreaterThan(0);
    expect(report.counters.ordersSoldOut).toBeGreaterThan(0); // demand beyond stock was refused
    expect(report.checks.oversell).toMatchObject({ ok: true, violationCount: 0 });
    expect(report.checks.oversell.checked).toBe(report.counters.ordersConfirmed);
    expect(report.checks.catalog).toMatchObject({ ok: true });
    expect(report.ok).toBe(true);
    expect(central.requests.every((r) => r.auth === 'Bearer app-token')).toBe(true);
    const inventory = sub.messages.filter((m) => m.topic.endsWith('/inventory'));
    expect(inventory.length).toBeGreaterThanOrEqual(2);
    for (const m of inventory) InventoryPayloadSchema.parse(m.payload);
  });

  it('fails the oversell check when central confirms beyond the physical stock', async () => {
    const { spec, broker } = await world();
    const central = await fakeCentral(false, 2);
    const fleet = createFleet({ fleet: spec, ...load, central: { url: central.url }, brokerUrls: { v1: broker.url } });
    defer(() => fleet.stop());
    const report = await fleet.run(1_500);
    expect(report.counters.ordersSoldOut).toBe(0);
    expect(report.checks.oversell.ok).toBe(false);
    expect(report.checks.oversell.violationCount).toBeGreaterThan(0);
    const v = report.checks.oversell.violations[0]!;
    expect(v.netConfirmed).toBeGreaterThan(v.bound);
    expect(report.ok).toBe(false);
  });

  it('reports an unreachable central instead of crashing', async () => {
    const { spec, broker } = await world();
    const fleet = createFleet({ fleet: spec, ...load, customersPerMinute: 120, central: { url: 'http://127.0.0.1:1' }, brokerUrls: { v1: broker.url }, convergeTimeoutMs: 300, httpTimeoutMs: 500 });
    defer(() => fleet.stop());
    const report = await fleet.run(700);
    expect(report.ok).toBe(false);
    expect(report.checks.catalog).toMatchObject({ ok: false });
    expect((report.checks.catalog as { error?: string }).error).toMatch(/ECONNREFUSED|fetch failed/);
    expect(report.checks.oversell.ok).toBe(true);
  });

  it('walk-ins, pickups and the kitchen move the totals the fridge reports', async () => {
    const { spec, broker, sub } = await world();
    const central = await fakeCentral(true, 2);
    const fleet = createFleet({ fleet: spec, ...load, customersPerMinute: 0, central: { url: central.url, kitchenToken: 'k' }, brokerUrls: { v1: broker.url }, unloadMs: 10 });
    defer(() => fleet.stop());
    await fleet.start();
    expect(fleet.walkIn('v1-f1', 'm01')).toBe(1);
    const rec = await fleet.order('v1-f1', { m02: 1 }, { fate: { kind: 'pickup', afterMs: 10 } });
    expect(rec.state).toBe('confirmed');
    await new Promise((r) => setTimeout(r, 100));
    expect(rec.state).toBe('picked-up');
    await fleet.deliver(['v1-f1']);
    await fleet.quiesce();
    const last = sub.messages.filter((m) => m.topic === 'fridges/v1-f1/inventory').map((m) => InventoryPayloadSchema.parse(m.payload)).at(-1)!;
    expect(last.items).toEqual({ m01: 2, m02: 2 }); // refilled to par
    const pickup = sub.messages.find((m) => m.topic === 'fridges/v1-f1/pickup')!;
    expect(PickupPayloadSchema.parse(pickup.payload)).toMatchObject({ orderId: rec.orderId, items: { m02: 1 } });
    const delivery = central.requests.find((r) => r.url === '/v1/kitchen/deliveries')!;
    expect(delivery.body).toMatchObject({ venueId: 'v1', fridgeId: 'v1-f1', items: { m01: 1, m02: 1 } });
    expect(delivery.auth).toBe('Bearer k');
  });

  it('reboots fridges: the will fires, the sequence restarts, a forgetful firmware keeps its boot', async () => {
    const { spec, broker, sub } = await world();
    const fleet = createFleet({ fleet: spec, ...load, customersPerMinute: 0, brokerUrls: { v1: broker.url }, boot: 77, faults: { duplicate: 0, reorder: 0, reboot: 0.5, forgetBoot: 1 } });
    defer(() => fleet.stop());
    await fleet.start();
    await waitFor(() => fleet.stats.counters.reboots >= 1 && fleet.stats.counters.mqttConnects >= 3, 8_000, 'a reboot and reconnect');
    await fleet.quiesce();
    const will = sub.messages.find((m) => m.topic.endsWith('/status') && (m.payload as { online: boolean }).online === false);
    expect(will).toBeDefined();
    const rebooted = sub.messages.find((m) => m.topic.endsWith('/status') && m === will)!.topic.split('/')[1]!;
    const seqs = sub.messages.filter((m) => m.topic === `fridges/${rebooted}/inventory`).map((m) => InventoryPayloadSchema.parse(m.payload));
    expect(seqs.every((p) => p.boot === 77)).toBe(true); // forgot its boot counter
    expect(seqs.some((p, i) => i > 0 && p.seq <= seqs[i - 1]!.seq)).toBe(true); // the sequence restarted
  });

  it('a customer at a rebooting fridge waits for it instead of losing the pickup', async () => {
    const { spec, broker, sub } = await world();
    const central = await fakeCentral(true, 2);
    const fleet = createFleet({ fleet: spec, ...load, customersPerMinute: 0, central: { url: central.url }, brokerUrls: { v1: broker.url } });
    defer(() => fleet.stop());
    await fleet.start();
    const fridge = fleet.fridges.get('v1-f2')!;
    const rebooting = fridge.reboot(false, 400);
    const rec = await fleet.order('v1-f2', { m01: 1 }, { fate: { kind: 'pickup', afterMs: 10 } });
    await rebooting;
    await waitFor(() => rec.state === 'picked-up', 3_000, 'pickup after the reboot');
    await waitFor(() => sub.messages.some((m) => m.topic === 'fridges/v1-f2/pickup'), 3_000, 'pickup event');
    expect(fleet.stats.lastErrors).toEqual([]);
  });

  it('draws the same customer stream from the same seed, whatever the system answers', async () => {
    const { spec, broker } = await world();
    const stream = async (seed: string, honest: boolean) => {
      const central = await fakeCentral(honest, 2);
      const fleet = createFleet({ fleet: spec, ...load, seed, customersPerMinute: 3_000, central: { url: central.url }, brokerUrls: { v1: broker.url }, convergeTimeoutMs: 0 });
      defer(() => fleet.stop());
      await fleet.run(600);
      // Requests travel on parallel connections and may arrive out of order: sort by the sequence in the id.
      const seq = (b: unknown) => Number(String((b as { orderId: string }).orderId).split('-').at(-1));
      return central.requests.filter((r) => r.url === '/v1/orders').map((r) => r.body).sort((x, y) => seq(x) - seq(y)).map((b) => JSON.stringify(b));
    };
    // Sold-out answers (honest) vs confirmations (dishonest) change nothing in what customers ask for.
    const a = await stream('same', true);
    const b = await stream('same', false);
    const c = await stream('other', true);
    const n = Math.min(a.length, b.length, 12);
    expect(n).toBeGreaterThanOrEqual(8);
    expect(b.slice(0, n)).toEqual(a.slice(0, n));
    expect(c.slice(0, n)).not.toEqual(a.slice(0, n));
  });

  it('quiesces in bounded time when the broker is gone, and says so', async () => {
    const { spec, broker } = await world();
    const fleet = createFleet({ fleet: spec, ...load, customersPerMinute: 0, brokerUrls: { v1: broker.url }, connectTimeoutMs: 500 });
    defer(() => fleet.stop());
    await fleet.start();
    await broker.close();
    const t0 = Date.now();
    await fleet.quiesce();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(fleet.stats.lastErrors.join('\n')).toMatch(/final snapshots not acknowledged within 500 ms by 2 fridge/);
    const t1 = Date.now();
    await fleet.stop();
    expect(Date.now() - t1).toBeLessThan(3_000);
  });
});
