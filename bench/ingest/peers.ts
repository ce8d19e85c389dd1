/**
 * The ingest benchmark's peers, run side by side with the gateway agent in one process run:
 * (a) Mosquitto plus a plain Node subscriber that applies each snapshot to a Y.Doc and stores the
 *     update with y-leveldb (what one would build from stock parts; note y-leveldb never fsyncs);
 * (b) bare aedes with no handler at all (the cost of the broker alone: an upper bound).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import * as Y from 'yjs';
import { LeveldbPersistence } from 'y-leveldb';

/** A free loopback port. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The Mosquitto binary, if installed. */
export function mosquittoBinary(): string | undefined {
  return ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => existsSync(p));
}

/** Peer (a): Mosquitto + subscriber → Y.Doc → y-leveldb. `durableAt` records when each (fridge, seq) was stored. */
export async function startMosquittoPeer(bin: string): Promise<{
  url: string;
  durableAt: Map<string, number>;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-mosq-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\nmax_queued_messages 100000\n`);
  const proc: ChildProcess = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  // Wait for the listener.
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 500 });
      c.once('connect', () => c.end(true, {}, () => r(true)));
      c.once('error', () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const ydoc = new Y.Doc();
  const persistence = new LeveldbPersistence(join(dir, 'yleveldb'));
  const durableAt = new Map<string, number>();
  const sub = mqtt.connect(url, { protocolVersion: 4, clientId: 'bench-subscriber', clean: false, reconnectPeriod: 0 });
  await new Promise<void>((r) => sub.once('connect', () => r()));
  await sub.subscribeAsync('fridges/+/inventory', { qos: 1 });
  const map = ydoc.getMap<unknown>('fridges');
  ydoc.on('update', (update: Uint8Array, origin: unknown) => {
    const key = origin as string;
    void persistence.storeUpdate('venue', update).then(() => durableAt.set(key, performance.timeOrigin + performance.now()));
  });
  sub.on('message', (topic, payload) => {
    const fridgeId = topic.split('/')[1]!;
    const msg = JSON.parse(payload.toString()) as { seq: number; items: Record<string, number> };
    ydoc.transact(() => map.set(fridgeId, msg.items), `${fridgeId}#${msg.seq}`);
  });
  return {
    url,
    durableAt,
    stop: async () => {
      await new Promise<void>((r) => sub.end(true, {}, () => r()));
      await persistence.destroy();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Peer (b): bare aedes on a loopback port, no authentication, no handler. */
export async function startBareAedes(): Promise<{ url: string; stop: () => Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
