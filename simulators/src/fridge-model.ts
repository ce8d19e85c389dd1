/**
 * The physical model of one fridge: how many units of each meal are inside, and the `(boot, seq)`
 * tags its firmware puts on every report (docs/design.md "Observed totals"). Pure and synchronous; the MQTT client
 * ({@link ./fridge-client.ts}) publishes what this model produces.
 *
 * Walk-ins take meals (totals fall), pickups take an order's meals and produce a pickup event, the
 * kitchen restocks (totals rise). Inventory and pickup messages share one sequence counter, so a
 * pickup and a snapshot can be ordered by `(boot, seq)` as the gateway must.
 */
import type { InventoryPayload, PickupPayload } from '@fridgesync/shared';

/** Meal id → units. Plain strings here: ids are validated when the fleet file is parsed. */
export type Items = Record<string, number>;

/** Options of {@link FridgeModel}. */
export interface FridgeModelOptions {
  /** Units per meal when the simulation starts. Its keys are the meals this fridge stocks. */
  initial: Items;
  /** Boot counter at start (default 1). Use something that grows across runs, e.g. unix seconds. */
  boot?: number;
}

/** Physical stock and firmware counters of one fridge. */
export class FridgeModel {
  private readonly stock = new Map<string, number>();
  private bootCounter: number;
  private seqCounter = 0;
  /** Reboots so far, and how many of them forgot the boot counter. */
  reboots = 0;
  forgottenBoots = 0;

  constructor(o: FridgeModelOptions) {
    for (const [meal, n] of Object.entries(o.initial)) this.stock.set(meal, checkUnits(n));
    this.bootCounter = o.boot ?? 1;
  }

  get boot(): number {
    return this.bootCounter;
  }

  /** The sequence number of the last message produced in this boot (0 before the first). */
  get seq(): number {
    return this.seqCounter;
  }

  /** Meals this fridge stocks (every meal that was ever inside). */
  meals(): string[] {
    return [...this.stock.keys()];
  }

  /** Units of `meal` inside now. */
  units(meal: string): number {
    return this.stock.get(meal) ?? 0;
  }

  /** Full totals: every stocked meal, zeros included (a meal absent from a snapshot counts 0 anyway). */
  totals(): Items {
    return Object.fromEntries(this.stock);
  }

  /** A walk-in (or spoilage) takes up to `n` units of `meal`; returns how many it got. */
  take(meal: string, n: number): number {
    const got = Math.min(this.units(meal), Math.max(0, n));
    if (got > 0) this.stock.set(meal, this.units(meal) - got);
    return got;
  }

  /** The kitchen puts `items` in. */
  restock(items: Items): void {
    for (const [meal, n] of Object.entries(items)) this.stock.set(meal, this.units(meal) + checkUnits(n));
  }

  /** The next inventory snapshot (full totals), consuming one sequence number. */
  snapshot(now: Date): InventoryPayload {
    return { boot: this.bootCounter, seq: ++this.seqCounter, ts: now.toISOString(), items: this.totals() } as InventoryPayload;
  }

  /**
   * A customer opens the fridge for order `orderId` and takes what is there of `wanted`. Returns the
   * pickup event, or `undefined` when none of the wanted meals is inside (a shortage: walk-ins
   * took the reserved units); `taken` tells how much of the order was actually served.
   */
  pickup(orderId: string, wanted: Items, now: Date): { payload: PickupPayload | undefined; taken: Items } {
    const taken: Items = {};
    for (const [meal, n] of Object.entries(wanted)) {
      const got = this.take(meal, n);
      if (got > 0) taken[meal] = got;
    }
    if (Object.keys(taken).length === 0) return { payload: undefined, taken };
    const payload = { boot: this.bootCounter, seq: ++this.seqCounter, ts: now.toISOString(), orderId, items: taken } as PickupPayload;
    return { payload, taken };
  }

  /**
   * The fridge reboots: the sequence restarts. A healthy firmware increments its boot counter; one
   * that `forgetsBoot` keeps the old one, so its new reports look *older* than those before the
   * reboot (the case the gateway's documented rule must handle).
   */
  reboot(forgetsBoot = false): void {
    this.reboots++;
    if (forgetsBoot) this.forgottenBoots++;
    else this.bootCounter++;
    this.seqCounter = 0;
  }
}

function checkUnits(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`units must be a non-negative integer, got ${n}`);
  return n;
}
