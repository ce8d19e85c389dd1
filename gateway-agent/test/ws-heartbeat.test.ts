import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startHeartbeat } from '../src/ws-heartbeat.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A websocket server that answers pings (or, `silent`, never does) and a client connected to it. */
async function pair(silent: boolean): Promise<WebSocket> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: !silent });
  closers.push(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  closers.push(() => ws.terminate());
  await new Promise((r) => ws.once('open', r));
  return ws;
}

describe('the sync connection heartbeat', () => {
  it('declares a peer that answers no ping dead after two silent intervals', async () => {
    const ws = await pair(true);
    const t0 = Date.now();
    const dead = await new Promise<number>((resolve) => startHeartbeat(ws, 50, () => resolve(Date.now() - t0)));
    expect(dead).toBeGreaterThanOrEqual(100);
    expect(dead).toBeLessThan(1_000);
  });

  it('keeps a peer that answers its pings', async () => {
    const ws = await pair(false);
    let dead = false;
    const stop = startHeartbeat(ws, 50, () => (dead = true));
    await new Promise((r) => setTimeout(r, 400));
    stop();
    expect(dead).toBe(false);
  });
});
