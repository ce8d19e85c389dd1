/**
 * `kill -9` of the gateway at each crash point (docs/reliability.md "Process faults"): a fridge
 * publishes full totals while the gateway process dies at a seeded crash point and count (before
 * a PUBACK, after one, mid-sync with central) or at a seeded moment (`kill -9` from outside). The
 * gateway is started again on the same store; once it is synced, the totals central reads must be
 * those of the newest acknowledged snapshot or a later one (checker.ts `snapshot-bounds`).
 * Criterion: 0 acknowledged snapshots lost over every run.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '@fridgesync/simulators';
import { checkSnapshots } from './checker.ts';
import { Rig, MEALS } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const FILE = 'test/reliability/gateway-crash.test.ts';
const NAME = 'kill -9 of the gateway at each crash point loses no acknowledged snapshot';
/** Crash points and the largest count drawn for each (how many times it is passed before dying). */
const KILLS = [
  ['before-puback', 40],
  ['after-puback', 40],
  ['mid-sync', 12],
  ['sigkill', 0],
] as const;

describe('gateway crashes', () => {
  it(NAME, async () => {
    const runs = count(4, 100);
    const prng = new Prng(`gateway-crash:${SEED}`);
    const rig = new Rig(defer, SEED);
    await rig.init();
    await rig.startCentral();
    let seq = 0;
    let acked = 0;
    let died = 0;
    const recoveries: number[] = [];
    const lost: string[] = [];
    for (let run = 0; run < runs; run++) {
      // The CI subset takes each kind once; the matrix draws them.
      const [point, most] = runs <= KILLS.length ? KILLS[run]! : KILLS[prng.int(0, KILLS.length - 1)]!;
      const crashAt = point === 'sigkill' ? undefined : `${point}:${prng.int(1, most)}`;
      const foldMs = prng.chance(0.5) ? 0 : 1_000;
      const gw = await rig.startGateway({ crashAt, snapshotFoldMs: foldMs });
      await waitFor(async () => (await fetch(`${rig.kioskUrl}/readyz`)).ok, 30_000, 'gateway ready');
      const fridge = await rig.fridge('f1');
      fridge.seq = seq;
      const killAfter = point === 'sigkill' ? prng.int(1, 60) : Infinity;
      for (let i = 0; i < 150; i++) {
        if (i === killAfter) void rig.kill(gw);
        // Unique totals per snapshot (meal-a counts the sequence), so a read names its snapshot.
        const ok = await fridge.snapshot({ [MEALS[0]]: fridge.seq + 1, [MEALS[1]]: prng.int(0, 9) }, 3_000);
        if (ok) acked++;
        else break;
        if (prng.chance(0.3)) await new Promise((r) => setTimeout(r, prng.int(1, 30)));
      }
      seq = fridge.seq;
      await fridge.client.endAsync(true).catch(() => undefined);
      // A crash point not reached in this run: kill it from outside.
      if (gw.child.exitCode === null && gw.child.signalCode === null) await rig.kill(gw);
      else if (crashAt !== undefined) died++;
      const t0 = Date.now();
      await rig.startGateway();
      // Central must come to read an allowed snapshot; a lost one never does.
      const settled = await waitFor(async () => checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).length === 0, 20_000, 'central reads an allowed snapshot').then(
        () => true,
        () => false,
      );
      recoveries.push(Date.now() - t0);
      if (!settled) lost.push(`run ${run} (${crashAt ?? `kill -9 after ${killAfter}`}, fold ${foldMs} ms): ${checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).map((v) => v.detail).join('; ')}`);
      await rig.kill(rig.gateway);
    }
    const worst = Math.max(...recoveries);
    record({
      scenario: `gateway kill -9 at crash points (${runs} runs)`,
      criterion: '0 acknowledged snapshots lost',
      measured: `${lost.length} lost of ${acked} acknowledged; ${died} died at a crash point; restart to central consistent ≤ ${worst} ms`,
      pass: lost.length === 0,
      command: replayCommand(FILE, NAME),
    });
    expect(lost, `replay: ${replayCommand(FILE, NAME)}`).toEqual([]);
    expect(died, 'the crash points were reached').toBeGreaterThan(0);
  }, count(600_000, 3_600_000));
});
