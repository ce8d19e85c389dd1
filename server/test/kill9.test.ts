/**
 * Durability across `kill -9`: central runs as a child process (tsx) on LevelDB; a gateway-like
 * client writes many updates and central takes orders; after every durable-ack and every `201`,
 * the process is killed with SIGKILL and restarted on the same directory. Everything acknowledged
 * must be there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_RIGHTS_POLICY, ORIGINS, gatewayReplicaId, observedSnapshot, recordSnapshot, reconcileFridge, recordStatus, type FridgeId, type GatewayId } from '@fridgesync/shared';
import { bearer, testConfig, TOKENS } from './helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from './helpers/gateway-client.ts';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');
const children: ChildProcess[] = [];
let dir = '';

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts central as a child process; resolves with its base URL. */
async function spawnCentral(configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FRIDGESYNC_LOG_LEVEL: 'warn' } });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`central did not start: ${out}${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /central listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`central exited with ${code}: ${out}${err}`)));
  });
  return { child, url };
}

const kill9 = (child: ChildProcess) => new Promise<void>((r) => {
  child.once('exit', () => r());
  child.kill('SIGKILL');
});

describe('kill -9 after durable acks', () => {
  it('keeps every acknowledged update and order', async () => {
    dir = await mkdtemp(join(tmpdir(), 'central-kill9-'));
    const cfg = testConfig({ storage: { engine: 'level', dataDir: join(dir, 'data') }, logLevel: 'warn' });
    const file = join(dir, 'central.yaml');
    await writeFile(file, JSON.stringify(cfg));
    const g1 = gatewayReplicaId('g1' as GatewayId, 1);
    const f1 = 'f1' as FridgeId;

    let { child, url } = await spawnCentral(file);
    const gw = await new GatewayClient({ wsUrl: url.replace('http', 'ws'), venue: 'v1', token: TOKENS.gw1, replica: g1 }).ready();
    gw.doc.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 20 } as never }));
    reconcileFridge(gw.doc, ORIGINS.reconciler, f1, DEFAULT_RIGHTS_POLICY, Date.now());
    const N = 60;
    for (let i = 1; i <= N; i++) gw.doc.transact(ORIGINS.mqtt, (w) => recordStatus(w, f1, { on: true, ts: 1_000_000 + i, tc: 3 + (i % 3) }));
    await gw.durable(10_000);
    const orders: string[] = [];
    await waitFor(async () => (await fetch(`${url}/v1/venues/v1`, { headers: bearer(TOKENS.viewer) }).then((r) => r.json() as Promise<{ fridges: Array<{ cells: Array<{ centralRights: number }> }> }>)).fridges[0]!.cells[0]!.centralRights > 0, 5000, 'central rights');
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${url}/v1/orders`, {
        method: 'POST',
        headers: { ...bearer(TOKENS.app), 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: `k9-${i}`, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] }),
      });
      expect(r.status).toBe(201);
      orders.push(`k9-${i}`);
    }
    await kill9(child);
    gw.ws.terminate();

    ({ child, url } = await spawnCentral(file));
    const viewer = await new GatewayClient({ wsUrl: url.replace('http', 'ws'), venue: 'v1', token: TOKENS.viewer, noHello: true }).ready();
    // Every struct the gateway had acknowledged is in central's restarted state.
    for (const [client, clock] of gw.ackedSv) expect(viewer.doc.hasState(client, clock)).toBe(true);
    expect(observedSnapshot(viewer.doc, f1)?.i).toEqual({ m1: 20 });
    expect(viewer.doc.index.status.get('f1')?.get(g1)?.ts).toBe(1_000_000 + N);
    for (const id of orders) {
      const r = await fetch(`${url}/v1/orders/${id}`, { headers: bearer(TOKENS.app) });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { state: string }).state).toBe('reserved');
    }
    await viewer.close();
    // A graceful stop flushes and exits 0.
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
