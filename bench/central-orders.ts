/**
 * bench/central-orders: what one `POST /v1/orders` costs at central with many venues, and whether
 * gateway traffic at other venues slows it down. A real central (`buildApp`, LevelDB with synced
 * writes in a temp dir, listening on loopback) serves `--venues` venues of `--fridges` fridges,
 * each stocked through its reconciler gateway's replica. Then, in two phases:
 *   quiet   — `--orders` orders from `--clients` concurrent HTTP clients, nothing else happening;
 *   traffic — the same while every fridge of every venue reports a snapshot every `--snapshot-ms`
 *             through its gateway (applied to central's documents as a sync session applies them,
 *             so the read model has changed fridges in every venue to fold).
 * A warm-up of up to 500 orders runs first and is not reported.
 * Prints, per phase, orders/s, the latency percentiles seen by the clients and the process's CPU
 * time per order (central, the clients and, in the traffic phase, the gateways' snapshots).
 *
 *   npm run bench:central-orders -- [--venues 100] [--fridges 4] [--orders 2000] [--clients 8] [--snapshot-ms 1000] [--storage level|memory] [--transport http|inject] [--event-log on|off] [--consumers 0]
 *
 * `--storage memory` leaves out the synced writes, so what remains is the order path's CPU;
 * `--transport inject` sends the orders through fastify's `inject` instead of sockets (no HTTP
 * client in the measurement); with `--clients 1` each latency is one order's own path.
 * `--event-log off` detaches the domain event log (docs/design.md "Domain event log"; on by default,
 * as in production); `--consumers N` runs N consumer groups that claim and acknowledge the log
 * through its HTTP routes throughout both phases.
 *
 * Loopback only; the load runs in the same process as central (both phases carry it alike).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import * as Y from 'yjs';
import { DEFAULT_RIGHTS_POLICY, ORIGINS, VenueDoc, gatewayReplicaId, reconcileFridge, recordSnapshot, type FridgeId, type GatewayId, type VenueId } from '@fridgesync/shared';
import { buildApp, CentralConfigSchema, hashToken, type Central } from '@fridgesync/server';

const { values: args } = parseArgs({
  options: {
    venues: { type: 'string', default: '100' },
    fridges: { type: 'string', default: '4' },
    orders: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '8' },
    'snapshot-ms': { type: 'string', default: '1000' },
    storage: { type: 'string', default: 'level' },
    transport: { type: 'string', default: 'http' },
    'event-log': { type: 'string', default: 'on' },
    consumers: { type: 'string', default: '0' },
  },
});
const VENUES = Number(args.venues);
const FRIDGES = Number(args.fridges);
const ORDERS = Number(args.orders);
const CLIENTS = Number(args.clients);
const SNAPSHOT_MS = Number(args['snapshot-ms']);
const MEALS = ['m1', 'm2'];
const STOCK = 2_000;
const APP_TOKEN = 'bench-app-token';
const VIEWER_TOKEN = 'bench-viewer-token';
const CONSUMERS = Number(args.consumers);

const vid = (v: number) => `v${String(v).padStart(3, '0')}`;
const fid = (v: number, f: number) => `${vid(v)}-f${f}`;
const gid = (v: number) => `g${String(v).padStart(3, '0')}`;

/** One venue's reconciler gateway, as a replica that reports snapshots into central's document. */
interface Gateway {
  venue: VenueId;
  doc: VenueDoc;
  seq: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Applies what the gateway wrote since `before` to central's document, as a sync session does. */
function deliver(central: Central, g: Gateway, write: () => void): void {
  const host = central.registry.peek(g.venue)!;
  const before = Y.encodeStateVector(g.doc.ydoc);
  write();
  host.doc.applyUpdate(Y.encodeStateAsUpdate(g.doc.ydoc, before), { kind: 'upstream', peer: `bench-${g.venue}` });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-central-orders-'));
  const config = CentralConfigSchema.parse({
    instanceId: 'c1',
    http: { host: '127.0.0.1', port: 0, writeRateLimitPerMinute: 1_000_000_000 },
    storage: args.storage === 'memory' ? { engine: 'memory' } : { engine: 'level', dataDir: dir },
    logLevel: 'silent',
    tokens: [
      { role: 'app', name: 'bench', hash: hashToken(APP_TOKEN) },
      { role: 'viewer', name: 'bench-consumers', hash: hashToken(VIEWER_TOKEN) },
    ],
    eventLog: { enabled: args['event-log'] !== 'off' },
    registry: {
      meals: MEALS.map((id) => ({ id, name: id, priceCents: 500 })),
      venues: Array.from({ length: VENUES }, (_, v) => ({
        id: vid(v),
        name: `Venue ${v}`,
        city: `City${v % 10}`,
        timezone: 'UTC',
        gateways: [{ id: gid(v) }],
        fridges: Array.from({ length: FRIDGES }, (_, f) => ({ id: fid(v, f), reconciler: gid(v) })),
      })),
    },
  });
  const central = await buildApp(config, { logger: pino({ level: 'silent' }) });
  const url = await central.listen();
  const gateways: Gateway[] = [];
  const items = Object.fromEntries(MEALS.map((m) => [m, STOCK]));
  for (let v = 0; v < VENUES; v++) {
    const venue = vid(v) as VenueId;
    const host = central.registry.peek(venue)!;
    const g: Gateway = { venue, doc: new VenueDoc({ replica: gatewayReplicaId(gid(v) as GatewayId, 1) }), seq: 1 };
    g.doc.applyUpdate(Y.encodeStateAsUpdate(host.doc.ydoc), ORIGINS.upstream);
    deliver(central, g, () => {
      for (let f = 0; f < FRIDGES; f++) {
        g.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, fid(v, f) as FridgeId, { boot: 1, seq: g.seq, ts: new Date().toISOString(), items: items as never }));
        reconcileFridge(g.doc, ORIGINS.reconciler, fid(v, f) as FridgeId, DEFAULT_RIGHTS_POLICY, Date.now());
      }
    });
    gateways.push(g);
  }
  await Promise.all(central.registry.hosts().map((h) => h.whenDurable()));
  console.log(`central: ${VENUES} venues × ${FRIDGES} fridges × ${MEALS.length} meals, ${args.storage === 'memory' ? 'memory storage' : `LevelDB in ${dir}`}`);

  // Consumer groups reading the log at their own pace while orders run (claim, then ack the batch).
  let consuming = CONSUMERS > 0 && central.eventLog !== undefined;
  let consumed = 0;
  const consumers = Array.from({ length: consuming ? CONSUMERS : 0 }, async (_, c) => {
    const headers = { authorization: `Bearer ${VIEWER_TOKEN}` };
    while (consuming) {
      const claim = await central.app.inject({ method: 'POST', url: `/v1/events/groups/bench-${c}/claim`, headers, payload: { limit: 200 } });
      const ids = (claim.json() as { events: Array<{ id: string }> }).events.map((e) => e.id);
      if (ids.length === 0) await new Promise((r) => setTimeout(r, 20));
      else await central.app.inject({ method: 'POST', url: `/v1/events/groups/bench-${c}/ack`, headers, payload: { ids } });
      consumed += ids.length;
    }
  });
  console.log(`event log: ${central.eventLog === undefined ? 'off' : `on, ${consuming ? CONSUMERS : 0} consumer groups`}`);

  let n = 0;
  async function phase(name: string, orders: number, report = true): Promise<void> {
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < orders) {
          next++;
          const i = n++;
          const v = i % VENUES;
          const body = { orderId: `bench-${i}`, venueId: vid(v), fridgeId: fid(v, Math.floor(i / VENUES) % FRIDGES), items: [{ mealId: MEALS[i % MEALS.length], qty: 1 }] };
          const t0 = performance.now();
          let status: number;
          if (args.transport === 'inject') {
            status = (await central.app.inject({ method: 'POST', url: '/v1/orders', headers: { authorization: `Bearer ${APP_TOKEN}` }, payload: body })).statusCode;
          } else {
            const res = await fetch(`${url}/v1/orders`, { method: 'POST', headers: { authorization: `Bearer ${APP_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
            await res.arrayBuffer();
            status = res.status;
          }
          latencies.push(performance.now() - t0);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuMsPerOrder = (cpu.user + cpu.system) / 1000 / orders;
    if (!report) return;
    latencies.sort((a, b) => a - b);
    const ms = (x: number) => x.toFixed(2);
    console.log(
      `${name.padEnd(8)} ${String(orders).padStart(6)} orders  ${(orders / seconds).toFixed(0).padStart(6)}/s  p50 ${ms(percentile(latencies, 50))} ms  p90 ${ms(percentile(latencies, 90))} ms  p99 ${ms(percentile(latencies, 99))} ms  max ${ms(latencies.at(-1)!)} ms  CPU ${ms(cpuMsPerOrder)} ms/order  status ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  }

  await phase('warm-up', Math.min(500, ORDERS), false);
  await phase('quiet', ORDERS);
  // Every fridge of every venue reports a snapshot every SNAPSHOT_MS, spread evenly over time.
  let tick = 0;
  const trafficStart = performance.now();
  const perMs = (VENUES * FRIDGES) / SNAPSHOT_MS;
  const traffic = setInterval(() => {
    const due = Math.floor((performance.now() - trafficStart) * perMs);
    for (; tick < due; tick++) {
      const v = tick % VENUES;
      const g = gateways[v]!;
      g.seq++;
      const fridge = fid(v, Math.floor(tick / VENUES) % FRIDGES) as FridgeId;
      deliver(central, g, () => g.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, fridge, { boot: 1, seq: g.seq, ts: new Date().toISOString(), items: items as never })));
    }
  }, 5);
  await new Promise((r) => setTimeout(r, SNAPSHOT_MS));
  const before = tick;
  await phase('traffic', ORDERS);
  clearInterval(traffic);
  console.log(`snapshots applied during the traffic phase: ${tick - before}`);
  if (central.eventLog !== undefined) {
    await central.eventLog.deriver.settle();
    const latest = (await central.eventLog.log.read(0, 1)).latest;
    consuming = false;
    await Promise.all(consumers);
    console.log(`event log: ${latest} facts appended; consumer groups acknowledged ${consumed} deliveries`);
  }
  await central.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
