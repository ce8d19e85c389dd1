/**
 * Seeded load on both sides of a venue's uplink for the reliability scenarios: customers ordering
 * through central and through the gateway's kiosk, a fridge restocking (its totals only grow, so
 * the checker's oversell bound is the newest total), and a few order ids taken on both sides with
 * different contents (the contents conflict of docs/design.md §Orders). Every attempt is recorded
 * in the rig's history.
 */
import { Prng } from '@fridgesync/simulators';
import type { Fridge, Rig } from './rig.ts';
import { MEALS } from './rig.ts';

/** What {@link runLoad} did. */
export interface LoadStats {
  centralOrders: number;
  kioskOrders: number;
  snapshots: number;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** How long, ms. */
  ms: number;
  /** Prefix of this load's order ids (unique per call). */
  tag: string;
  /** Mean pause between two orders of one side, ms. Default 60. */
  orderEveryMs?: number;
  /** Mean pause between two snapshots, ms. Default 250. */
  snapshotEveryMs?: number;
  /** Order ids taken on both sides with different contents. Default 1. */
  conflictingIds?: number;
  /** Order timeout, ms (an order that takes longer is `unknown`). Default 5 000. */
  orderTimeoutMs?: number;
}

/** Runs the load for `o.ms`; the fridge's totals are `stock` (grown in place). */
export async function runLoad(rig: Rig, fridge: Fridge, stock: Record<string, number>, prng: Prng, o: LoadOptions): Promise<LoadStats> {
  const end = Date.now() + o.ms;
  const stats: LoadStats = { centralOrders: 0, kioskOrders: 0, snapshots: 0 };
  const pause = (mean: number, p: Prng) => new Promise((r) => setTimeout(r, Math.min(mean * 4, p.exponential(mean))));
  const timeout = o.orderTimeoutMs ?? 5_000;
  const side = async (via: 'central' | 'kiosk', p: Prng) => {
    for (let n = 0; Date.now() < end; n++) {
      const meal = MEALS[p.int(0, MEALS.length - 1)]!;
      await rig.order(via, `${o.tag}-${via}-${n}`, fridge.id, { [meal]: p.int(1, 2) }, timeout);
      if (via === 'central') stats.centralOrders++;
      else stats.kioskOrders++;
      await pause(o.orderEveryMs ?? 60, p);
    }
  };
  const restock = async (p: Prng) => {
    while (Date.now() < end) {
      const meal = MEALS[p.int(0, MEALS.length - 1)]!;
      stock[meal] = (stock[meal] ?? 0) + p.int(0, 2);
      await fridge.snapshot({ ...stock }, timeout);
      stats.snapshots++;
      await pause(o.snapshotEveryMs ?? 250, p);
    }
  };
  const conflicts = async (p: Prng) => {
    for (let k = 0; k < (o.conflictingIds ?? 1); k++) {
      await pause(o.ms / ((o.conflictingIds ?? 1) + 1), p);
      const id = `${o.tag}-both-${k}`;
      // The same id, one unit at the kiosk and two through central.
      await Promise.all([rig.order('kiosk', id, fridge.id, { [MEALS[0]]: 1 }, timeout), rig.order('central', id, fridge.id, { [MEALS[0]]: 2 }, timeout)]);
    }
  };
  await Promise.all([side('central', prng.fork('central')), side('kiosk', prng.fork('kiosk')), restock(prng.fork('restock')), conflicts(prng.fork('conflicts'))]);
  return stats;
}
