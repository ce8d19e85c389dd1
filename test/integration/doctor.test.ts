/**
 * `fridgesync gateway doctor` against a real central: PASS lines when everything is right, FAIL
 * naming the cause for a wrong token, an unreachable central and an occupied broker port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, CentralConfigSchema, hashToken, type Central } from '@fridgesync/server';

import { formatDoctor, GatewayConfigSchema, runDoctor } from '@fridgesync/gateway-agent';

describe('gateway doctor', () => {
  let central: Central;
  let url = '';
  let dir = '';
  let blocker: Server;
  let blockedPort = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fs-doctor-'));
    central = await buildApp(
      CentralConfigSchema.parse({
        http: { host: '127.0.0.1', port: 0 },
        storage: { engine: 'memory' },
        tokens: [{ role: 'gateway', name: 'gw', hash: hashToken('right-token'), venueId: 'v1', gatewayId: 'g1' }],
        registry: { venues: [{ id: 'v1', name: 'V1', city: 'C', timezone: 'UTC', gateways: [{ id: 'g1' }] }] },
        logLevel: 'silent',
      }),
    );
    url = (await central.listen()).replace('http', 'ws');
    blocker = createServer((s) => s.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    blockedPort = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    await central.close();
    await new Promise<void>((r) => blocker.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (over: { token?: string; url?: string; port?: number; gatewayId?: string; maxClockSkewMs?: number }) =>
    GatewayConfigSchema.parse({
      gatewayId: over.gatewayId ?? 'g1',
      venueId: 'v1',
      mqtt: { embedded: { host: '127.0.0.1', port: over.port ?? 0 } },
      central: { url: over.url ?? url, token: over.token ?? 'right-token', ...(over.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: over.maxClockSkewMs }) },
      storage: { dataDir: join(dir, 'data') },
    });

  it('passes when config, disk, port, central and token are right', async () => {
    const checks = await runDoctor(config({}));
    const text = formatDoctor(checks);
    expect(checks.filter((c) => c.status === 'FAIL'), text).toEqual([]);
    for (const name of ['config', 'data directory', 'disk space', 'broker port', 'central reachable', 'clock skew', 'token']) {
      expect(checks.map((c) => c.name)).toContain(name);
    }
    expect(text).toMatch(/^PASS {2}config/m);
  });

  it('warns about clock skew at central.maxClockSkewMs, the threshold /status alerts at', async () => {
    const ahead = () => Date.now() + 10_000; // this host 10 s ahead of central
    const skewCheck = async (maxClockSkewMs: number) => (await runDoctor(config({ maxClockSkewMs }), { now: ahead })).find((c) => c.name === 'clock skew');
    expect(await skewCheck(30_000)).toMatchObject({ status: 'PASS' });
    expect(await skewCheck(5_000)).toMatchObject({ status: 'WARN' });
  });

  it('fails on a wrong token, naming it', async () => {
    const checks = await runDoctor(config({ token: 'wrong-token' }));
    expect(checks.find((c) => c.name === 'token')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('401') });
  });

  it('fails when the token is bound to another gateway id, naming both', async () => {
    const checks = await runDoctor(config({ gatewayId: 'gw-berlin-01' }));
    expect(checks.find((c) => c.name === 'token')).toMatchObject({
      status: 'FAIL',
      detail: expect.stringMatching(/HTTP 403 .*bound to gateway g1, not gw-berlin-01/),
    });
  });

  it('fails when central is unreachable and when the broker port is taken', async () => {
    const checks = await runDoctor(config({ url: `ws://127.0.0.1:${blockedPort}`, port: blockedPort }), { timeoutMs: 1_000 });
    expect(checks.find((c) => c.name === 'central reachable')?.status).toBe('FAIL');
    expect(checks.find((c) => c.name === 'broker port')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('EADDRINUSE') });
  });
});
