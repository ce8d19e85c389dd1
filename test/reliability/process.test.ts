/**
 * A second process on what a running one owns (docs/reliability.md "Results"): a second
 * `fridgesync gateway` or `fridgesync central` started on a data directory in use must exit
 * non-zero with a message naming the directory, within 2 s of its start, while the first keeps
 * serving; and a cloned gateway (a copy of the store, the same token, run as a second process next
 * to the first) must be refused by central while the first keeps syncing, with no counter of
 * central going back.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '@fridgesync/simulators';
import { checkSnapshots } from './checker.ts';
import { MEALS, Rig } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { exitsWithin, freePort, spawnCli, type Spawned } from '../integration/helpers/cli.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const FILE = 'test/reliability/process.test.ts';
const SECOND = 'a second process on a data dir in use is refused';
const CLONE = 'a cloned gateway is refused and central never goes back';
/** The criterion of the second process: its exit, counted from its spawn. */
const REFUSED_WITHIN_MS = 2_000;

/** Spawn to exit of a process that is expected to stop by itself; its code and output. */
async function timedExit(p: Spawned): Promise<{ ms: number; code: number | string; output: string }> {
  const t0 = Date.now();
  const code = await exitsWithin(p, 15_000);
  return { ms: Date.now() - t0, code, output: p.output() };
}

