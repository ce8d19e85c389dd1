import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { FridgeIdSchema, observedSnapshot } from '@fridgesync/shared';
import { main, type MainIo } from '../src/main.ts';
import { verifySecret } from '../src/fridge-secrets.ts';
import { GatewayConfigSchema } from '../src/config-schema.ts';
import { connectFridge, freePort, fridgeHashes, inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const MAIN = resolve(import.meta.dirname, '../src/main.ts');

function io(env: Record<string, string> = {}): MainIo & { output: string[]; errors: string[] } {
  const output: string[] = [];
  const errors: string[] = [];
  return { output, errors, out: (s) => output.push(s), err: (s) => errors.push(s), env, stdin: async () => 'a-fridge-secret-of-32-characters\n' };
}

/** Spawns `main.ts run` as a real process (tsx), returning it and a way to collect stderr. */
function spawnAgent(configFile: string): { child: ChildProcess; stderr: () => string } {
  let err = '';
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FRIDGESYNC_LOG_LEVEL: 'warn' } });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => err };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

describe('main', () => {
  it('config check lists every problem and exits non-zero', async () => {
    const dir = tempDir();
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, stringify({ venueId: 'bad venue', mqtt: { mode: 'external', topicPrefix: 'x' }, http: { port: 70000 } }));
    const o = io({ FRIDGESYNC_CENTRAL__URL: 'http://nope' });
    expect(await main(['config', 'check', '--config', file], o)).toBe(2);
    const text = o.errors.join('\n');
    for (const p of ['gatewayId', 'venueId', 'mqtt.topicPrefix', 'http.port', 'central.url']) expect(text).toContain(p);
  });

  it('config check accepts a valid file with environment overrides and secret files', async () => {
    const dir = tempDir();
    const file = join(dir, 'gw.yaml');
    writeFileSync(join(dir, 'token'), 'tok\n');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', central: { url: 'ws://central:8080' } }));
    const o = io({ FRIDGESYNC_CENTRAL__TOKEN_FILE: join(dir, 'token'), FRIDGESYNC_HTTP__PORT: '9000' });
    expect(await main(['gateway', 'config', 'check', '--config', file], o)).toBe(0);
    expect(o.output.join()).toContain('configuration ok');
  });

  it('config check loads a file that still sets a retired key, and warns that it is ignored', async () => {
    const dir = tempDir();
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', reconcile: { seqResetGap: 1000, debounceMs: 100 } }));
    const o = io();
    expect(await main(['config', 'check', '--config', file], o)).toBe(0);
    expect(o.output.join()).toContain('configuration ok');
    expect(o.errors).toEqual([expect.stringMatching(/^warning: reconcile\.seqResetGap is no longer read \(.*\); it is ignored/)]);
    // Any other unknown key is still refused.
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', reconcile: { seqResetGaps: 1000 } }));
    const o2 = io();
    expect(await main(['config', 'check', '--config', file], o2)).toBe(2);
    expect(o2.errors.join('\n')).toContain('seqResetGaps');
  });

  it('doctor reports the data directory and fails when central is unreachable', async () => {
    const dir = tempDir();
    const file = join(dir, 'gw.yaml');
    const port = await freePort();
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', storage: { dataDir: join(dir, 'data') }, mqtt: { embedded: { port: 0 } }, central: { url: `ws://127.0.0.1:${port}`, token: 't' } }));
    const o = io();
    expect(await main(['doctor', '--config', file], o)).toBe(1);
    expect(o.output.join('\n')).toMatch(/PASS\s+data directory/);
    expect(o.output.join('\n')).toMatch(/FAIL/);
  });

  it('answers --help, --version and hash-secret', async () => {
    const o = io();
    expect(await main(['--help'], o)).toBe(0);
    expect(o.output[0]).toContain('config check');
    expect(await main(['hash-secret'], o)).toBe(0);
    expect(o.output[1]).toMatch(/^hs256\$/);
    expect(await verifySecret('a-fridge-secret-of-32-characters', o.output[1]!)).toBe(true);
    // A secret too short to hold 128 random bits is refused.
    expect(await main(['hash-secret'], { ...io(), stdin: async () => 'short-secret\n' })).toBe(2);
    // --allow-short migrates an existing shorter secret, with a warning; still not an empty one.
    const short = { ...io(), stdin: async () => 'short-secret\n' };
    expect(await main(['gateway', 'hash-secret', '--allow-short'], short)).toBe(0);
    expect(await verifySecret('short-secret', short.output[0]!)).toBe(true);
    expect(short.errors.join('\n')).toMatch(/warning: a 12-character secret/);
    expect(await main(['hash-secret', '--allow-short'], { ...io(), stdin: async () => 'tiny\n' })).toBe(2);
    expect(await main(['doctor', '--allow-short'], io())).toBe(2);
    expect(await main(['frobnicate'], o)).toBe(2);
  });

  it('add-fridge prints a new secret once with the config line holding its hash', async () => {
    const o = io();
    expect(await main(['gateway', 'add-fridge', 'fridge-001'], o)).toBe(0);
    const text = o.output.join('\n');
    const secret = /^  ([A-Za-z0-9_-]{32})$/m.exec(text)?.[1];
    const line = /^  (fridge-001: "hs256\$[^"]+")$/m.exec(text)?.[1];
    expect(secret, text).toBeDefined();
    expect(line, text).toBeDefined();
    // The printed line is valid YAML for mqtt.fridges, and its hash verifies the printed secret.
    const fridges = parse(line!) as Record<string, string>;
    expect(GatewayConfigSchema.safeParse({ gatewayId: 'gw1', venueId: 'v1', mqtt: { fridges } }).success).toBe(true);
    expect(await verifySecret(secret!, fridges['fridge-001']!)).toBe(true);
    const again = io();
    await main(['add-fridge', 'fridge-001'], again);
    expect(again.output.join('\n')).not.toContain(secret!);
    expect(await main(['add-fridge', 'bad id!'], io())).toBe(2);
    expect(await main(['add-fridge'], io())).toBe(2);
  });

  it('a second process on the same data dir fails at once with a clear error', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    await startAgent(testConfig(dir), defer);
    const file = join(tempDir(), 'gw.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', storage: { dataDir: dir }, mqtt: { embedded: { port: 0, host: '127.0.0.1' } }, http: { port: 0 } }));
    const { child, stderr } = spawnAgent(file);
    expect(await exited(child)).toBe(1);
    expect(stderr()).toContain('is in use by another gateway process');
  });

  it('repair refuses to touch a store a running agent holds', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    await startAgent(testConfig(dir), defer);
    const file = join(tempDir(), 'gw.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', storage: { dataDir: dir } }));
    const o = io();
    expect(await main(['repair', '--config', file], o)).toBe(1);
    expect(o.errors.join()).toContain('in use by another gateway process');
  });

  it('every snapshot acknowledged before kill -9 is there after restart', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const ids = ['f1', 'f2', 'f3', 'f4'];
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const file = join(tempDir(), 'gw.yaml');
    writeFileSync(
      file,
      stringify({ gatewayId: 'gw1', venueId: 'v1', logLevel: 'warn', storage: { dataDir: dir }, http: { host: '127.0.0.1', port: httpPort }, mqtt: { embedded: { host: '127.0.0.1', port: mqttPort }, fridges: await fridgeHashes(ids) } }),
    );
    const { child } = spawnAgent(file);
    await eventually(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok, 20_000);
    const acked = new Map<string, number>();
    const fridges = await Promise.all(ids.map((id) => connectFridge(mqttPort, id, defer)));
    // Each fridge publishes as fast as PUBACKs come back; the agent is killed mid-stream.
    let stop = false;
    const loops = fridges.map(async (f, i) => {
      const id = ids[i]!;
      for (let seq = 1; !stop; seq++) {
        try {
          await f.publishAsync(`fridges/${id}/inventory`, inventory(1, seq, { m1: seq % 50 }), { qos: 1 });
          acked.set(id, seq);
        } catch {
          return;
        }
      }
    });
    await eventually(() => [...acked.values()].every((s) => s >= 20) && acked.size === ids.length, 20_000);
    child.kill('SIGKILL');
    await exited(child);
    stop = true;
    for (const f of fridges) f.end(true);
    await Promise.all(loops);

    const agent = await startAgent(testConfig(dir), defer);
    for (const id of ids) {
      const snap = observedSnapshot(agent.replica.doc, FridgeIdSchema.parse(id));
      expect(snap?.q, id).toBeGreaterThanOrEqual(acked.get(id)!);
    }
  });

  it('shuts down gracefully on SIGTERM and releases the store', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const httpPort = await freePort();
    const file = join(tempDir(), 'gw.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', logLevel: 'warn', storage: { dataDir: dir }, http: { host: '127.0.0.1', port: httpPort }, mqtt: { embedded: { host: '127.0.0.1', port: 0 } } }));
    const { child } = spawnAgent(file);
    await eventually(async () => (await fetch(`http://127.0.0.1:${httpPort}/livez`)).ok, 20_000);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    // The lock is released: the store opens again, still at epoch 1 (offline: not retired).
    const agent = await startAgent(testConfig(dir), defer);
    expect(agent.replica.replica).toBe('gw:gw1:1');
  });

  it('one Ctrl-C delivered twice, 10 ms apart, ends in one graceful shutdown with exit 0', async () => {
    const dir = tempDir();
    await seedActiveStore(dir);
    const httpPort = await freePort();
    const file = join(tempDir(), 'gw.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', logLevel: 'info', storage: { dataDir: dir }, http: { host: '127.0.0.1', port: httpPort }, mqtt: { embedded: { host: '127.0.0.1', port: 0 } } }));
    const { child, stderr } = spawnAgent(file);
    await eventually(async () => (await fetch(`http://127.0.0.1:${httpPort}/livez`)).ok, 20_000);
    // As one Ctrl-C delivered twice (the terminal's SIGINT and npm's forwarded copy, a little later:
    // two signals sent at once would merge into one pending signal). The copy may come during the
    // shutdown (the same request) or after it (it must not end the process by the default action).
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGINT');
    expect(await exited(child), stderr()).toBe(0);
  });
});
