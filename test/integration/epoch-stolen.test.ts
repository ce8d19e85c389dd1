/**
 * Reconcilership taken by a join is never silent (docs/operations.md, "Trust"): while the real
 * gateway g1 (epoch 1) is offline with its store intact, another process with g1's token joins as a
 * normal gateway and so retires epoch 1. Central warns and counts an allocation whose previous epoch
 * was live; the real gateway, back, is told 4410 naming its successor, logs at error that another
 * process joined with its token, stays refused (not ready, gauge) while the other process is
 * connected, and settles once it has rejoined under a new epoch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { createAgent, GatewayConfigSchema, type Agent } from '@fridgesync/gateway-agent';
import { startCentral, TOKENS, type TestCentral } from '../../server/test/helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';

let t: TestCentral | undefined;
const agents: Agent[] = [];
let dir = '';
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
  await t?.close();
  t = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Line = { level: number; msg: string; [k: string]: unknown };

/** A pino logger whose lines at `level` and above are kept. */
function capturingLogger(lines: Line[], level = 'warn'): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return pino({ level }, stream);
}

async function startGateway(dataDir: string, logger = pino({ level: 'silent' })): Promise<Agent> {
  const config = GatewayConfigSchema.parse({
    gatewayId: 'g1',
    venueId: 'v1',
    mqtt: { embedded: { host: '127.0.0.1', port: 0 } },
    central: { url: t!.wsUrl, token: TOKENS.gw1, backoffMinMs: 50, backoffMaxMs: 200 },
    http: { host: '127.0.0.1', port: 0 },
    storage: { dataDir },
    // Offline restarts keep the epoch: the store stays intact and the replica active.
    shutdown: { retire: 'never' },
    logLevel: 'silent',
  });
  const a = await createAgent(config, { logger });
  agents.push(a);
  return a;
}

const metricsText = async () => (await t!.central.app.inject({ url: '/metrics' })).body;

describe('another process joining with a gateway’s token', () => {
  it('central warns and counts it; the real gateway logs at error, stays refused until it has rejoined', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fs-stolen-'));
    const centralLogs: Line[] = [];
    t = await startCentral({ listen: true, deps: { logger: capturingLogger(centralLogs) } });
    let real = await startGateway(join(dir, 'real'));
    await waitFor(() => real.sync?.state === 'synced' && real.replica.replica === 'gw:g1:1' && real.sync.pendingCentral() === 0, 10_000, 'real gateway synced');
    expect(await metricsText()).toMatch(/^fridgesync_epochs_allocated_total\{previous="none"\} 1$/m);
    await real.close();
    agents.splice(agents.indexOf(real), 1);

    // The other process: an empty store, the same token. It joins normally and retires epoch 1.
    const thief = await startGateway(join(dir, 'thief'));
    await waitFor(() => thief.sync?.state === 'synced' && thief.replica.replica === 'gw:g1:2' && thief.sync.pendingCentral() === 0, 10_000, 'thief synced');
    expect(await metricsText()).toMatch(/^fridgesync_epochs_allocated_total\{previous="live"\} 1$/m);
    expect(centralLogs.some((l) => l.level === 40 && /allocated gw:g1:2 while gw:g1:1 had not retired: .*another process joined with this gateway's token/.test(l.msg))).toBe(true);

    // The real gateway comes back on its intact store while the other process is connected.
    const logs: Line[] = [];
    real = await startGateway(join(dir, 'real'), capturingLogger(logs));
    await waitFor(() => logs.some((l) => l.level === 50 && /this replica was retired by gw:g1:2 \(another process joined with this gateway's token\?\)/.test(l.msg)), 10_000, 'error log');
    await waitFor(() => real.sync?.refusal !== undefined, 10_000, 'refused');
    expect((await fetch(`http://127.0.0.1:${real.httpPort}/readyz`)).status).toBe(503);
    expect(await (await fetch(`http://127.0.0.1:${real.httpPort}/metrics`)).text()).toMatch(/^fridgesync_gateway_central_refused 1$/m);
    // Its rejoin is refused (4412) while gw:g1:2 is connected: the alert stays.
    await waitFor(() => real.sync!.status().reconnectAttempt >= 3, 10_000, 'retries');
    expect(real.sync!.refusal).toBeDefined();

    // The other process goes away: the real gateway rejoins under a new epoch and settles.
    await thief.close();
    agents.splice(agents.indexOf(thief), 1);
    await waitFor(() => real.replica.replica === 'gw:g1:3' && real.sync?.state === 'synced' && real.sync.refusal === undefined, 15_000, 'rejoined');
    expect(await (await fetch(`http://127.0.0.1:${real.httpPort}/metrics`)).text()).toMatch(/^fridgesync_gateway_central_refused 0$/m);
    expect((await fetch(`http://127.0.0.1:${real.httpPort}/readyz`)).status).toBe(200);
  });
});
