/**
 * Hybrid logical clock for operator data (docs/design.md "Replicas and the venue document").
 * A timestamp is a fixed-width string, so plain string comparison orders timestamps:
 * `<wall ms, 13 digits>.<logical, 6 digits>.<node>`. The node part breaks ties deterministically.
 */

/** A hybrid logical clock timestamp as produced by {@link Hlc}. */
export type HlcTimestamp = string;

const HLC_PATTERN = /^(\d{13})\.(\d{6})\.(.{1,96})$/;

/** True when `s` is a well-formed HLC timestamp. */
export function isHlcTimestamp(s: string): boolean {
  return HLC_PATTERN.test(s);
}

/** A clock for one node; `now` supplies wall time in ms (injected for tests). */
export class Hlc {
  private wall = 0;
  private logical = 0;
  constructor(
    private readonly node: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A timestamp greater than every timestamp this clock issued or received. */
  tick(): HlcTimestamp {
    const t = this.now();
    if (t > this.wall) {
      this.wall = t;
      this.logical = 0;
    } else {
      this.logical += 1;
    }
    return this.format();
  }

  /** Advances past a timestamp seen from elsewhere. Malformed input is ignored. */
  receive(ts: HlcTimestamp): void {
    const m = HLC_PATTERN.exec(ts);
    if (!m) return;
    const wall = Number(m[1]);
    const logical = Number(m[2]);
    if (wall > this.wall || (wall === this.wall && logical > this.logical)) {
      this.wall = wall;
      this.logical = logical;
    }
  }

  private format(): HlcTimestamp {
    return `${String(this.wall).padStart(13, '0')}.${String(this.logical).padStart(6, '0')}.${this.node}`;
  }
}
