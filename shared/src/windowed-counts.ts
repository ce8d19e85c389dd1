/**
 * Counts per key in fixed windows, bounded in keys: a key's count starts at its first event and
 * resets once `windowMs` has passed since then. At most `maxKeys` keys are held, the oldest
 * dropped first, so events from ever new keys (a flood from fresh addresses) cannot grow it. Used
 * for failed authentications on the gateway's MQTT edge and on central's HTTP routes.
 */
export class WindowedCounts {
  private readonly windows = new Map<string, { since: number; count: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The count of `key` in its current window (0 when none). */
  get(key: string): number {
    const e = this.windows.get(key);
    if (e === undefined) return 0;
    if (this.now() - e.since >= this.windowMs) {
      this.windows.delete(key);
      return 0;
    }
    return e.count;
  }

  /** Counts one event of `key`. */
  add(key: string): void {
    const now = this.now();
    const e = this.windows.get(key);
    if (e !== undefined && now - e.since < this.windowMs) {
      e.count++;
      return;
    }
    this.windows.delete(key);
    if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(key, { since: now, count: 1 });
  }

  /** Keys held (some may be past their window until asked about). */
  get size(): number {
    return this.windows.size;
  }
}
