/** Promotion pricing: the time window, fridge-specific over venue-wide, the lowest among equals. */
import { describe, expect, it } from 'vitest';
import { FridgeIdSchema, MealIdSchema, type PromotionRecord } from '@fridgesync/shared';
import { promotionPrice, promotionsByMeal } from '../src/promotion-pricing.ts';

const m1 = MealIdSchema.parse('m1');
const promo = (priceCents: number, fromMs: number, untilMs: number, fridgeId?: string): PromotionRecord => ({ mealId: m1, priceCents, fromMs, untilMs, ...(fridgeId === undefined ? {} : { fridgeId: FridgeIdSchema.parse(fridgeId) }) });

describe('promotionPrice', () => {
  const byMeal = promotionsByMeal(
    new Map([
      ['venue-wide', promo(400, 1_000, 2_000)],
      ['venue-wide-cheaper', promo(350, 1_500, 2_000)],
      ['f1-only', promo(450, 1_000, 3_000, 'f1')],
      ['f2-only', promo(100, 1_000, 3_000, 'f2')],
      ['other-meal', { ...promo(1, 0, 10_000), mealId: MealIdSchema.parse('m2') }],
    ]),
  );

  it('applies from fromMs up to but not including untilMs', () => {
    expect(promotionPrice(byMeal, 'f9', m1, 999)).toBeUndefined();
    expect(promotionPrice(byMeal, 'f9', m1, 1_000)).toEqual({ priceCents: 400, promotionId: 'venue-wide' });
    expect(promotionPrice(byMeal, 'f9', m1, 2_000)).toBeUndefined();
  });

  it('takes the lowest of the venue-wide promotions that apply', () => {
    expect(promotionPrice(byMeal, 'f9', m1, 1_500)).toEqual({ priceCents: 350, promotionId: 'venue-wide-cheaper' });
  });

  it("a fridge's own promotion wins over venue-wide ones even when dearer; another fridge's never applies", () => {
    expect(promotionPrice(byMeal, 'f1', m1, 1_500)).toEqual({ priceCents: 450, promotionId: 'f1-only' });
    expect(promotionPrice(byMeal, 'f1', m1, 2_500)).toEqual({ priceCents: 450, promotionId: 'f1-only' });
    expect(promotionPrice(byMeal, 'f3', m1, 2_500)).toBeUndefined();
  });

  it('looks only at the promotions of the meal asked for', () => {
    expect(promotionPrice(byMeal, 'f9', 'm2', 5_000)).toEqual({ priceCents: 1, promotionId: 'other-meal' });
    expect(promotionPrice(byMeal, 'f9', 'm3', 5_000)).toBeUndefined();
  });
});
