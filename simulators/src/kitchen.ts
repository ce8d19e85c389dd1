/**
 * The ghost kitchen: on its schedule it refills every fridge below par. For each fridge it
 * announces the delivery to central (`POST /v1/kitchen/deliveries`, kitchen token), unloads after
 * `unloadMs`, and the fridge reports its new totals. Sometimes a meal comes one unit short of the
 * announcement, so central has a discrepancy to report.
 */
import type { DeliveryBody } from '@fridgesync/shared';
import type { Items } from './fridge-model.ts';
import type { HttpApi } from './http-api.ts';
import type { OversellCheck } from './oversell-check.ts';
import type { Prng } from './prng.ts';
import type { SimFridge } from './sim-fridge.ts';
import type { RunStats } from './stats.ts';

/** Options of {@link Kitchen}. */
export interface KitchenOptions {
  /** Central's kitchen API; without it deliveries happen unannounced. */
  api: HttpApi | undefined;
  prng: Prng;
  stats: RunStats;
  oversell: OversellCheck;
  /** Prefix of delivery ids (`d-{runId}-{n}`). */
  runId: string;
  /** Probability that a delivery brings one unit less of one meal than announced (default 0.1). */
  shortfall?: number;
  /** Between announcing and the meals being inside, ms (default 1,000). */
  unloadMs?: number;
}

/** Refills fridges to par, announcing each delivery first. */
export class Kitchen {
  private seq = 0;
  constructor(private readonly opts: KitchenOptions) {}

  /** One round over `fridges`; resolves when every fridge has reported its new totals. */
  async round(fridges: readonly SimFridge[]): Promise<void> {
    // Draw for every fridge up front, in order, so the stream does not depend on timing.
    const plans = fridges.map((f) => ({ f, shortRoll: this.opts.prng.next(), shortIdx: this.opts.prng.next() }));
    await Promise.all(plans.map((p) => this.deliver(p.f, p.shortRoll, p.shortIdx)));
  }

  private async deliver(f: SimFridge, shortRoll: number, shortIdx: number): Promise<void> {
    const announced: Items = {};
    for (const m of f.model.meals()) {
      const missing = (f.par[m] ?? 0) - f.model.units(m);
      if (missing > 0) announced[m] = missing;
    }
    const meals = Object.keys(announced);
    if (meals.length === 0) return;
    const actual: Items = { ...announced };
    if (shortRoll < (this.opts.shortfall ?? 0.1)) {
      const m = meals[Math.floor(shortIdx * meals.length)]!;
      actual[m] = actual[m]! - 1;
      if (actual[m] === 0) delete actual[m];
      this.opts.stats.inc('deliveryDiscrepancies');
    }
    const deliveryId = `d-${this.opts.runId}-${++this.seq}`;
    if (this.opts.api) {
      const r = await this.opts.api.announceDelivery({ deliveryId, venueId: f.venueId, fridgeId: f.fridgeId, items: announced } as DeliveryBody);
      if (!r.ok) {
        this.opts.stats.inc('deliveryAnnounceErrors');
        this.opts.stats.error(`delivery ${deliveryId}: ${r.status} ${r.code ?? r.error ?? ''}`);
      }
    }
    await new Promise((r) => setTimeout(r, this.opts.unloadMs ?? 1_000));
    f.openDoor(20_000);
    f.model.restock(actual);
    this.opts.oversell.stocked(f.fridgeId, actual);
    this.opts.stats.inc('deliveries');
    await f.publishSnapshot();
  }
}
