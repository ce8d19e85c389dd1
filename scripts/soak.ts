/**
 * `npm run test:soak -- --seed N --histories N [--max-steps N] [--oracle-every N] [--path P]`
 *
 * Runs the convergence property of shared/test/convergence.test.ts for many more histories than CI,
 * in this process, printing progress and the same summary line. A failure prints the seed and the
 * fast-check path; rerun with both to replay only the failing history (shrunk).
 */
import fc from 'fast-check';
import { EXIT_USAGE, formatUsageError, parseCommandLine, UsageError } from '@fridgesync/shared/command-line';
import { historyArb, runHistory } from '../shared/test/support/history.ts';
import { propertySettings } from '../shared/test/support/settings.ts';

const USAGE = 'usage: npm run test:soak -- [--seed N] [--histories N] [--max-steps N] [--oracle-every N] [--path P]\n';
const OPTIONS = { seed: { type: 'string' }, histories: { type: 'string' }, 'max-steps': { type: 'string' }, 'oracle-every': { type: 'string' }, path: { type: 'string' } } as const;

let args;
try {
  args = parseCommandLine(process.argv.slice(2), OPTIONS, false).values;
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(formatUsageError('soak', e.problems));
  process.exit(EXIT_USAGE);
}
if (args.version) {
  process.stderr.write(formatUsageError('soak', ['a script of the repository: no version of its own']));
  process.exit(EXIT_USAGE);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const cfg = propertySettings({
  FRIDGESYNC_SEED: args.seed ?? process.env.FRIDGESYNC_SEED,
  FRIDGESYNC_HISTORIES: args.histories ?? process.env.FRIDGESYNC_HISTORIES ?? '1000000',
  FRIDGESYNC_PATH: args.path ?? process.env.FRIDGESYNC_PATH,
  FRIDGESYNC_MAX_STEPS: args['max-steps'] ?? process.env.FRIDGESYNC_MAX_STEPS ?? '16',
  FRIDGESYNC_ORACLE_EVERY: args['oracle-every'] ?? process.env.FRIDGESYNC_ORACLE_EVERY,
  FRIDGESYNC_FORGERY_PERCENT: process.env.FRIDGESYNC_FORGERY_PERCENT,
});

const t0 = performance.now();
let done = 0;
const result = fc.check(
  fc.property(historyArb(cfg.maxSteps, cfg.oracleEvery), fc.noBias(fc.nat({ max: 99 })), (h, k) => {
    runHistory(h, { forgeries: k < cfg.forgeryPercent });
    if (++done % 10_000 === 0) process.stdout.write(`soak: ${done} histories, ${((performance.now() - t0) / 1000).toFixed(0)}s\n`);
  }),
  { seed: cfg.seed, numRuns: cfg.histories, ...(cfg.path !== undefined ? { path: cfg.path, endOnFailure: true } : {}) },
);
const secs = ((performance.now() - t0) / 1000).toFixed(1);
process.stdout.write(`convergence: ${result.numRuns} histories, seed ${cfg.seed}, ${result.failed ? 1 : 0} failures, ${secs}s (max ${cfg.maxSteps} steps)\n`);
if (result.failed) {
  process.stdout.write(`${fc.defaultReportMessage(result)}\n${String(result.errorInstance)}\n`);
  process.stdout.write(`replay: npm run test:soak -- --seed ${result.seed} --path ${result.counterexamplePath} --max-steps ${cfg.maxSteps}\n`);
  process.exit(1);
}
