/**
 * The example configuration files work together as they are: central from `central.example.yaml`
 * and a gateway from `gateway.example.yaml`, each read by its own CLI's config reader with only
 * ports, data directories, central's address and the demo token overridden from the environment
 * (the documented way), sync. A gateway whose id does not match its token's binding is refused by
 * central before the upgrade: it is not ready, `/status` says why, and it backs off.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig, parseConfigFile } from '@fridgesync/shared';
import { buildApp, CentralConfigSchema, type Central, type CentralConfig } from '@fridgesync/server';
import { createAgent, GatewayConfigSchema, type Agent, type GatewayConfig } from '@fridgesync/gateway-agent';
import { waitFor } from '@fridgesync/shared/test-harness';

const ROOT = resolve(import.meta.dirname, '../..');
/** The demo token whose hash `central.example.yaml` binds to gateway g1 of venue berlin-hq. */
const DEMO_GATEWAY_TOKEN = 'demo-gateway-g1';

let central: Central | undefined;
let agent: Agent | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await agent?.close();
  await central?.close();
  agent = undefined;
  central = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Reads a config file as both CLIs do: YAML, then environment overrides, then the schema. */
const read = (file: string) => parseConfigFile(join(ROOT, file), (p) => readFileSync(p, 'utf8'));
const readCentralConfig = (file: string, env: Record<string, string>) => loadConfig(CentralConfigSchema, { file: read(file), env, readFile: (p) => readFileSync(p, 'utf8') }) as CentralConfig;
const readGatewayConfig = (file: string, env: Record<string, string>) => loadConfig(GatewayConfigSchema, { file: read(file), env, readFile: (p) => readFileSync(p, 'utf8') }) as GatewayConfig;

const temp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

async function startBoth(gatewayEnv: Record<string, string> = {}): Promise<{ agent: Agent; http: string }> {
  const c = readCentralConfig('central.example.yaml', {
    FRIDGESYNC_HTTP__PORT: '0',
    FRIDGESYNC_STORAGE__DATA_DIR: temp('fs-ex-central-'),
    FRIDGESYNC_LOG_LEVEL: 'silent',
  });
  central = await buildApp(c, { logger: pino({ level: 'silent' }) });
  const url = await central.listen();
  const g = readGatewayConfig('gateway.example.yaml', {
    FRIDGESYNC_CENTRAL__URL: url.replace(/^http/, 'ws'),
    FRIDGESYNC_CENTRAL__TOKEN: DEMO_GATEWAY_TOKEN,
    FRIDGESYNC_HTTP__PORT: '0',
    FRIDGESYNC_MQTT__EMBEDDED__PORT: '0',
    FRIDGESYNC_MQTT__EMBEDDED__HOST: '127.0.0.1',
    FRIDGESYNC_STORAGE__DATA_DIR: temp('fs-ex-gateway-'),
    FRIDGESYNC_LOG_LEVEL: 'silent',
    ...gatewayEnv,
  });
  agent = await createAgent(g, { logger: pino({ level: 'silent' }) });
  return { agent, http: `http://127.0.0.1:${agent.httpPort}` };
}

describe('example configs', () => {
  it('central.example.yaml and gateway.example.yaml work together: the gateway syncs and is ready', async () => {
    const { agent: a, http } = await startBoth();
    await waitFor(() => a.sync?.state === 'synced' && a.replica.state === 'active', 15_000, 'gateway synced');
    await waitFor(async () => (await fetch(`${http}/readyz`)).status === 200, 5_000, 'readyz 200');
    expect(a.status()).toMatchObject({ gatewayId: 'g1', venueId: 'berlin-hq', replica: 'gw:g1:1', notReady: [] });
    expect(a.sync?.refusal).toBeUndefined();
  });

  it('a gateway id the token is not bound to is refused before the upgrade: not ready, /status says why, reconnects back off', async () => {
    const { agent: a, http } = await startBoth({ FRIDGESYNC_GATEWAY_ID: 'gw-berlin-01', FRIDGESYNC_CENTRAL__BACKOFF_MIN_MS: '50', FRIDGESYNC_CENTRAL__BACKOFF_MAX_MS: '400' });
    await waitFor(() => a.sync?.refusal !== undefined, 10_000, 'refusal');
    expect(a.sync!.refusal).toMatchObject({ status: 403, reason: expect.stringMatching(/bound to gateway g1, not gw-berlin-01/) });
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { message: string }).message).toMatch(/central refuses this gateway .*bound to gateway g1, not gw-berlin-01/);
    const status = (await (await fetch(`${http}/status`)).json()) as { sync: { state: string; refusal: unknown }; notReady: string[]; lifecycle: string };
    expect(status.lifecycle).toBe('joining');
    expect(status.notReady.join('; ')).toMatch(/central refuses this gateway/);
    expect(['refused', 'connecting']).toContain(status.sync.state);
    // Backoff: the attempt count keeps growing (it would stay 0 if each refusal reset it).
    await waitFor(() => a.sync!.status().reconnectAttempt >= 3, 10_000, 'three retries');
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/^fridgesync_gateway_central_refused 1$/m);
    expect(a.sync?.state).not.toBe('synced');
  });
});
