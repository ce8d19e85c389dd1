/**
 * The doc-growth report: the side-by-side table, the three target ratios (docs/benchmarks.md) and a plain
 * verdict for each. Pure formatting; the entry point prints it.
 */
import type { RunResult } from './run.ts';

/** One row of the table. */
export interface Row {
  layout: string;
  result: RunResult;
}

/** One target (docs/benchmarks.md) with its measured ratio. */
export interface Target {
  name: string;
  /** Measured value of the ratio. */
  value: number;
  /** `>=` or `<=` the goal. */
  op: '>=' | '<=';
  goal: number;
  met: boolean;
  /** How the ratio was computed, for the reader. */
  detail: string;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Formats the table of rows as fixed-width text (also valid inside a Markdown code block). */
export function formatTable(rows: readonly Row[]): string {
  const head = ['layout', 'ops', 'encoded B', 'live B', 'enc/live', 'write ops/s', 'ops/s incl. sync', 'sync ms', 'load ms'];
  const body = rows.map(({ layout, result: r }) => [
    layout + (r.capped ? ' (capped)' : ''),
    fmtInt(r.ops),
    fmtInt(r.encodedBytes),
    fmtInt(r.liveBytes),
    (r.encodedBytes / r.liveBytes).toFixed(2),
    fmtInt(r.ops / (r.writeMs / 1000)),
    fmtInt(r.ops / ((r.writeMs + r.syncMs) / 1000)),
    fmtInt(r.syncMs),
    r.loadMs.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Computes the targets from the full-size runs (`ours`, `naive`) and the equal-count runs (`oursAtAm`, `automerge`). */
export function computeTargets(ours: RunResult, naive: RunResult, oursAtAm: RunResult, automerge: RunResult): Target[] {
  const t = (name: string, value: number, op: '>=' | '<=', goal: number, detail: string): Target => ({
    name,
    value,
    op,
    goal,
    met: op === '>=' ? value >= goal : value <= goal,
    detail,
  });
  const ops = (r: RunResult) => r.ops / (r.writeMs / 1000);
  return [
    t('naive Y.Map size / ours size', naive.encodedBytes / ours.encodedBytes, '>=', 100, `at ${fmtInt(ours.ops)} ops`),
    t('ours encoded / live state', ours.encodedBytes / ours.liveBytes, '<=', 2, `at ${fmtInt(ours.ops)} ops`),
    t('ours write ops/s / Automerge write ops/s', ops(oursAtAm) / ops(automerge), '>=', 3, `both at ${fmtInt(automerge.ops)} ops`),
  ];
}

/** Formats the targets, one line each, with MET or MISSED in plain words. */
export function formatTargets(targets: readonly Target[]): string {
  return targets
    .map((x) => `${x.met ? 'MET   ' : 'MISSED'}  ${x.name} = ${x.value.toFixed(x.value >= 100 ? 0 : 2)}× (target ${x.op} ${x.goal}×, ${x.detail})`)
    .join('\n');
}
