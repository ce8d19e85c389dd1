/**
 * Client-side convergence check: once the run is quiet, central's catalog must show for every
 * fridge and meal the fridge's totals minus the units still reserved, `max(0, T − R)` (docs/design.md "Reconciliation",
 * "at quiescence"). Polls `GET /v1/catalog` until it matches or a timeout passes; an unreachable
 * central is reported as a failed check with its error, never thrown.
 */

/** Sellable units per fridge and meal, as read from a catalog response. */
export type CatalogStock = Map<string, Map<string, number>>;

/** Field names that may carry the orderable quantity of a catalog row, most specific first. */
const QTY_FIELDS = ['sellable', 'available', 'orderable', 'S', 'qty', 'quantity', 'units', 'stock'] as const;

/**
 * Reads fridge → meal → sellable units out of a catalog document, tolerant of its layout: rows
 * carrying `fridgeId`/`mealId` with a quantity field, or maps keyed by fridge or meal id under
 * `fridges`, `meals`, `items` or `stock`.
 */
export function extractCatalogStock(doc: unknown): CatalogStock {
  const out: CatalogStock = new Map();
  const record = (fridge: string, meal: string, n: number) => {
    let m = out.get(fridge);
    if (!m) out.set(fridge, (m = new Map()));
    m.set(meal, (m.get(meal) ?? 0) + n);
  };
  const walk = (node: unknown, fridge: string | undefined, meal: string | undefined, keyedBy: 'fridge' | 'meal' | undefined, depth: number): void => {
    if (depth > 12 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const x of node) walk(x, fridge, meal, undefined, depth + 1);
      return;
    }
    const obj = node as Record<string, unknown>;
    const f = typeof obj.fridgeId === 'string' ? obj.fridgeId : fridge;
    const m = typeof obj.mealId === 'string' ? obj.mealId : meal;
    if (f !== undefined && m !== undefined) {
      const field = QTY_FIELDS.find((q) => typeof obj[q] === 'number');
      if (field) {
        record(f, m, obj[field] as number);
        return;
      }
    }
    for (const [k, v] of Object.entries(obj)) {
      const nextF = keyedBy === 'fridge' ? k : f;
      const nextM = keyedBy === 'meal' ? k : m;
      if (keyedBy === 'meal' && nextF !== undefined && typeof v === 'number') {
        record(nextF, k, v);
        continue;
      }
      const childKeyedBy = k === 'fridges' ? 'fridge' : k === 'meals' || k === 'items' || k === 'stock' ? 'meal' : undefined;
      if (keyedBy !== undefined) walk(v, nextF, nextM, undefined, depth + 1);
      else walk(v, f, m, childKeyedBy, depth + 1);
    }
  };
  walk(doc, undefined, undefined, undefined, 0);
  return out;
}

/** What the catalog should show for one fridge and meal: a range, because holds may be ending. */
export interface Expectation {
  fridgeId: string;
  mealId: string;
  /** Lowest acceptable sellable count (all possibly-held orders still held). */
  min: number;
  /** Highest acceptable (only the surely-held orders). */
  max: number;
}

/** One disagreement between the catalog and the fridges. */
export interface CatalogMismatch {
  fridgeId: string;
  mealId: string;
  expected: { min: number; max: number };
  /** What the catalog showed; `null` when the fridge or meal was missing. */
  actual: number | null;
}

/** Result of the convergence check. */
export interface CatalogCheckResult {
  ok: boolean;
  /** Fridge-meal cells compared. */
  checked: number;
  /** Polls made before success or timeout. */
  polls: number;
  elapsedMs: number;
  mismatches: CatalogMismatch[];
  /** Last error talking to central, if any. */
  error?: string;
}

/** Compares one catalog reading with the expectations. A missing row counts as 0. */
export function compareCatalog(stock: CatalogStock, expected: readonly Expectation[]): CatalogMismatch[] {
  const out: CatalogMismatch[] = [];
  for (const e of expected) {
    const actual = stock.get(e.fridgeId)?.get(e.mealId);
    const v = actual ?? 0;
    if (v < e.min || v > e.max) out.push({ fridgeId: e.fridgeId, mealId: e.mealId, expected: { min: e.min, max: e.max }, actual: actual ?? null });
  }
  return out;
}

/** Options of {@link awaitCatalogConvergence}. */
export interface ConvergenceOptions {
  /** Fetches and merges the catalog of every city of the fleet. */
  fetchCatalog: () => Promise<unknown>;
  /** Recomputed at each poll (holds keep expiring while we wait). */
  expected: () => Expectation[];
  /** Give up after this long, ms (default 30,000). */
  timeoutMs?: number;
  /** Pause between polls, ms (default 500). */
  pollMs?: number;
}

/** Polls the catalog until it matches the expectations or the timeout passes. */
export async function awaitCatalogConvergence(o: ConvergenceOptions): Promise<CatalogCheckResult> {
  const t0 = Date.now();
  const timeout = o.timeoutMs ?? 30_000;
  let polls = 0;
  let last: CatalogMismatch[] = [];
  let error: string | undefined;
  let checked = 0;
  for (;;) {
    polls++;
    const exp = o.expected();
    checked = exp.length;
    try {
      last = compareCatalog(extractCatalogStock(await o.fetchCatalog()), exp);
      error = undefined;
      if (last.length === 0) return { ok: true, checked, polls, elapsedMs: Date.now() - t0, mismatches: [] };
    } catch (e) {
      error = (e as Error).message;
    }
    if (Date.now() - t0 + (o.pollMs ?? 500) > timeout) break;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
  }
  return { ok: false, checked, polls, elapsedMs: Date.now() - t0, mismatches: last.slice(0, 200), ...(error ? { error } : {}) };
}
