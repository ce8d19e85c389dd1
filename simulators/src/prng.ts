/**
 * A small seeded PRNG (sfc32, Chris Doty-Humphrey's "small fast counting" generator) with the few
 * draws the simulator needs. The whole simulation schedule is a pure function of the seed: each
 * actor (customer stream, walk-in stream, kitchen, each fridge) draws from its own {@link Prng.fork}
 * so network timing, which is not deterministic, never changes which numbers an actor draws.
 */

/** 32-bit FNV-1a hash of a string; used to turn seeds and fork labels into state words. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A seeded pseudo-random generator. Not cryptographic. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` may be any string or integer; equal seeds give equal streams. */
  constructor(readonly seed: string | number) {
    const s = String(seed);
    this.a = hash32(`a:${s}`);
    this.b = hash32(`b:${s}`);
    this.c = hash32(`c:${s}`);
    this.d = 1;
    // Warm up so that similar seeds diverge (as the sfc32 reference does).
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p` (clamped to [0, 1]). */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Exponentially distributed delay with the given mean (for Poisson arrivals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** An independent stream derived from this generator's seed and `label` (not from its state). */
  fork(label: string): Prng {
    return new Prng(`${String(this.seed)}/${label}`);
  }
}
