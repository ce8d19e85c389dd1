/**
 * Promotion pricing: which promotion sets the price of a meal at a fridge at a given time. A
 * promotion applies from `fromMs` (inclusive) to `untilMs` (exclusive), to one fridge or, without
 * `fridgeId`, to every fridge of its venue. A fridge-specific promotion wins over a venue-wide one;
 * among equals the lowest price wins.
 */
import type { PromotionRecord } from '@fridgesync/shared';

/** A venue's promotions grouped by meal (prices are looked up per meal): meal → [promotionId, record]. */
export type PromotionsByMeal = ReadonlyMap<string, ReadonlyArray<readonly [string, PromotionRecord]>>;

/** Groups a venue's promotions (promotionId → record) by meal. */
export function promotionsByMeal(promotions: ReadonlyMap<string, PromotionRecord>): PromotionsByMeal {
  const out = new Map<string, Array<readonly [string, PromotionRecord]>>();
  for (const [id, p] of promotions) {
    const list = out.get(p.mealId) ?? [];
    list.push([id, p]);
    out.set(p.mealId, list);
  }
  return out;
}

/** The promotion price of `meal` at `fridge` at time `at` (ms), if a promotion applies. */
export function promotionPrice(byMeal: PromotionsByMeal, fridge: string, meal: string, at: number): { priceCents: number; promotionId: string } | undefined {
  let best: { priceCents: number; promotionId: string; specific: boolean } | undefined;
  for (const [id, p] of byMeal.get(meal) ?? []) {
    if (at < p.fromMs || at >= p.untilMs) continue;
    if (p.fridgeId !== undefined && p.fridgeId !== fridge) continue;
    const specific = p.fridgeId !== undefined;
    if (best === undefined || (specific && !best.specific) || (specific === best.specific && p.priceCents < best.priceCents)) best = { priceCents: p.priceCents, promotionId: id, specific };
  }
  return best && { priceCents: best.priceCents, promotionId: best.promotionId };
}
