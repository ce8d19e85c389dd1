import { describe, expect, it } from 'vitest';
import { awaitCatalogConvergence, compareCatalog, extractCatalogStock } from '../src/catalog-check.ts';

const flat = (s: ReturnType<typeof extractCatalogStock>) => Object.fromEntries([...s].map(([f, m]) => [f, Object.fromEntries(m)]));

describe('catalog check', () => {
  it('reads sellable units from the layouts a catalog may have', () => {
    const rows = { venues: [{ venueId: 'v1', fridges: [{ fridgeId: 'f1', items: [{ mealId: 'm1', sellable: 2, priceCents: 500 }, { mealId: 'm2', available: 0 }] }] }] };
    expect(flat(extractCatalogStock(rows))).toEqual({ f1: { m1: 2, m2: 0 } });
    const keyed = { city: 'Berlin', fridges: { f1: { meals: { m1: 3 } }, f2: { meals: { m1: { available: 1, priceCents: 400 } } } } };
    expect(flat(extractCatalogStock(keyed))).toEqual({ f1: { m1: 3 }, f2: { m1: 1 } });
    const perCity = [[{ fridgeId: 'f1', mealId: 'm1', qty: 4 }], { fridgeId: 'f2', stock: { m9: 7 } }];
    expect(flat(extractCatalogStock(perCity))).toEqual({ f1: { m1: 4 }, f2: { m9: 7 } });
  });

  it('accepts a value inside the expected range and treats a missing row as 0', () => {
    const stock = extractCatalogStock([{ fridgeId: 'f1', mealId: 'm1', sellable: 2 }]);
    expect(compareCatalog(stock, [{ fridgeId: 'f1', mealId: 'm1', min: 1, max: 2 }])).toEqual([]);
    expect(compareCatalog(stock, [{ fridgeId: 'f1', mealId: 'm2', min: 0, max: 0 }])).toEqual([]);
    expect(compareCatalog(stock, [{ fridgeId: 'f1', mealId: 'm1', min: 3, max: 3 }])).toEqual([{ fridgeId: 'f1', mealId: 'm1', expected: { min: 3, max: 3 }, actual: 2 }]);
    expect(compareCatalog(stock, [{ fridgeId: 'f2', mealId: 'm1', min: 1, max: 1 }])[0]!.actual).toBeNull();
  });

  it('polls until the catalog converges', async () => {
    let polls = 0;
    const r = await awaitCatalogConvergence({
      fetchCatalog: async () => [{ fridgeId: 'f1', mealId: 'm1', sellable: ++polls >= 3 ? 5 : 4 }],
      expected: () => [{ fridgeId: 'f1', mealId: 'm1', min: 5, max: 5 }],
      pollMs: 10,
      timeoutMs: 2_000,
    });
    expect(r).toMatchObject({ ok: true, polls: 3, checked: 1 });
  });

  it('reports (does not throw) when central stays wrong or unreachable', async () => {
    const wrong = await awaitCatalogConvergence({
      fetchCatalog: async () => [{ fridgeId: 'f1', mealId: 'm1', sellable: 9 }],
      expected: () => [{ fridgeId: 'f1', mealId: 'm1', min: 5, max: 5 }],
      pollMs: 10,
      timeoutMs: 100,
    });
    expect(wrong.ok).toBe(false);
    expect(wrong.mismatches).toHaveLength(1);
    const down = await awaitCatalogConvergence({
      fetchCatalog: async () => {
        throw new Error('connect ECONNREFUSED');
      },
      expected: () => [],
      pollMs: 10,
      timeoutMs: 100,
    });
    expect(down).toMatchObject({ ok: false, error: 'connect ECONNREFUSED' });
  });
});
