/**
 * bench/doc-growth — does the venue document stay bounded by live state?
 *
 * Applies bounded-counter operations across 50 meals × 5 fridges × 4 replicas, interleaved (random
 * cell and replica per op), to three layouts side by side in one run:
 *   - ours: one VenueDoc per replica, each writing its keyed log `r:<replica>` (append + delete);
 *   - naive Y.Map: one key per fridge/meal/replica, overwritten on every operation;
 *   - Automerge 3: one Counter document per replica, a Counter per cell, one `change` per op.
 * Every `--sync-every` operations each replica's pending updates are merged into a hub document
 * (central) and relayed to the other replicas. Automerge runs at `--automerge-ops` and ours (and
 * the naive map) run again at the count Automerge reached, to compare at equal counts.
 *
 * Usage: npm run bench:doc-growth -- [--ops 1000000] [--automerge-ops 300000] [--seed 1]
 *        [--sync-every 1000] [--budget-s 420] [--quick]
 * `--quick` (10,000 / 2,000 ops, 3 s budget per phase) finishes in seconds: a smoke run.
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { DEFAULT_SHAPE, type WorkloadShape } from './lib/doc-growth/workload.ts';
import { recordOps, runSubject, type RunResult } from './lib/doc-growth/run.ts';
import { createOurs } from './lib/doc-growth/ours.ts';
import { createNaiveYMap } from './lib/doc-growth/naive-ymap.ts';
import { createAutomerge } from './lib/doc-growth/automerge-counters.ts';
import { computeTargets, formatTable, formatTargets, type Row, type Target } from './lib/doc-growth/report.ts';

/** Options of the benchmark. */
export interface DocGrowthOptions {
  /** Operations for ours and the naive map. Default 1,000,000. */
  ops: number;
  /** Operations for Automerge (and the equal-count rerun of ours). Default 300,000 (about 4 minutes on 2 cores). */
  automergeOps: number;
  /** Workload seed. Default 1. */
  seed: number;
  /** Sync round every this many operations (over all replicas). Default 1,000. */
  syncEvery: number;
  /** Wall-time budget per phase, seconds; a phase that exceeds it stops early and is marked capped. Default 420 s. */
  budgetS: number;
  /** Smoke-run sizes (see {@link QUICK}); the report then warns that targets are not meaningful. */
  quick: boolean;
  shape: WorkloadShape;
}

/** Everything one run measured. */
export interface DocGrowthResult {
  options: DocGrowthOptions;
  rows: Row[];
  targets: Target[];
}

const DEFAULTS: DocGrowthOptions = { ops: 1_000_000, automergeOps: 300_000, seed: 1, syncEvery: 1000, budgetS: 420, quick: false, shape: DEFAULT_SHAPE };
/** `--quick`: a smoke run in a few seconds; too few ops for the size targets to mean anything. */
const QUICK: Partial<DocGrowthOptions> = { ops: 10_000, automergeOps: 2_000, budgetS: 3, quick: true };

/** Parses command-line flags (throws on unknown flags or bad numbers). */
export function parseDocGrowthArgs(argv: string[]): DocGrowthOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ops: { type: 'string' },
      'automerge-ops': { type: 'string' },
      seed: { type: 'string' },
      'sync-every': { type: 'string' },
      'budget-s': { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const base = { ...DEFAULTS, ...(values.quick ? QUICK : {}) };
  const num = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  return {
    ...base,
    ops: num('ops', values.ops, base.ops),
    automergeOps: num('automerge-ops', values['automerge-ops'], base.automergeOps),
    seed: num('seed', values.seed, base.seed),
    syncEvery: num('sync-every', values['sync-every'], base.syncEvery),
    budgetS: num('budget-s', values['budget-s'], base.budgetS),
  };
}

/** Runs every phase; `progress` receives one line per finished phase. */
export function runDocGrowth(o: DocGrowthOptions, progress: (line: string) => void = () => {}): DocGrowthResult {
  const tape = recordOps(o.shape, Math.max(o.ops, o.automergeOps), o.seed);
  const budgetMs = o.budgetS * 1000;
  const phase = (layout: string, factory: Parameters<typeof runSubject>[0], ops: number): Row => {
    const result: RunResult = runSubject(factory, o.shape, tape, { ops, syncEvery: o.syncEvery, budgetMs });
    progress(`${layout}: ${result.ops} ops${result.capped ? ` (capped by the ${o.budgetS} s budget)` : ''}, ${((result.writeMs + result.syncMs) / 1000).toFixed(1)} s`);
    return { layout, result };
  };
  const ours = phase('ours (keyed log)', createOurs, o.ops);
  // The naive map replays exactly as many operations as ours applied, so sizes compare at equal counts.
  const naive = phase('naive Y.Map', createNaiveYMap, ours.result.ops);
  const am = phase('Automerge Counter', createAutomerge, o.automergeOps);
  const oursAtAm = phase('ours (keyed log)', createOurs, am.result.ops);
  const naiveAtAm = phase('naive Y.Map', createNaiveYMap, am.result.ops);
  const rows = [ours, naive, am, oursAtAm, naiveAtAm];
  return { options: o, rows, targets: computeTargets(ours.result, naive.result, oursAtAm.result, am.result) };
}

/** The printed report: header with machine and command, table, targets. */
export function formatDocGrowth(r: DocGrowthResult): string {
  const o = r.options;
  const cpu = cpus();
  const capped = r.rows.filter((x) => x.result.capped);
  return [
    `doc-growth  ${new Date().toISOString()}  node ${process.version}  ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown cpu'}`,
    `shape ${o.shape.meals} meals × ${o.shape.fridges} fridges × ${o.shape.replicas.length} replicas; seed ${o.seed}; sync round every ${o.syncEvery} ops; budget ${o.budgetS} s per phase`,
    'live B = UTF-8 bytes of compact JSON {"<replica>":{"c/<f>/<m>":[inc,dec]}}; encoded B = Y.encodeStateAsUpdate / Automerge.save of the merged hub document',
    '',
    formatTable(r.rows),
    '',
    formatTargets(r.targets),
    ...(o.quick ? ['', 'QUICK MODE: a smoke run. The naive layout grows with history, so the size ratio only reaches its target at the full count.'] : []),
    ...(capped.length > 0 ? ['', `CAPPED: ${capped.map((x) => `${x.layout} stopped at ${x.result.ops} ops`).join('; ')} (time budget)`] : []),
  ].join('\n');
}

/** Entry point: parse, run, print; exit code 0 (targets are reported, not enforced). */
function main(): void {
  let opts: DocGrowthOptions;
  try {
    opts = parseDocGrowthArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`doc-growth: ${(e as Error).message}`);
    process.exit(2);
  }
  const result = runDocGrowth(opts, (line) => console.error(`  … ${line}`));
  console.log(formatDocGrowth(result));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
