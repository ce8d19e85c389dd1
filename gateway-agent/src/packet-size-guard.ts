/**
 * The byte stream between a fridge and the embedded broker.
 *
 * - A byte-level bound on MQTT packet size: aedes (through mqtt-packet) buffers a whole packet
 *   before any hook sees it, so a fridge announcing a 256 MiB PUBLISH would make the agent allocate
 *   it. {@link PacketSizeScanner} reads each packet's fixed header (type byte and the "remaining
 *   length" varint, MQTT 3.1.1 §2.2.3) as bytes stream by, and the connection is destroyed as soon
 *   as a header announces more than the limit.
 * - Batched writes: what aedes writes to a fridge during one event-loop iteration (the PUBACKs of
 *   every batch that became durable in it) leaves in one write when the iteration's I/O callbacks
 *   are done. (A `Duplex.from` pair has no `_writev`: each PUBACK was its own system call
 *   and TCP segment, on both ends of the connection.)
 */
import { Duplex } from 'node:stream';

/** Reads MQTT fixed headers from a byte stream, however it is split. */
export class PacketSizeScanner {
  /** Body bytes left in the current packet; `-1` while reading a header. */
  private left = -1;
  private headerBytes = 0;
  private length = 0;
  private multiplier = 1;

  constructor(readonly maxBytes: number) {}

  /** Scans the next chunk; returns the announced size of the first packet over the limit, if any. */
  scan(chunk: Uint8Array): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.left > 0) {
        const take = Math.min(this.left, chunk.length - i);
        this.left -= take;
        i += take;
        if (this.left === 0) this.left = -1;
        continue;
      }
      const b = chunk[i++]!;
      if (this.headerBytes === 0) {
        // packet type byte
        this.headerBytes = 1;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.headerBytes++;
      if ((b & 0x80) !== 0 && this.headerBytes < 5) continue;
      // A fifth length byte is malformed (§2.2.3): report it as oversize too.
      if ((b & 0x80) !== 0 || this.length > this.maxBytes) return this.length;
      this.headerBytes = 0;
      this.left = this.length === 0 ? -1 : this.length;
    }
    return undefined;
  }
}

/** A fridge's connection as aedes sees it: `inner`'s bytes, size-checked, with batched writes. */
export class FridgeConnection extends Duplex {
  private readonly scanner: PacketSizeScanner;

  constructor(
    private readonly inner: Duplex,
    maxBytes: number,
    onOversize: (announced: number) => void,
  ) {
    super({ allowHalfOpen: false });
    this.scanner = new PacketSizeScanner(maxBytes);
    inner.on('data', (chunk: Buffer) => {
      const over = this.scanner.scan(chunk);
      if (over !== undefined) {
        onOversize(over);
        this.destroy(new Error(`MQTT packet of ${over} bytes exceeds the limit of ${maxBytes}`));
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.once('error', (e: Error) => this.destroy(e));
    inner.once('close', () => this.destroy());
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.queueOut(chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    for (let i = 0; i < chunks.length - 1; i++) this.out.push(chunks[i]!.chunk);
    this.queueOut(chunks[chunks.length - 1]!.chunk, done);
  }

  /** Bytes written by aedes and not yet handed to the socket (sent at the end of this loop iteration). */
  private out: Buffer[] = [];
  private flushScheduled = false;
  /** The socket's buffer is full: aedes' next write waits for its drain. */
  private blocked = false;
  private held: ((error?: Error | null) => void) | undefined;

  /**
   * PUBACKs of one socket become due in several callbacks of one loop iteration (each durable
   * batch, each socket read); they leave together in one write when the iteration's I/O
   * callbacks are done, instead of one system call per callback.
   */
  private queueOut(chunk: Buffer, done: (error?: Error | null) => void): void {
    this.out.push(chunk);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushOut());
    }
    // Backpressure as before: while the socket is backed up, aedes' writes queue here and
    // `write()` returns false once they exceed the high-water mark.
    if (this.blocked) this.held = done;
    else done();
  }

  private flushOut(): void {
    this.flushScheduled = false;
    const out = this.out;
    this.out = [];
    if (out.length === 0 || this.inner.destroyed) return;
    // One chunk: one system call on a socket, one frame on a websocket stream (which writes one
    // chunk at a time and would drop the rest if the connection is destroyed right after).
    const ok = this.inner.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.inner.once('drain', () => {
        this.blocked = false;
        const held = this.held;
        this.held = undefined;
        held?.();
      });
    }
  }

  override _final(done: (error?: Error | null) => void): void {
    this.flushOut();
    this.inner.end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // What aedes wrote before closing (a CONNACK refusing the fridge) goes out first, as it would
    // have had it been written to the socket directly.
    this.flushOut();
    this.inner.destroy();
    done(error);
  }
}
