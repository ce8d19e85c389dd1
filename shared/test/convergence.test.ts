/**
 * The convergence property (shared/test/README.md): random histories on a simulated network of four
 * replicas (two central takers, the reconciler gateway, an HA standby gateway), with faults, checked
 * after every step and at quiescence; Automerge counters and a sequential model as oracles.
 *
 * FRIDGESYNC_SEED fixes the seed, FRIDGESYNC_HISTORIES the count (100,000 when CI=true).
 * A failure prints the seed and path; replay with FRIDGESYNC_SEED=<seed> FRIDGESYNC_PATH=<path>.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { historyArb, runHistory } from './support/history.ts';
import { propertySettings } from './support/settings.ts';

const cfg = propertySettings(process.env);

describe('convergence of random venue histories', () => {
  it(`holds the §3 invariants over ${cfg.histories} histories`, () => {
    const t0 = performance.now();
    let forged = 0;
    let oracle = 0;
    let paused = 0;
    const totals = { reserved: 0, soldOut: 0, rightsAboveStock: 0, replayed: 0, contentConflicts: 0, recalls: 0, epochChanges: 0, validated: 0 };
    const result = fc.check(
      fc.property(historyArb(cfg.maxSteps, cfg.oracleEvery), fc.noBias(fc.nat({ max: 99 })), (h, k) => {
        const forgeries = k < cfg.forgeryPercent;
        const s = runHistory(h, { forgeries });
        if (forgeries) forged++;
        if (h.oracle) oracle++;
        if (h.pauses === true) paused++;
        totals.reserved += s.reserved;
        totals.soldOut += s.soldOut;
        totals.rightsAboveStock += s.rightsAboveStock;
        totals.replayed += s.replayed;
        totals.contentConflicts += s.contentConflicts;
        totals.recalls += s.recalls;
        totals.epochChanges += s.epochChanges;
        totals.validated += s.validated;
      }),
      { seed: cfg.seed, numRuns: cfg.histories, ...(cfg.path !== undefined ? { path: cfg.path } : {}), endOnFailure: cfg.path !== undefined },
    );
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const failures = result.failed ? 1 : 0;
    // A plain line for CI logs (the count and the seed that replays this run).
    process.stdout.write(
      `convergence: ${result.numRuns} histories, seed ${cfg.seed}, ${failures} failures, ${secs}s ` +
        `(${oracle} with Automerge oracle, ${forged} with forgeries, ${paused} with top-up pauses after recalls; ${totals.reserved} reservations, ${totals.soldOut} sold out (${totals.rightsAboveStock} at central with rights above stock), ` +
        `${totals.replayed} replays, ${totals.contentConflicts} contents conflicts, ${totals.recalls} units recalled, ${totals.epochChanges} epoch changes, ${totals.validated} updates validated)\n`,
    );
    if (result.failed) {
      process.stdout.write(`convergence: FAILED — replay with FRIDGESYNC_SEED=${result.seed} FRIDGESYNC_PATH=${result.counterexamplePath}\n`);
    }
    expect(result.failed ? `${fc.defaultReportMessage(result)}\n${String(result.errorInstance)}` : 'ok').toBe('ok');
    // A replay (FRIDGESYNC_PATH) runs only the counterexample.
    if (cfg.path === undefined) expect(result.numRuns).toBe(cfg.histories);
  }, 20 * 60_000); // 100,000 histories take minutes; the default per-test timeout is one minute
});
