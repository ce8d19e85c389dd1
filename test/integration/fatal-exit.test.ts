/**
 * A process that cannot go on exits, non-zero and within a few seconds, so a supervisor (systemd
 * `Restart=on-failure`, Docker `restart:`) restarts it (docs/operations.md "Exit status"). Run on the
 * real `fridgesync` command: a port already taken at start, and a disk that fills up under a running
 * gateway and a running central (a size-limited tmpfs; skipped loudly where mounting is not allowed).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { hashSecret, openLevelStore } from '@fridgesync/gateway-agent';
import { hashToken } from '@fridgesync/server';
import { exitsWithin, fillDisk, freePort, mountTmpfs, occupyPort, spawnCli } from './helpers/cli.ts';
import { useTeardown, waitFor } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();

/** How long a failed process may take to exit (bounded shutdown plus Node start-up under load). */
const EXIT_WITHIN_MS = 10_000;

function gatewayConfig(dir: string, over: { mqttPort?: number; httpPort?: number; fridges?: Record<string, string> } = {}): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      gatewayId: 'gw1',
      venueId: 'v1',
      logLevel: 'info',
      storage: { dataDir: join(dir, 'data') },
      mqtt: { topicPrefix: '', embedded: { host: '127.0.0.1', port: over.mqttPort ?? 0 }, fridges: over.fridges ?? {} },
      http: { host: '127.0.0.1', port: over.httpPort ?? 0 },
      shutdown: { graceMs: 3_000 },
    }),
  );
  return file;
}

function centralConfig(dir: string, port: number, dataDir: string): string {
  const file = join(dir, 'central.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port, shutdownGraceMs: 3_000 },
      storage: { engine: 'level', dataDir },
      tokens: [{ role: 'admin', name: 'admin', hash: hashToken('admin-token') }],
      logLevel: 'info',
    }),
  );
  return file;
}

/** An intact store of replica gw:gw1:1 that may write without central. */
async function seedActiveStore(dataDir: string): Promise<void> {
  const s = await openLevelStore(dataDir);
  await s.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: Date.now() } as never);
  await s.close();
}

describe('a gateway that cannot go on exits', () => {
  for (const which of ['mqtt', 'http'] as const) {
    it(`exits non-zero within seconds when its ${which} port is taken`, async () => {
      const dir = tempDir();
      await seedActiveStore(join(dir, 'data'));
      const taken = await occupyPort(defer);
      const p = spawnCli(defer, ['gateway', '--config', gatewayConfig(dir, which === 'mqtt' ? { mqttPort: taken } : { httpPort: taken })]);
      const code = await exitsWithin(p, EXIT_WITHIN_MS + 10_000);
      expect(code, p.output()).toBe(1);
      expect(p.output()).toContain('EADDRINUSE');
    });
  }

  it('exits non-zero within seconds after a synced write fails (disk full)', async (ctx) => {
    const mnt = mountTmpfs(defer, 8 * 1024 * 1024, 'gateway disk-full exit');
    if (mnt === undefined) return ctx.skip();
    await seedActiveStore(join(mnt, 'data'));
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const file = gatewayConfig(mnt, { mqttPort, httpPort, fridges: { f1: hashSecret('secret-f1') } });
    const p = spawnCli(defer, ['gateway', '--config', file]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok, 30_000, 'gateway ready');
    const fridge = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'f1', username: 'f1', password: 'secret-f1', protocolVersion: 4, reconnectPeriod: 0 });
    defer(() => fridge.end(true));
    fillDisk(mnt);
    // LevelDB's log may still have room in a page it already holds: publish until a write fails.
    const publishing = (async () => {
      for (let seq = 1; seq < 100_000 && fridge.connected; seq++) {
        const pub = fridge.publishAsync('fridges/f1/inventory', JSON.stringify({ boot: 1, seq, ts: new Date().toISOString(), items: { m1: seq % 40 } }), { qos: 1 });
        // No PUBACK within 2 s: the gateway stopped acknowledging.
        const acked = await Promise.race([pub.then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 2_000))]);
        if (!acked) return;
      }
    })();
    await waitFor(() => p.output().includes('fatal: exiting so the store can be recovered'), 60_000, 'fatal line logged');
    const loggedAt = Date.now();
    const code = await exitsWithin(p, EXIT_WITHIN_MS);
    expect(code, p.output()).toBe(1);
    expect(Date.now() - loggedAt).toBeLessThan(EXIT_WITHIN_MS);
    expect(p.output()).toMatch(/ENOSPC|No space left/);
    fridge.end(true);
    await publishing;
  });
});

describe('a central that cannot go on exits', () => {
  it('exits non-zero within seconds when its port is taken', async () => {
    const dir = tempDir();
    const taken = await occupyPort(defer);
    const p = spawnCli(defer, ['central', '--config', centralConfig(dir, taken, join(dir, 'data'))]);
    const code = await exitsWithin(p, EXIT_WITHIN_MS + 10_000);
    expect(code, p.output()).toBe(1);
    expect(p.output()).toContain('EADDRINUSE');
  });

  it('exits non-zero within seconds after a synced write fails (disk full)', async (ctx) => {
    const mnt = mountTmpfs(defer, 8 * 1024 * 1024, 'central disk-full exit');
    if (mnt === undefined) return ctx.skip();
    const port = await freePort();
    const p = spawnCli(defer, ['central', '--config', centralConfig(mnt, port, join(mnt, 'data'))]);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 30_000, 'central ready');
    fillDisk(mnt);
    // Each new venue is a synced write; the first that finds no room is fatal.
    for (let i = 0; i < 500 && !p.output().includes('synced write failed'); i++) {
      await fetch(`${base}/v1/admin/venues/v${i}`, {
        method: 'PUT',
        headers: { authorization: 'Bearer admin-token', 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Venue ${i} ${'x'.repeat(100)}`, city: 'Berlin', timezone: 'UTC' }),
        signal: AbortSignal.timeout(5_000),
      }).catch(() => undefined);
    }
    await waitFor(() => p.output().includes('synced write failed'), 30_000, 'fatal line logged');
    const loggedAt = Date.now();
    const code = await exitsWithin(p, EXIT_WITHIN_MS);
    expect(code, p.output()).toBe(1);
    expect(Date.now() - loggedAt).toBeLessThan(EXIT_WITHIN_MS);
    expect(p.output()).toContain('fatal: exiting so central can be restarted');
  });
});
