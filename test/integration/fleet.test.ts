/**
 * The simulator's client-side checks against the real system: central and two gateways (embedded
 * brokers, LevelDB), one of which loses its link to central for a while, a fleet of fridges with
 * duplicates, reorders and reboots (forgotten boot counters included), customers ordering through
 * central and the kiosks, walk-ins and a kitchen. Afterwards no order was confirmed beyond what a
 * fridge held, and central's catalog converges to every fridge's totals minus open reservations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, CentralConfigSchema, hashToken, type Central } from '@fridgesync/server';
import { createAgent, GatewayConfigSchema, hashSecret, type Agent } from '@fridgesync/gateway-agent';
import { createFleet, generateFleet, parseFaults, parseKitchenSchedule } from '@fridgesync/simulators';
import { startLinkProxy, type LinkProxy } from '../../scripts/demo/link-proxy.ts';

const RUN_MS = Number(process.env.FRIDGESYNC_FLEET_TEST_MS ?? 20_000);

describe('simulated fleet against central and gateways', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-fleet-'));
  let central: Central | undefined;
  const agents: Agent[] = [];
  let proxy: LinkProxy | undefined;
  afterAll(async () => {
    for (const a of agents) await a.close().catch(() => undefined);
    await proxy?.close();
    await central?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('confirms nothing beyond stock and its catalog converges, with faults and a link cut', { timeout: RUN_MS + 120_000 }, async () => {
    const fleet = generateFleet({ venues: 2, fridges: 2, meals: 4 });
    const tokens = { app: 'fleet-app', kitchen: 'fleet-kitchen', gw: (v: string) => `fleet-gw-${v}` };
    const kioskToken = (v: string) => `fleet-kiosk-token-${v}`;
    central = await buildApp(
      CentralConfigSchema.parse({
        http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 500 },
        storage: { engine: 'level', dataDir: join(dir, 'central') },
        orders: { sweepMs: 200 },
        tokens: [
          { role: 'app', name: 'app', hash: hashToken(tokens.app) },
          { role: 'kitchen', name: 'kitchen', hash: hashToken(tokens.kitchen) },
          ...fleet.venues.map((v) => ({ role: 'gateway' as const, name: v.gatewayId, hash: hashToken(tokens.gw(v.venueId)), venueId: v.venueId, gatewayId: v.gatewayId })),
        ],
        registry: {
          venues: fleet.venues.map((v) => ({
            id: v.venueId,
            name: v.venueId,
            city: v.city,
            timezone: 'UTC',
            gateways: [{ id: v.gatewayId }],
            fridges: v.fridges.map((f) => ({ id: f.fridgeId, reconciler: v.gatewayId, par: f.par })),
          })),
          meals: fleet.meals.map((m) => ({ id: m.mealId, name: m.name ?? m.mealId, priceCents: m.priceCents ?? 500 })),
        },
        logLevel: 'silent',
      }),
    );
    const base = await central.listen();
    const port = Number(new URL(base).port);
    proxy = await startLinkProxy('127.0.0.1', port);
    const brokerUrls: Record<string, string> = {};
    const kioskUrls: Record<string, string> = {};
    for (const [i, v] of fleet.venues.entries()) {
      const via = i === 1 ? proxy.port : port; // the second venue's link can be cut
      const agent = await createAgent(
        GatewayConfigSchema.parse({
          gatewayId: v.gatewayId,
          venueId: v.venueId,
          mqtt: { embedded: { host: '127.0.0.1', port: 0 }, fridges: Object.fromEntries(v.fridges.map((f) => [f.fridgeId, hashSecret(f.secret)] as const)) },
          central: { url: `ws://127.0.0.1:${via}`, token: tokens.gw(v.venueId), backoffMinMs: 50, backoffMaxMs: 500 },
          // Every kiosk asks for its token; the simulated kiosk customers send it from the fleet file.
          http: { host: '127.0.0.1', port: 0, kioskToken: kioskToken(v.venueId) },
          storage: { dataDir: join(dir, v.gatewayId) },
          reconcile: { debounceMs: 20, sweepIntervalMs: 500 },
          logLevel: 'silent',
        }),
      );
      agents.push(agent);
      const deadline = Date.now() + 20_000;
      while (!agent.replica.writable && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(agent.replica.writable).toBe(true);
      brokerUrls[v.venueId] = `mqtt://127.0.0.1:${agent.mqttPort}`;
      kioskUrls[v.venueId] = `http://127.0.0.1:${agent.httpPort}`;
    }
    const cut = fleet.venues[1]!.venueId;
    const sim = createFleet({
      fleet: { ...fleet, venues: fleet.venues.map((v) => ({ ...v, kioskToken: kioskToken(v.venueId) })) },
      brokerUrls,
      kioskUrls,
      central: { url: base, appToken: tokens.app, kitchenToken: tokens.kitchen },
      seed: 7,
      intervalMs: 500,
      customersPerMinute: 240,
      walkInsPerMinute: 60,
      holdSeconds: 5,
      kitchen: parseKitchenSchedule('every:6s'),
      faults: parseFaults('duplicate=0.1,reorder=0.1,reboot=0.02,forget-boot=0.5'),
      checkGraceMs: 3_000,
      convergeTimeoutMs: 30_000,
    });
    // Cut the second venue's link for a third of the run, in the middle.
    const timers = [
      setTimeout(() => {
        proxy!.cut();
        const ended = sim.noteVenueFault(cut, 'link-cut');
        timers.push(setTimeout(() => (proxy!.restore(), ended()), RUN_MS / 3));
      }, RUN_MS / 3),
    ];
    const report = await sim.run(RUN_MS);
    for (const t of timers) clearTimeout(t);
    proxy.restore();
    const summary = { counters: report.counters, oversell: report.checks.oversell, catalog: report.checks.catalog, errors: report.errors.slice(0, 5) };
    expect(report.counters.ordersConfirmed, JSON.stringify(summary)).toBeGreaterThan(10);
    expect(report.counters.walkIns).toBeGreaterThan(0);
    expect(report.counters.kioskOrders, JSON.stringify(summary)).toBeGreaterThan(0);
    expect(report.errors.filter((e) => e.includes('UNAUTHENTICATED') || e.includes('FORBIDDEN')), JSON.stringify(summary)).toEqual([]);
    // Kiosk pickups go through the gateway's unlock command, which the fridge receives.
    expect(report.counters.unlocks, JSON.stringify(summary)).toBeGreaterThan(0);
    expect(report.counters.unlocksRefused, JSON.stringify(summary)).toBe(0);
    expect(report.counters.commandsReceived).toBeGreaterThan(0);
    expect(report.checks.oversell.ok, JSON.stringify(summary.oversell)).toBe(true);
    expect('ok' in report.checks.catalog && report.checks.catalog.ok, JSON.stringify(summary.catalog)).toBe(true);
    expect(report.ok, JSON.stringify(summary)).toBe(true);
  });
});
