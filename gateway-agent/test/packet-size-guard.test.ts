import { describe, expect, it } from 'vitest';
import { PacketSizeGuard } from '../src/packet-size-guard.ts';

/** MQTT 3.1.1 remaining-length varint (§2.2.3). */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
/** A QoS 0 PUBLISH with an `n`-byte payload. */
function publish(n: number): Buffer {
  const topic = Buffer.from('fridges/f1/inventory');
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.alloc(n)]);
  return Buffer.concat([Buffer.from([0x30, ...varint(body.length)]), body]);
}
const ping = Buffer.from([0xc0, 0x00]);

/** Feeds `bytes` to a guard in chunks of `chunk` bytes; returns what passed and the error, if any. */
async function feed(bytes: Buffer, max: number, chunk: number): Promise<{ passed: number; error: Error | undefined; announced: number | undefined }> {
  const g = new PacketSizeGuard(max, (n) => (announced = n));
  let announced: number | undefined;
  let passed = 0;
  let error: Error | undefined;
  g.on('data', (d: Buffer) => (passed += d.length));
  g.on('error', (e) => (error = e));
  for (let i = 0; i < bytes.length && error === undefined; i += chunk) {
    await new Promise<void>((r) => g.write(bytes.subarray(i, i + chunk), () => r()));
  }
  return { passed, error, announced };
}

describe('PacketSizeGuard', () => {
  it('passes a stream of packets under the limit unchanged, however it is split', async () => {
    const stream = Buffer.concat([publish(100), ping, publish(1000), ping, publish(200)]);
    for (const chunk of [1, 3, 64, 4096]) {
      const r = await feed(stream, 2048, chunk);
      expect(r.error).toBeUndefined();
      expect(r.passed).toBe(stream.length);
    }
  });

  it('fails as soon as a header announces a packet over the limit, before its body arrives', async () => {
    const big = publish(100_000);
    const r = await feed(Buffer.concat([publish(10), big.subarray(0, 8)]), 2048, 1);
    expect(r.error?.message).toMatch(/exceeds the limit of 2048/);
    expect(r.announced).toBeGreaterThan(100_000);
  });
});
