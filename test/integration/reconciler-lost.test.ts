/**
 * A gateway replica that loses reconcilership notices and says so (docs/sync-protocol.md, "Epoch allocation"): while the real
 * gateway g1 (epoch 1) is offline, another process with its token joins and is allocated epoch 2,
 * which writes and so becomes the fridge's reconciler by the fold. When the real gateway comes back
 * on its intact store it warns, lists the fridge under `reconcilerLost` in `/status`, sets the
 * metric `fridgesync_gateway_reconciler_lost`, and central's venue detail (the dashboard's source)
 * and its `gateway` live event flag the gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ORIGINS, VenueDetailJsonSchema, epochAllocated, gatewayReplicaId, recordSnapshot, type FridgeId, type GatewayId, type VenueDetailJson, type VenueId } from '@fridgesync/shared';
import { createAgent, GatewayConfigSchema, type Agent } from '@fridgesync/gateway-agent';
import { bearer, startCentral, TOKENS, type TestCentral } from '../../server/test/helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../../server/test/helpers/gateway-client.ts';
import { problemsOf } from '../../server/dashboard/model.js';

let t: TestCentral | undefined;
let agent: Agent | undefined;
let dir = '';
afterEach(async () => {
  await agent?.close();
  await t?.close();
  agent = undefined;
  t = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A pino logger whose warn lines are kept (the operator's log). */
function capturingLogger(lines: Array<{ msg: string; fridge?: string }>) {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { msg: string });
      cb();
    },
  });
  return pino({ level: 'warn' }, stream);
}

async function startGateway(logger = pino({ level: 'silent' })): Promise<Agent> {
  const config = GatewayConfigSchema.parse({
    gatewayId: 'g1',
    venueId: 'v1',
    mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
    central: { url: t!.wsUrl, token: TOKENS.gw1, backoffMinMs: 50, backoffMaxMs: 200 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { dataDir: join(dir, 'gateway') },
    reconcile: { debounceMs: 10, sweepIntervalMs: 200 },
    // Offline restarts keep the epoch: the store stays intact and the replica active.
    shutdown: { retire: 'never' },
    logLevel: 'silent',
  });
  return createAgent(config, { logger });
}

describe('a gateway that loses reconcilership', () => {
  it('warns, shows it in /status and the metric, and central flags it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fs-reclost-'));
    t = await startCentral({ listen: true });
    agent = await startGateway();
    await waitFor(() => agent!.sync?.state === 'synced' && agent!.replica.replica === 'gw:g1:1', 10_000, 'gateway synced');
    expect(agent.status().fridgesReconciled).toContain('f1');
    expect(agent.status().reconcilerLost).toEqual([]);
    await agent.close();
    agent = undefined;

    // Another process with g1's token joins while g1 is offline: central allocates epoch 2, and its
    // first entry makes it the reconciler of g1's fridges by the fold.
    const thief = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: gatewayReplicaId('g1' as GatewayId, 2) }).ready();
    expect(epochAllocated(t.central.registry.peek('v1' as VenueId)!.doc, 'g1' as GatewayId, 2)).toBe(true);
    thief.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, 'f1' as FridgeId, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 3 } as never }));
    await thief.durable();
    await thief.close();

    // The live feed tells a dashboard too: a `gateway` event carries the flag.
    const lostEvents: string[][] = [];
    t.central.hub.subscribe((e) => {
      if (e.data.type === 'gateway' && e.data.gateway.gatewayId === 'g1' && e.data.gateway.replica === 'gw:g1:1') lostEvents.push(e.data.gateway.reconcilerLost.map((l) => `${l.fridgeId}>${l.reconciler}`));
    });
    const logs: Array<{ msg: string; fridge?: string }> = [];
    agent = await startGateway(capturingLogger(logs));
    await waitFor(() => agent!.sync?.state === 'synced', 10_000, 'gateway back');
    await waitFor(() => agent!.status().reconcilerLost.length === 2, 10_000, 'reconcilership lost noticed');
    expect(agent.status()).toMatchObject({
      replica: 'gw:g1:1',
      lifecycle: 'active',
      fridgesReconciled: [],
      reconcilerLost: [
        { fridgeId: 'f1', reconciler: 'gw:g1:2' },
        { fridgeId: 'f2', reconciler: 'gw:g1:2' },
      ],
    });
    expect(logs.some((l) => l.fridge === 'f1' && /lost reconcilership of fridge f1 to gw:g1:2/.test(l.msg))).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^fridgesync_gateway_reconciler_lost 2$/m);
    const status = (await (await fetch(`http://127.0.0.1:${agent.httpPort}/status`)).json()) as { reconcilerLost: unknown[] };
    expect(status.reconcilerLost).toHaveLength(2);

    // Central's venue detail flags the connected gateway whose fridges another replica reconciles.
    let detail: VenueDetailJson | undefined;
    await waitFor(async () => {
      const v = VenueDetailJsonSchema.parse((await t!.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json());
      const g1 = v.gateways.find((g) => g.gatewayId === 'g1');
      detail = v;
      return g1?.replica === 'gw:g1:1' && g1.reconcilerLost.length === 2;
    }, 5_000, 'central flags g1');
    await waitFor(() => lostEvents.some((l) => l.join() === 'f1>gw:g1:2,f2>gw:g1:2'), 5_000, 'a gateway event with the flag');
    // The dashboard turns it into an alert (its model module runs in the browser and in node).
    const alerts = problemsOf(detail!, detail!);
    expect(alerts).toContainEqual({ key: 'rec-lost:v1:g1:f1', level: 'bad', text: expect.stringMatching(/Gateway g1 at .* is connected as gw:g1:1 but fridge f1 is reconciled by gw:g1:2/) });
  });
});
