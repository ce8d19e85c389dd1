/**
 * `npm run test:chaos [-- --seed N] [-- --ci] [-- file-filter…]`
 *
 * Runs the reliability matrix (test/reliability/, docs/reliability.md) on the real processes with
 * the full counts (`FRIDGESYNC_CHAOS=full`; `--ci` runs the CI subset's counts instead), one seed
 * for every scenario (random unless `--seed`), then prints the summary table
 * `scenario | criterion | measured | seed | command` and the seed. A failing scenario's row carries
 * the command that replays its schedule. Exit status: vitest's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ResultRow } from '../test/reliability/settings.ts';

const argv = process.argv.slice(2);
const seedAt = argv.indexOf('--seed');
const seed = seedAt >= 0 ? Number(argv[seedAt + 1]) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isInteger(seed)) {
  process.stderr.write('usage: npm run test:chaos -- [--seed N] [--ci] [file-filter…]\n');
  process.exit(2);
}
const ci = argv.includes('--ci');
const filters = argv.filter((a, i) => !a.startsWith('--') && i !== seedAt + 1);
const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'fs-chaos-'));
const results = join(dir, 'results.jsonl');

process.stdout.write(`reliability matrix: seed ${seed}, ${ci ? 'CI subset' : 'full'} counts\n`);
const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...(filters.length > 0 ? filters : ['test/reliability/'])], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FRIDGESYNC_SEED: String(seed), FRIDGESYNC_CHAOS: ci ? '' : 'full', FRIDGESYNC_CHAOS_RESULTS: results },
});

let rows: ResultRow[] = [];
try {
  rows = readFileSync(results, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ResultRow);
} catch {
  // no scenario got as far as measuring
}
rmSync(dir, { recursive: true, force: true });

const cell = (s: string) => s.replace(/\|/g, '\\|');
process.stdout.write('\n| scenario | criterion | measured | pass | seed | command |\n|---|---|---|---|---|---|\n');
for (const r of rows) process.stdout.write(`| ${cell(r.scenario)} | ${cell(r.criterion)} | ${cell(r.measured)} | ${r.pass ? 'yes' : '**no**'} | ${r.seed} | \`${r.command}\` |\n`);
const failed = rows.filter((r) => !r.pass);
process.stdout.write(`\n${rows.length} rows, ${failed.length} failing; seed ${seed}\n`);
for (const r of failed) process.stdout.write(`replay: ${r.command}\n`);
process.exit(run.status ?? 1);
