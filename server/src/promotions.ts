/**
 * Promotion imports: CSV as operators export it from a spreadsheet, or JSON (read by
 * `promotion-rows.ts`). Every row is validated (no spreadsheet formula, schema, known
 * venue/meal/fridge, `from < until`) and every problem is reported with its row number; `dryRun`
 * shows what would change. An import is applied all or nothing: every venue
 * document is loaded first, then all rows are written with no await in between, each venue in one
 * transaction. The import id is derived from the rows, so uploading the same file twice changes nothing.
 */
import { createHash } from 'node:crypto';
import { FridgesyncError, ORIGINS, PromotionRowSchema, keys, type PromotionRecord, type PromotionRow, type VenueId } from '@fridgesync/shared';
import type { DocRegistry } from './doc-registry.ts';
import type { ReadModel } from './read-model.ts';
import type { CentralWriter } from './central-writer.ts';
import { formulaProblems, rowsFromBody, type RowError } from './promotion-rows.ts';
import { stableJson } from './stable-json.ts';

/** Rows per import: bounds memory and the size of one transaction. */
export const MAX_PROMOTION_ROWS = 10_000;

/** One row's planned effect. */
export interface PlannedRow {
  row: number;
  promotionId: string;
  venueId: VenueId;
  record: PromotionRecord;
  action: 'create' | 'unchanged';
}

/** The result of an import (or dry run). */
export interface ImportResult {
  importId: string | null;
  dryRun: boolean;
  valid: boolean;
  applied: number;
  rows: Array<{ row: number; promotionId: string; venueId: string; mealId: string; fridgeId: string | null; priceCents: number; from: string; until: string; action: string }>;
  errors: RowError[];
}

/** Imports and lists promotions. */
export class PromotionService {
  constructor(
    private readonly registry: DocRegistry,
    private readonly model: ReadModel,
    private readonly writer: CentralWriter,
  ) {}

  /** Validates, and unless `dryRun`, applies an import atomically. */
  async import(body: unknown, dryRun: boolean): Promise<ImportResult> {
    const { rows, errors } = rowsFromBody(body);
    if (rows.length > MAX_PROMOTION_ROWS) errors.push({ row: 0, message: `at most ${MAX_PROMOTION_ROWS} rows per import` });
    if (rows.length === 0 && errors.length === 0) errors.push({ row: 0, message: 'no rows' });
    const valid: Array<{ row: number; p: PromotionRow }> = [];
    for (const { row, raw } of rows) {
      const formulas = formulaProblems(raw);
      if (formulas.length > 0) {
        for (const message of formulas) errors.push({ row, message });
        continue;
      }
      const r = PromotionRowSchema.safeParse(raw);
      if (!r.success) {
        for (const i of r.error.issues) errors.push({ row, message: `${i.path.join('.') || 'row'}: ${i.message}` });
        continue;
      }
      const p = r.data;
      const vm = this.model.get(p.venueId);
      const problems: string[] = [];
      if (vm === undefined) problems.push(`venueId: unknown venue ${p.venueId}`);
      else {
        if (!vm.meals.has(p.mealId)) problems.push(`mealId: unknown meal ${p.mealId}`);
        if (p.fridgeId !== undefined && vm.fridges.get(p.fridgeId)?.view.config?.venueId !== p.venueId) problems.push(`fridgeId: no fridge ${p.fridgeId} in ${p.venueId}`);
      }
      if (Date.parse(p.until) <= Date.parse(p.from)) problems.push('until: must be after from');
      for (const m of problems) errors.push({ row, message: m });
      if (problems.length === 0) valid.push({ row, p });
    }
    const importId = errors.length === 0 ? 'imp-' + createHash('sha256').update(stableJson(valid.map((v) => v.p))).digest('hex').slice(0, 16) : null;
    const planned: PlannedRow[] = valid.map(({ row, p }, i) => {
      const record: PromotionRecord = { mealId: p.mealId, priceCents: p.priceCents, fromMs: Date.parse(p.from), untilMs: Date.parse(p.until), importId: importId ?? undefined };
      if (p.fridgeId !== undefined) record.fridgeId = p.fridgeId;
      if (importId === null) delete record.importId;
      const promotionId = `${importId ?? 'dry'}-${i + 1}`;
      const cur = this.model.get(p.venueId)?.promotions.get(promotionId);
      return { row, promotionId, venueId: p.venueId, record, action: cur !== undefined && stableJson(cur) === stableJson(record) ? 'unchanged' : 'create' };
    });
    errors.sort((a, b) => a.row - b.row);
    const result: ImportResult = {
      importId,
      dryRun,
      valid: errors.length === 0,
      applied: 0,
      errors,
      rows: planned.map((p) => ({
        row: p.row,
        promotionId: p.promotionId,
        venueId: p.venueId,
        mealId: p.record.mealId,
        fridgeId: p.record.fridgeId ?? null,
        priceCents: p.record.priceCents,
        from: new Date(p.record.fromMs).toISOString(),
        until: new Date(p.record.untilMs).toISOString(),
        action: p.action,
      })),
    };
    if (dryRun || errors.length > 0) return result;
    const todo = planned.filter((p) => p.action === 'create');
    const byVenue = new Map<VenueId, PlannedRow[]>();
    for (const p of todo) byVenue.set(p.venueId, [...(byVenue.get(p.venueId) ?? []), p]);
    // Load every document first; only then write, with no await in between (all or nothing).
    const hosts = await Promise.all([...byVenue.keys()].map((v) => this.registry.acquire(v)));
    if (hosts.some((h) => h.state !== 'ready')) throw new FridgesyncError('NOT_READY', 'a venue document was unloaded during the import; nothing was applied');
    hosts.forEach((host) => {
      host.doc.transact(ORIGINS.api, (w) => {
        for (const p of byVenue.get(host.venueId)!) w.set(keys.config('promotion', p.promotionId), { h: this.writer.hlc.tick(), v: p.record });
      });
    });
    await Promise.all(hosts.map((h) => h.whenDurable()));
    result.applied = todo.length;
    return result;
  }

  /** Promotions of every venue (or one), optionally only those active at `at`. */
  list(venue?: string, activeAt?: number) {
    const out: Array<Record<string, unknown>> = [];
    for (const vm of this.model.venuesIn()) {
      if (venue !== undefined && vm.venueId !== venue) continue;
      for (const [id, p] of vm.promotions) {
        if (activeAt !== undefined && (activeAt < p.fromMs || activeAt >= p.untilMs)) continue;
        out.push({
          promotionId: id,
          venueId: vm.venueId,
          mealId: p.mealId,
          fridgeId: p.fridgeId ?? null,
          priceCents: p.priceCents,
          from: new Date(p.fromMs).toISOString(),
          until: new Date(p.untilMs).toISOString(),
          importId: p.importId ?? null,
        });
      }
    }
    return out.sort((a, b) => (String(a.promotionId) < String(b.promotionId) ? -1 : 1));
  }
}
