/**
 * Seed, scale and results of the reliability scenarios (docs/reliability.md "Running it").
 *
 * - `FRIDGESYNC_SEED`: the seed of every schedule (random when unset; printed with every result).
 * - `FRIDGESYNC_CHAOS=full`: the full matrix's counts (`npm run test:chaos`); unset, the CI subset's
 *   small counts that run inside `npm test`.
 * - `FRIDGESYNC_CHAOS_RESULTS`: a file each measured row is appended to (JSON lines), for the
 *   summary table `scripts/chaos.ts` prints.
 */
import { appendFileSync } from 'node:fs';

/** True for the full matrix. */
export const FULL = process.env.FRIDGESYNC_CHAOS === 'full';

/** The run's seed. */
export const SEED = Number(process.env.FRIDGESYNC_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** `ci` in the CI subset, `full` in the matrix. */
export const count = (ci: number, full: number): number => (FULL ? full : ci);

/** One row of the table. */
export interface ResultRow {
  scenario: string;
  criterion: string;
  measured: string;
  pass: boolean;
  seed: number;
  command: string;
}

/** The command that replays one scenario with this seed and scale. */
export function replayCommand(file: string, name: string): string {
  return `FRIDGESYNC_SEED=${SEED}${FULL ? ' FRIDGESYNC_CHAOS=full' : ''} npx vitest run ${file} -t '${name.replace(/'/g, '')}'`;
}

/** Prints a measured row (and appends it to the results file when one is set). */
export function record(row: Omit<ResultRow, 'seed'>): void {
  const full: ResultRow = { ...row, seed: SEED };
  console.log(`[reliability] ${full.pass ? 'PASS' : 'FAIL'} ${full.scenario} | ${full.criterion} | ${full.measured} | seed ${full.seed} | ${full.command}`);
  const file = process.env.FRIDGESYNC_CHAOS_RESULTS;
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(full)}\n`);
}