describe('process faults', () => {
  it(SECOND, async () => {
    const runs = count(2, 20);
    const prng = new Prng(`second-process:${SEED}`);
    const rig = new Rig(defer, SEED);
    await rig.init();
    await rig.startCentral();
    await rig.startGateway();
    await rig.quiesced();
    const fridge = await rig.fridge('f1');
    const times: { gateway: number[]; central: number[]; baseline: number[] } = { gateway: [], central: [], baseline: [] };
    const problems: string[] = [];
    for (let run = 0; run < runs; run++) {
      // How long this machine takes to start the command and leave at once, for comparison.
      times.baseline.push((await timedExit(spawnCli(defer, ['--version']))).ms);

      const gw = await timedExit(rig.spawnGateway({ mqttPort: await freePort(), httpPort: await freePort() }));
      times.gateway.push(gw.ms);
      if (gw.code === 0 || !gw.output.includes(`the data directory ${rig.gatewayDir} is in use by another gateway process`)) problems.push(`run ${run} gateway: exit ${gw.code}: ${gw.output.slice(-500)}`);

      const ce = await timedExit(rig.spawnCentral({ port: await freePort() }));
      times.central.push(ce.ms);
      if (ce.code === 0 || !ce.output.includes(`the data directory ${join(rig.dir, 'central')} is in use by another central process`)) problems.push(`run ${run} central: exit ${ce.code}: ${ce.output.slice(-500)}`);

      // The first ones keep serving: a snapshot is acknowledged and reaches central through them.
      const items = { [MEALS[0]]: fridge.seq + 1, [MEALS[1]]: prng.int(0, 9) };
      if (!(await fridge.snapshot(items))) problems.push(`run ${run}: the first gateway did not acknowledge a snapshot`);
      const served = await waitFor(async () => checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).length === 0, 15_000, 'central reads the newest snapshot').then(
        () => true,
        () => false,
      );
      if (!served) problems.push(`run ${run}: central does not read the newest snapshot`);
    }
    const worst = { gateway: Math.max(...times.gateway), central: Math.max(...times.central), baseline: Math.max(...times.baseline) };
    const pass = problems.length === 0 && worst.gateway <= REFUSED_WITHIN_MS && worst.central <= REFUSED_WITHIN_MS;
    record({
      scenario: `a second gateway and a second central on a data dir in use (${runs} runs each)`,
      criterion: `refused (non-zero exit, the directory named) ≤ ${REFUSED_WITHIN_MS} ms from spawn; the first keeps serving`,
      measured: `${runs - problems.length}/${runs} runs as expected; exit after spawn ≤ ${worst.gateway} ms (gateway), ≤ ${worst.central} ms (central); \`fridgesync --version\` ≤ ${worst.baseline} ms`,
      pass,
      command: replayCommand(FILE, SECOND),
    });
    expect(problems, `replay: ${replayCommand(FILE, SECOND)}`).toEqual([]);
    expect(worst.gateway).toBeLessThanOrEqual(REFUSED_WITHIN_MS);
    expect(worst.central).toBeLessThanOrEqual(REFUSED_WITHIN_MS);
  }, count(120_000, 600_000));

  it(CLONE, async () => {
    const runs = count(1, 10);
    const prng = new Prng(`clone:${SEED}`);
    const rig = new Rig(defer, SEED);
    await rig.init();
    await rig.startCentral();
    await rig.startGateway();
    await rig.quiesced();
    const fridge = await rig.fridge('f1');
    const problems: string[] = [];
    const refusedMs: number[] = [];
    const codes = new Set<number>();
    let acked = 0;
    // Central's meal-a total counts the snapshots (each snapshot reports its sequence there), so
    // any read below the one before it is a counter gone back.
    let highest = 0;
    const watch = async (label: string) => {
      const t = (await rig.centralRead([])).cells.f1?.[MEALS[0]]?.T ?? 0;
      if (t < highest) problems.push(`${label}: central's T went back from ${highest} to ${t}`);
      highest = Math.max(highest, t);
    };
    for (let run = 0; run < runs; run++) {
      for (let i = 0; i < prng.int(3, 10); i++) if (await fridge.snapshot({ [MEALS[0]]: fridge.seq + 1, [MEALS[1]]: prng.int(0, 9) })) acked++;
      await rig.quiesced();
      // A copy of the running gateway's store (a copied disk image, a VM cloned with its data).
      // LevelDB's LOCK file is advisory (a held lock, not the file's existence): the copy opens.
      const dir = join(rig.dir, `clone-${run}`);
      cpSync(rig.gatewayDir, dir, { recursive: true });
      const http = await freePort();
      const clone = rig.spawnGateway({ mqttPort: await freePort(), httpPort: http, dataDir: dir });
      const t0 = Date.now();
      const refused = await waitFor(async () => (await rig.gatewayStatus(http))?.sync.refusal !== undefined, 20_000, 'the clone refused').then(
        () => true,
        () => false,
      );
      refusedMs.push(Date.now() - t0);
      const st = await rig.gatewayStatus(http);
      if (st?.sync.refusal !== undefined) codes.add(st.sync.refusal.code);
      if (!refused) problems.push(`run ${run}: the clone was not refused: ${JSON.stringify(st?.sync)}`);
      else if (![4409, 4412].includes(st!.sync.refusal!.code)) problems.push(`run ${run}: the clone refused with ${st!.sync.refusal!.code}, not 4409/4412`);
      if ((await fetch(`http://127.0.0.1:${http}/readyz`)).status !== 503) problems.push(`run ${run}: the clone claims readiness`);
      // The first keeps syncing while the clone keeps trying.
      for (let i = 0; i < prng.int(3, 10); i++) {
        if (await fridge.snapshot({ [MEALS[0]]: fridge.seq + 1, [MEALS[1]]: prng.int(0, 9) })) acked++;
        await watch(`run ${run}`);
      }
      const synced = await waitFor(async () => checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).length === 0, 15_000, 'central reads the newest snapshot').then(
        () => true,
        () => false,
      );
      if (!synced) problems.push(`run ${run}: central lost the first gateway's snapshots: ${checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).map((v) => v.detail).join('; ')}`);
      const first = await rig.gatewayStatus();
      if (first?.sync.state !== 'synced' || first.sync.refusal !== undefined) problems.push(`run ${run}: the first gateway lost its link: ${JSON.stringify(first?.sync)}`);
      await watch(`run ${run} end`);
      await rig.kill(clone);
    }
    const worst = Math.max(...refusedMs);
    record({
      scenario: `a cloned gateway (a copy of the running store, the same token, a second process), ${runs} runs`,
      criterion: 'the clone refused (4409/4412, /readyz 503); the first keeps syncing; no counter of central goes back; 0 acknowledged snapshots lost',
      measured: `${runs - new Set(problems.map((p) => p.split(':')[0])).size}/${runs} runs as expected; clone refused (close ${[...codes].join(', ')}) ≤ ${worst} ms after spawn; ${acked} snapshots acknowledged${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`,
      pass: problems.length === 0,
      command: replayCommand(FILE, CLONE),
    });
    expect(problems, `replay: ${replayCommand(FILE, CLONE)}`).toEqual([]);
  }, count(120_000, 900_000));
});
