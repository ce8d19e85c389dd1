/**
 * The fault relay itself (fault-proxy.ts) against a TCP echo server: each fault does what the
 * scenarios rely on — shaping delays and keeps order, a blackhole holds bytes and delivers them
 * on heal, a cut resets and refuses, a half-open connection goes silent without either end told.
 */
import { describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';
import { FaultProxy } from './fault-proxy.ts';

const { defer } = useTeardown();

/** An echo server and a relay in front of it; `serverSockets` are the server's ends. */
async function setup(): Promise<{ proxy: FaultProxy; serverSockets: Socket[] }> {
  const serverSockets: Socket[] = [];
  const server: Server = createServer((s) => {
    serverSockets.push(s);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  defer(() => new Promise<void>((r) => server.close(() => r())));
  defer(() => serverSockets.forEach((s) => s.destroy()));
  const proxy = new FaultProxy(() => (server.address() as AddressInfo).port, 42);
  await proxy.start();
  defer(() => proxy.close());
  return { proxy, serverSockets };
}

/** A client of the relay collecting what comes back. */
async function client(port: number): Promise<{ s: Socket; got: () => string; closed: () => boolean }> {
  const s = connect(port, '127.0.0.1');
  let got = '';
  let closed = false;
  s.on('data', (b) => (got += b.toString()));
  s.on('error', () => undefined);
  s.on('close', () => (closed = true));
  await new Promise((r) => s.once('connect', r));
  defer(() => s.destroy());
  return { s, got: () => got, closed: () => closed };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the fault relay', () => {
  it('relays, and with latency and jitter delays each direction while keeping the order', async () => {
    const { proxy } = await setup();
    const c = await client(proxy.port);
    c.s.write('a');
    await waitFor(() => c.got() === 'a', 2_000, 'the relay');
    proxy.shape({ latencyMs: 60, jitterMs: 40 });
    const t0 = Date.now();
    for (const ch of 'bcdef') c.s.write(ch);
    await waitFor(() => c.got() === 'abcdef', 2_000, 'the relay');
    // Both directions: at least twice the latency for the round trip.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(120);
  });

  it('caps the bandwidth', async () => {
    const { proxy } = await setup();
    const c = await client(proxy.port);
    proxy.shape({ bytesPerSecond: 20_000 });
    const t0 = Date.now();
    c.s.write('x'.repeat(4_000));
    await waitFor(() => c.got().length === 4_000, 5_000, 'the relay');
    // 4 kB each way at 20 kB/s: at least 200 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('blackholes without closing, then delivers what it held in order', async () => {
    const { proxy } = await setup();
    const c = await client(proxy.port);
    proxy.blackhole();
    c.s.write('held-1;');
    c.s.write('held-2;');
    await wait(150);
    expect(c.got()).toBe('');
    expect(c.closed()).toBe(false);
    proxy.heal();
    await waitFor(() => c.got() === 'held-1;held-2;', 2_000, 'the relay');
  });

  it('cuts: resets open connections and refuses new ones until healed', async () => {
    const { proxy } = await setup();
    const c = await client(proxy.port);
    proxy.cut();
    await waitFor(() => c.closed(), 2_000, 'the relay');
    const refused = await client(proxy.port);
    await waitFor(() => refused.closed(), 2_000, 'the relay');
    proxy.heal();
    const again = await client(proxy.port);
    again.s.write('back');
    await waitFor(() => again.got() === 'back', 2_000, 'the relay');
  });

  it('half-open: the open connection goes silent and neither end is told; new connections pass', async () => {
    const { proxy, serverSockets } = await setup();
    const c = await client(proxy.port);
    c.s.write('1');
    await waitFor(() => c.got() === '1', 2_000, 'the relay');
    proxy.halfOpen();
    c.s.write('2');
    await wait(150);
    expect(c.got()).toBe('1');
    // The server's end closes: the client still hears nothing.
    serverSockets[0]!.destroy();
    await wait(100);
    expect(c.closed()).toBe(false);
    const fresh = await client(proxy.port);
    fresh.s.write('new');
    await waitFor(() => fresh.got() === 'new', 2_000, 'the relay');
  });

  it('flaps on a seeded schedule and ends healed', async () => {
    const { proxy } = await setup();
    const last = await proxy.flap({ cycles: 3, downMs: [20, 40], upMs: [20, 40] });
    expect(Date.now() - last).toBeLessThan(100);
    const c = await client(proxy.port);
    c.s.write('up');
    await waitFor(() => c.got() === 'up', 2_000, 'the relay');
  });
});
