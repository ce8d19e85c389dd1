/**
 * A gateway central refuses after the upgrade (a close code, not an HTTP status): an intact store
 * active at an epoch central never allocated and does not know is closed with 4411 at its hello.
 * The agent is not ready, `/status` carries central's reason, the gauge is set, and its reconnects
 * back off instead of looping at the shortest delay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createAgent, GatewayConfigSchema, openLevelStore, type Agent } from '@fridgesync/gateway-agent';
import { startCentral, TOKENS, waitFor, type TestCentral } from '../../server/test/helpers/central.ts';

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

describe('a gateway central refuses with a close code', () => {
  it('4411 for an epoch central never allocated: not ready, reason in /status, backoff grows', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fs-refused-'));
    t = await startCentral({ listen: true });
    // An intact store that says it is gw:g1:5, which central's document has never heard of.
    const store = await openLevelStore(join(dir, 'gateway'));
    await store.writeMeta({ gatewayId: 'g1', venueId: 'v1', epoch: 5, state: 'active', updatedAt: Date.now() });
    await store.close();
    const config = GatewayConfigSchema.parse({
      gatewayId: 'g1',
      venueId: 'v1',
      mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
      central: { url: t.wsUrl, token: TOKENS.gw1, backoffMinMs: 50, backoffMaxMs: 400 },
      http: { host: '127.0.0.1', port: 0 },
      storage: { dataDir: join(dir, 'gateway') },
      shutdown: { retire: 'never' },
      logLevel: 'silent',
    });
    agent = await createAgent(config, { logger: pino({ level: 'silent' }) });
    expect(agent.replica.replica).toBe('gw:g1:5');
    await waitFor(() => agent!.sync?.refusal !== undefined, 10_000, 'refusal');
    expect(agent.sync!.refusal).toMatchObject({ code: 4411, reason: expect.stringMatching(/epoch 5 of gateway g1 was never allocated/) });
    const ready = await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { message: string }).message).toMatch(/central refuses this gateway/);
    await waitFor(() => agent!.sync!.status().reconnectAttempt >= 3, 10_000, 'retries');
    expect(agent.sync!.refusal?.code).toBe(4411);
    expect(await (await fetch(`http://127.0.0.1:${agent.httpPort}/metrics`)).text()).toMatch(/^fridgesync_gateway_central_refused 1$/m);
  });
});
