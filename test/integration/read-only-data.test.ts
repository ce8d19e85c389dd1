/**
 * A data directory that cannot be written is reported as such — never as a corrupted store, whose
 * advice (`repair`) would move an intact store aside with the writes central has not received —
 * with its own exit status (3, docs/operations.md "Exit status"), by the real `fridgesync` command:
 * gateway run, repair and doctor, and central.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLevelStore } from '@fridgesync/gateway-agent';
import { createLevelStorage } from '@fridgesync/server';
import { exitsWithin, readOnlyCapable, spawnCli } from './helpers/cli.ts';
import { useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();

function gatewayConfig(dir: string, dataDir: string): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, JSON.stringify({ gatewayId: 'gw1', venueId: 'v1', storage: { dataDir }, mqtt: { embedded: { host: '127.0.0.1', port: 0 } }, http: { host: '127.0.0.1', port: 0 } }));
  return file;
}

describe('a data directory that cannot be written', () => {
  it('gateway: run and repair say so and exit 3, repair moves nothing, doctor names it', async (ctx) => {
    const place = readOnlyCapable(defer, 'read-only gateway data directory');
    if (place === undefined) return ctx.skip();
    const dataDir = join(place.dir, 'data');
    const s = await openLevelStore(dataDir);
    await s.append(new Uint8Array([1, 2, 3]));
    await s.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: Date.now() } as never);
    await s.close();
    // The config lives outside: the data directory's file system is the read-only one.
    const file = gatewayConfig(tempDir(), dataDir);
    place.makeReadOnly();

    const run = spawnCli(defer, ['gateway', '--config', file]);
    expect(await exitsWithin(run, 20_000), run.output()).toBe(3);
    expect(run.output()).toContain(`the data directory ${dataDir} is not writable`);
    expect(run.output()).toContain(place.code);
    expect(run.output()).toContain('do not run repair');
    expect(run.output()).not.toContain('corrupted');

    const repair = spawnCli(defer, ['gateway', 'repair', '--config', file]);
    expect(await exitsWithin(repair, 20_000), repair.output()).toBe(3);
    expect(repair.output()).toContain('repair changed nothing');
    expect(readdirSync(place.dir).filter((n) => n.includes('broken'))).toEqual([]);

    const doctor = spawnCli(defer, ['gateway', 'doctor', '--config', file]);
    expect(await exitsWithin(doctor, 20_000)).toBe(1);
    expect(doctor.output()).toMatch(new RegExp(`FAIL\\s+data directory\\s+${dataDir} is not writable: .*${place.code}`));
  });

  it('central: says so and exits 3', async (ctx) => {
    const place = readOnlyCapable(defer, 'read-only central data directory');
    if (place === undefined) return ctx.skip();
    const dataDir = join(place.dir, 'central');
    const storage = createLevelStorage({ dir: dataDir });
    await storage.open();
    await storage.append('v1' as never, new Uint8Array([0, 0]));
    await storage.close();
    const file = join(tempDir(), 'central.yaml');
    writeFileSync(file, JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, storage: { engine: 'level', dataDir } }));
    place.makeReadOnly();

    const run = spawnCli(defer, ['central', '--config', file]);
    expect(await exitsWithin(run, 20_000), run.output()).toBe(3);
    expect(run.output()).toContain(`the data directory ${dataDir} is not writable`);
    expect(run.output()).toContain(place.code);
  });
});
