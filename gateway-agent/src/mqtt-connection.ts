/**
 * An MQTT byte stream as the agent's MQTT code sees it: a fridge's connection to the embedded
 * broker, or the agent's own connection to an external broker.
 *
 * - A byte-level bound on MQTT packet size: aedes (through mqtt-packet) buffers a whole packet
 *   before any hook sees it, so a fridge announcing a 256 MiB PUBLISH would make the agent allocate
 *   it. {@link PacketSizeScanner} reads each packet's fixed header (type byte and the "remaining
 *   length" varint, MQTT 3.1.1 §2.2.3) as bytes stream by, and the connection is destroyed as soon
 *   as a header announces more than the limit.
 * - Batched writes: what is written during one event-loop iteration (the PUBACKs of every batch
 *   that became durable in it) leaves in one write when the iteration's I/O callbacks are done.
 *   (A `Duplex.from` pair has no `_writev`: each PUBACK was its own system call and TCP segment,
 *   on both ends of the connection.)
 * - Output gates ({@link MqttConnection.holdOutputUntil}): a message's durable write can gate the
 *   connection's output, so the PUBACK written for it, and everything written after it, leaves
 *   only once the write is durable; if the write fails the connection is destroyed and the held
 *   bytes never leave. The MQTT library can then go on at once: mqtt.js (external broker) handles
 *   a connection's incoming packets one at a time, each after the previous one's PUBACK was
 *   written, so waiting for durability before writing it would cost one synced write per message;
 *   aedes (embedded broker) writes a fridge's PUBACK as soon as `authorizePublish` resolves.
 *   Messages made durable by one write (a turn's snapshots) share one gate. At most
 *   {@link MAX_GATES} gates are open per connection; beyond that reading pauses until writes
 *   become durable (a peer that does not wait for PUBACKs cannot make the agent hold unbounded
 *   work).
 */
import { Duplex } from 'node:stream';
import { crashPoint, crashPointArmed } from '@fridgesync/shared';

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

/** Most output gates open on one connection before reading pauses (MQTT peers keep far fewer messages in flight). */
export const MAX_GATES = 64;

/** Output held behind a gate: written after the gate was set, sent once it and every earlier gate opened. */
interface Gate {
  /** What the gate waits for. */
  durable: Promise<unknown>;
  open: boolean;
  after: Buffer[];
}

/** `inner`'s bytes, size-checked, with batched and gated writes. */
export class MqttConnection extends Duplex {
  private readonly scanner: PacketSizeScanner;
  /** Open gates, oldest first; output written while any is open goes behind the newest. */
  private gates: Gate[] = [];
  /** Reading paused because {@link MAX_GATES} gates are open. */
  private readHeld = false;
  /** The readable side asked for data (and `inner` was not paused by backpressure since). */
  private wantRead = true;
  /** `_final` waiting for the gates to open. */
  private finalWaiting: (() => void) | undefined;

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
      if (!this.push(chunk)) {
        this.wantRead = false;
        inner.pause();
      }
    });
    inner.once('end', () => this.push(null));
    inner.once('error', (e: Error) => this.destroy(e));
    inner.once('close', () => this.destroy());
  }

  override _read(): void {
    this.wantRead = true;
    if (!this.readHeld) this.inner.resume();
  }

  /**
   * Holds everything written to this connection from now on until `durable` resolves (and every
   * earlier gate opened); destroys the connection, dropping the held bytes, if it rejects.
   */
  holdOutputUntil(durable: Promise<unknown>): void {
    if (this.destroyed) return;
    // Messages that become durable together (one turn's snapshots) share one gate.
    if (this.gates[this.gates.length - 1]?.durable === durable) return;
    const gate: Gate = { durable, open: false, after: [] };
    this.gates.push(gate);
    if (this.gates.length >= MAX_GATES && !this.readHeld) {
      this.readHeld = true;
      this.inner.pause();
    }
    durable.then(
      () => {
        crashPoint('before-puback');
        gate.open = true;
        this.release();
      },
      (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
    );
  }

  /** Sends what the oldest open gates held, resumes reading below the bound, finishes a waiting end. */
  private release(): void {
    while (this.gates.length > 0 && this.gates[0]!.open) {
      const gate = this.gates.shift()!;
      for (const chunk of gate.after) this.out.push(chunk);
    }
    this.scheduleFlush();
    if (this.readHeld && this.gates.length < MAX_GATES) {
      this.readHeld = false;
      if (this.wantRead) this.inner.resume();
    }
    if (this.gates.length === 0 && this.finalWaiting !== undefined) {
      const finish = this.finalWaiting;
      this.finalWaiting = undefined;
      finish();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.queueOut(chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    for (let i = 0; i < chunks.length - 1; i++) this.enqueue(chunks[i]!.chunk);
    this.queueOut(chunks[chunks.length - 1]!.chunk, done);
  }

  /** Bytes written and not yet handed to the socket (sent at the end of this loop iteration). */
  private out: Buffer[] = [];
  private flushScheduled = false;
  /** The socket's buffer is full: the next write waits for its drain. */
  private blocked = false;
  private held: ((error?: Error | null) => void) | undefined;

  /**
   * PUBACKs of one socket become due in several callbacks of one loop iteration (each durable
   * batch, each socket read); they leave together in one write when the iteration's I/O
   * callbacks are done, instead of one system call per callback.
   */
  private queueOut(chunk: Buffer, done: (error?: Error | null) => void): void {
    this.enqueue(chunk);
    // Backpressure as before: while the socket is backed up, writes queue here and
    // `write()` returns false once they exceed the high-water mark.
    if (this.blocked) this.held = done;
    else done();
  }

  /** Behind the newest open gate, or out with this iteration's flush. */
  private enqueue(chunk: Buffer): void {
    const gate = this.gates[this.gates.length - 1];
    if (gate !== undefined) gate.after.push(chunk);
    else {
      this.out.push(chunk);
      this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.out.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushOut());
  }

  private flushOut(): void {
    this.flushScheduled = false;
    const out = this.out;
    this.out = [];
    if (out.length === 0 || this.inner.destroyed) return;
    // One chunk: one system call on a socket, one frame on a websocket stream (which writes one
    // chunk at a time and would drop the rest if the connection is destroyed right after).
    const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
    // A crash point counts the writes that carry a PUBACK (fixed header 0x40) once they are handed
    // to the kernel (docs/reliability.md "Process faults").
    const ok = crashPointArmed('after-puback') && out.some((c) => c[0] === 0x40) ? this.inner.write(bytes, () => crashPoint('after-puback')) : this.inner.write(bytes);
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
    const finish = () => {
      this.flushOut();
      this.inner.end();
      done();
    };
    // Held PUBACKs leave before the end, once durable (a failure destroys the connection instead).
    if (this.gates.length === 0) finish();
    else this.finalWaiting = finish;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // What was written before closing (a CONNACK refusing the fridge) goes out first, as it would
    // have had it been written to the socket directly. Output behind a gate that has not opened
    // (not yet durable, or failed) never leaves.
    this.gates = [];
    this.finalWaiting = undefined;
    this.flushOut();
    this.inner.destroy();
    done(error);
  }
}
