import { describe, expect, it } from 'vitest';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { MAX_GATES, MqttConnection, PacketSizeScanner } from '../src/mqtt-connection.ts';
import { remainingLength } from './helpers/raw-mqtt.ts';

/** A QoS 0 PUBLISH with an `n`-byte payload. */
function publish(n: number): Buffer {
  const topic = Buffer.from('fridges/f1/inventory');
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.alloc(n)]);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(body.length), body]);
}
const ping = Buffer.from([0xc0, 0x00]);

/** Scans `bytes` in chunks of `chunk` bytes; returns the first oversize announced, if any, and where. */
function scanAll(bytes: Buffer, max: number, chunk: number): { announced: number | undefined; at: number } {
  const s = new PacketSizeScanner(max);
  for (let i = 0; i < bytes.length; i += chunk) {
    const announced = s.scan(bytes.subarray(i, i + chunk));
    if (announced !== undefined) return { announced, at: i };
  }
  return { announced: undefined, at: bytes.length };
}

/** A connected loopback socket pair: [client, server]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const s = await accepted;
  server.close();
  return [client, s];
}

describe('PacketSizeScanner', () => {
  it('passes a stream of packets under the limit, however it is split', () => {
    const stream = Buffer.concat([publish(100), ping, publish(1000), ping, publish(200)]);
    for (const chunk of [1, 3, 64, 4096]) expect(scanAll(stream, 2048, chunk).announced).toBeUndefined();
  });

  it('reports a header announcing a packet over the limit before its body arrives', () => {
    const big = publish(100_000);
    const r = scanAll(Buffer.concat([publish(10), big.subarray(0, 8)]), 2048, 1);
    expect(r.announced).toBeGreaterThan(100_000);
    expect(r.at).toBeLessThan(publish(10).length + 5);
  });
});

describe('MqttConnection', () => {
  it('passes bytes unchanged both ways over a real socket', async () => {
    const [client, s] = await socketPair();
    const conn = new MqttConnection(s, 2048, () => undefined);
    const stream = Buffer.concat([publish(100), ping, publish(1000)]);
    const got: Buffer[] = [];
    conn.on('data', (d: Buffer) => got.push(d));
    client.write(stream);
    const back: Buffer[] = [];
    client.on('data', (d: Buffer) => back.push(d));
    conn.write(ping);
    await expect.poll(() => Buffer.concat(got).length).toBe(stream.length);
    expect(Buffer.concat(got).equals(stream)).toBe(true);
    await expect.poll(() => Buffer.concat(back).equals(ping)).toBe(true);
    client.destroy();
    await new Promise((r) => conn.once('close', r));
  });

  it('closes the connection when a header announces a packet over the limit', async () => {
    const [client, s] = await socketPair();
    let announced: number | undefined;
    const conn = new MqttConnection(s, 2048, (n) => (announced = n));
    const errors: Error[] = [];
    conn.on('error', (e) => errors.push(e));
    conn.resume();
    client.on('error', () => undefined);
    client.write(Buffer.concat([publish(10), publish(100_000).subarray(0, 8)]));
    await new Promise((r) => client.once('close', r));
    expect(announced).toBeGreaterThan(100_000);
    expect(errors[0]?.message).toMatch(/exceeds the limit of 2048/);
    expect(s.destroyed).toBe(true);
  });

  it('hands what aedes writes in one loop iteration to the socket as one batch', async () => {
    const batches: number[] = [];
    const inner = new Duplex({
      read() {},
      write(c: Buffer, _e, cb) {
        batches.push(c.length);
        cb();
      },
    });
    const conn = new MqttConnection(inner, 2048, () => undefined);
    // What mqtt-packet's writeToStream does for each packet aedes writes: cork, uncork next tick.
    conn.cork();
    for (let i = 0; i < 5; i++) conn.write(Buffer.from([0x40, 0x02, 0x00, i]));
    process.nextTick(() => conn.uncork());
    // A second durable batch completing in the same iteration (another callback, later ticks).
    setTimeout(() => {
      conn.write(Buffer.from([0x40, 0x02, 0x00, 9]));
      process.nextTick(() => conn.write(Buffer.from([0x40, 0x02, 0x00, 10])));
    }, 0);
    await new Promise((r) => setTimeout(r, 20));
    // Bytes per write on the socket: the five corked packets in one, the later two at most in one more.
    expect(batches.reduce((a, b) => a + b, 0)).toBe(7 * 4);
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(batches[0]).toBeGreaterThanOrEqual(5 * 4);
    conn.destroy();
  });

  it('passes the socket\'s backpressure on: write() returns false until the socket drains', async () => {
    let release: (() => void) | undefined;
    const inner = new Duplex({
      read() {},
      highWaterMark: 8,
      write(_c, _e, cb) {
        release = cb; // the peer does not read
      },
    });
    const conn = new MqttConnection(inner, 2048, () => undefined);
    const big = Buffer.alloc(64);
    expect(conn.write(big)).toBe(true);
    await new Promise((r) => setImmediate(r)); // handed to the socket, which is now full
    let ok = true;
    for (let i = 0; i < 600 && ok; i++) ok = conn.write(big);
    expect(ok).toBe(false); // aedes sees the slow fridge and waits for 'drain'
    const drained = new Promise((r) => conn.once('drain', r));
    while (release !== undefined) {
      const r = release;
      release = undefined;
      r();
      await new Promise((res) => setImmediate(res));
    }
    await drained;
    conn.destroy();
  });

  describe('output gates', () => {
    /** A socket stand-in recording what is written to it. */
    function recorder() {
      const written: number[] = [];
      const inner = new Duplex({
        read() {},
        write(c: Buffer, _e, cb) {
          written.push(...c);
          cb();
        },
      });
      return { inner, written };
    }
    function deferred() {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      return { promise, resolve, reject };
    }
    const tick = () => new Promise((r) => setTimeout(r, 5));

    it('holds what is written after a gate until it and every earlier gate open, in order', async () => {
      const { inner, written } = recorder();
      const conn = new MqttConnection(inner, 2048, () => undefined);
      conn.write(Buffer.from([1]));
      const a = deferred();
      const b = deferred();
      conn.holdOutputUntil(a.promise);
      conn.write(Buffer.from([2]));
      conn.holdOutputUntil(b.promise);
      conn.write(Buffer.from([3]));
      await tick();
      expect(written).toEqual([1]);
      b.resolve(); // the later write is durable first: still behind the earlier gate
      await tick();
      expect(written).toEqual([1]);
      a.resolve();
      await tick();
      expect(written).toEqual([1, 2, 3]);
      conn.write(Buffer.from([4]));
      await tick();
      expect(written).toEqual([1, 2, 3, 4]);
      conn.destroy();
    });

    it('messages durable with one write share a gate, behind any earlier gate', async () => {
      const { inner, written } = recorder();
      const conn = new MqttConnection(inner, 2048, () => undefined);
      const a = deferred();
      const b = deferred();
      conn.holdOutputUntil(a.promise);
      conn.write(Buffer.from([1]));
      conn.holdOutputUntil(b.promise);
      conn.write(Buffer.from([2]));
      conn.holdOutputUntil(b.promise); // the same write: no further gate
      conn.write(Buffer.from([3]));
      expect((conn as unknown as { gates: unknown[] }).gates).toHaveLength(2);
      b.resolve();
      await tick();
      expect(written).toEqual([]);
      a.resolve();
      await tick();
      expect(written).toEqual([1, 2, 3]);
      conn.destroy();
    });

    it('a failed gate destroys the connection and what it held never leaves', async () => {
      const { inner, written } = recorder();
      const conn = new MqttConnection(inner, 2048, () => undefined);
      const errors: Error[] = [];
      conn.on('error', (e) => errors.push(e));
      const a = deferred();
      conn.holdOutputUntil(a.promise);
      conn.write(Buffer.from([0x40, 0x02, 0x00, 0x01])); // a PUBACK
      a.reject(new Error('write failed'));
      await tick();
      expect(written).toEqual([]);
      expect(conn.destroyed).toBe(true);
      expect(inner.destroyed).toBe(true);
      expect(errors[0]?.message).toBe('write failed');
    });

    it('an end waits for the open gates, then sends what they held', async () => {
      const { inner, written } = recorder();
      let ended = false;
      inner.on('finish', () => (ended = true));
      const conn = new MqttConnection(inner, 2048, () => undefined);
      const a = deferred();
      conn.holdOutputUntil(a.promise);
      conn.end(Buffer.from([7]));
      await tick();
      expect(written).toEqual([]);
      expect(ended).toBe(false);
      a.resolve();
      await tick();
      expect(written).toEqual([7]);
      expect(ended).toBe(true);
    });

    it(`stops reading while ${MAX_GATES} gates are open and resumes when they open`, async () => {
      const [client, s] = await socketPair();
      const conn = new MqttConnection(s, 2048, () => undefined);
      let received = 0;
      conn.on('data', (d: Buffer) => (received += d.length));
      const gates = Array.from({ length: MAX_GATES }, () => deferred());
      for (const g of gates) conn.holdOutputUntil(g.promise);
      client.write(publish(10));
      await tick();
      expect(received).toBe(0);
      gates[0]!.resolve();
      await expect.poll(() => received).toBe(publish(10).length);
      for (const g of gates) g.resolve();
      client.destroy();
      await new Promise((r) => conn.once('close', r));
    });
  });
});
