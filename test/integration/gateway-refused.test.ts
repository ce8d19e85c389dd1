/**
 * A gateway central refuses after the upgrade (a close code, not an HTTP status): an intact store
 * active at an epoch central never allocated and cannot allocate (not the gateway's next one) is
 * closed with 4411 at its hello and again after joining first. The agent is not ready, `/status`
 * carries central's reason, the gauge is set, and its reconnects back off instead of looping at
 * the shortest delay. A store whose upgrade was interrupted (active at the next epoch, which
 * central never stored) joins again, has that epoch allocated, and syncs what it wrote meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as Y from 'yjs';
import { ORIGINS, VenueDoc, declareTaker, epochAllocated, gatewayReplicaId, writeMeta, type GatewayId, type VenueId } from '@fridgesync/shared';
import { createAgent, GatewayConfigSchema, openLevelStore, type Agent } from '@fridgesync/gateway-agent';
import { startCentral, TOKENS, type TestCentral } from '../../server/test/helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

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

function gatewayConfig(wsUrl: string) {
  return GatewayConfigSchema.parse({
    gatewayId: 'g1',
    venueId: 'v1',
    mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
    central: { url: wsUrl, token: TOKENS.gw1, backoffMinMs: 50, backoffMaxMs: 400 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { dataDir: join(dir, 'gateway') },
    shutdown: { retire: 'never' },
    logLevel: 'silent',
  });
}

describe('a gateway whose epoch upgrade was interrupted', () => {
  it('gets 4411, joins again, has the same epoch allocated and syncs what it wrote meanwhile', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fs-refused-'));
    t = await startCentral({ listen: true });
    // The store took epoch 1 (central's next) and wrote its lifecycle entries; the upgrade hello
    // never reached central (the link dropped), so central holds no allocation record.
    const store = await openLevelStore(join(dir, 'gateway'));
    const local = new VenueDoc({ replica: gatewayReplicaId('g1' as GatewayId, 1) });
    const captured: Uint8Array[] = [];
    local.ydoc.on('update', (u: Uint8Array) => captured.push(u));
    local.transact(ORIGINS.lifecycle, (w) => {
      writeMeta(w, 'interrupted', Date.now());
      declareTaker(w, true, Date.now());
    });
    for (const u of captured) await store.append(u);
    await store.writeMeta({ gatewayId: 'g1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: Date.now() });
    await store.close();
    agent = await createAgent(gatewayConfig(t.wsUrl), { logger: pino({ level: 'silent' }) });
    expect(agent.replica.replica).toBe('gw:g1:1');
    await waitFor(() => agent!.sync?.state === 'synced' && agent!.sync.refusal === undefined && agent!.sync.pendingCentral() === 0, 15_000, 'synced');
    const host = t.central.registry.peek('v1' as VenueId)!;
    expect(epochAllocated(host.doc, 'g1' as GatewayId, 1)).toBe(true);
    expect(host.doc.index.meta.get(gatewayReplicaId('g1' as GatewayId, 1))?.v).toBe('interrupted');
    expect(agent.replica.replica).toBe('gw:g1:1');
    expect((await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`)).status).toBe(200);
  });
});

describe('a gateway central refuses with a close code', () => {
  it('4411 for an epoch central never allocated: not ready, reason in /status, backoff grows', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fs-refused-'));
    t = await startCentral({ listen: true });
    // An intact store that says it is gw:g1:5, which central's document has never heard of and
    // cannot allocate (its next epoch of g1 is 1): joining first does not help.
    const store = await openLevelStore(join(dir, 'gateway'));
    await store.writeMeta({ gatewayId: 'g1', venueId: 'v1', epoch: 5, state: 'active', updatedAt: Date.now() });
    await store.close();
    const config = gatewayConfig(t.wsUrl);
    agent = await createAgent(config, { logger: pino({ level: 'silent' }) });
    expect(agent.replica.replica).toBe('gw:g1:5');
    await waitFor(() => agent!.sync?.refusal !== undefined, 10_000, 'refusal');
    expect(agent.sync!.refusal).toMatchObject({ code: 4411, reason: expect.stringMatching(/epoch 5 of gateway g1 was never allocated/) });
    const ready = await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { message: string }).message).toMatch(/central refuses this gateway/);
    await waitFor(() => agent!.sync!.status().reconnectAttempt >= 3, 10_000, 'retries');
    expect(agent.sync!.refusal?.code).toBe(4411);
    expect(agent.replica.replica).toBe('gw:g1:5');
    expect(epochAllocated(t.central.registry.peek('v1' as VenueId)!.doc, 'g1' as GatewayId, 5)).toBe(false);
    expect(await (await fetch(`http://127.0.0.1:${agent.httpPort}/metrics`)).text()).toMatch(/^fridgesync_gateway_central_refused 1$/m);
  });
});
