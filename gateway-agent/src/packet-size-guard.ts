/**
 * A byte-level bound on MQTT packet size for the embedded broker. aedes (through mqtt-packet)
 * buffers a whole packet before any hook sees it, so a fridge announcing a 256 MiB PUBLISH would
 * make the agent allocate it. This transform reads each packet's fixed header (type byte and the
 * "remaining length" varint, MQTT 3.1.1 §2.2.3) as bytes stream by, and destroys the connection as
 * soon as a header announces more than `maxBytes`.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through unchanged, failing on a packet larger than `maxBytes`. */
export class PacketSizeGuard extends Transform {
  /** Body bytes left in the current packet; `-1` while reading a header. */
  private left = -1;
  private headerBytes = 0;
  private length = 0;
  private multiplier = 1;

  constructor(
    private readonly maxBytes: number,
    private readonly onOversize: (announced: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
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
      if ((b & 0x80) !== 0 || this.length > this.maxBytes) {
        this.onOversize(this.length);
        done(new Error(`MQTT packet of ${this.length} bytes exceeds the limit of ${this.maxBytes}`));
        return;
      }
      this.headerBytes = 0;
      this.left = this.length === 0 ? -1 : this.length;
    }
    done(null, chunk);
  }
}
