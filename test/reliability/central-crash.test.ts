/**
 * `kill -9` of central (docs/reliability.md "Process faults"): under load on both sides of the
 * uplink, central dies at a seeded moment or at a crash point (an update durable but not yet
 * acknowledged to the gateway; an order stored but not yet answered) and is started again on its
 * store. Afterwards nothing central acknowledged (orders answered 201/200, the gateway's updates)
 * may be missing, and the history must check (checker.ts). And the customer's side of it: an order
 * whose answer was lost to a central crash, retried with the same id, is exactly one reservation.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '@fridgesync/simulators';
import { assertConsistent, check } from './checker.ts';
import { runLoad } from './load.ts';
import { MEALS, Rig } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const FILE = 'test/reliability/central-crash.test.ts';

async function venue(label: string, stockEach: number) {
  const rig = new Rig(defer, SEED);
  await rig.start();
  const fridge = await rig.fridge('f1');
  const stock: Record<string, number> = Object.fromEntries(MEALS.map((m) => [m, stockEach]));
  await fridge.snapshot({ ...stock });
  await waitFor(async () => (await rig.centralRead()).cells.f1?.[MEALS[0]]?.S === stockEach, 30_000, 'central holds rights');
  return { rig, fridge, stock, prng: new Prng(`${label}:${SEED}`) };
}

describe('central crashes', () => {
  const UNDER_LOAD = 'kill -9 of central under load loses no acknowledged update or order';
  it(UNDER_LOAD, async () => {
    const { rig, fridge, stock, prng } = await venue('central-crash', 40);
    const cycles = count(3, 50);
    const downs: number[] = [];
    let atPoint = 0;
    for (let c = 0; c < cycles; c++) {
      // A third of the cycles die at a crash point, the rest by kill -9 from outside.
      const kind = prng.int(0, 2);
      const crashAt = kind === 0 ? `central-before-durable-ack:${prng.int(1, 20)}` : kind === 1 ? `central-before-order-reply:${prng.int(1, 10)}` : undefined;
      if (crashAt !== undefined) {
        await rig.kill(rig.central);
        await rig.startCentral({ crashAt });
      }
      const loadMs = prng.int(1_000, 2_500);
      const killAt = prng.int(200, loadMs);
      const killer = (async () => {
        await new Promise((r) => setTimeout(r, killAt));
        if (rig.central!.child.exitCode === null && rig.central!.child.signalCode === null) await rig.kill(rig.central);
        else atPoint++;
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, prng.int(0, 800)));
        await rig.startCentral();
        downs.push(Date.now() - t0);
      })();
      await runLoad(rig, fridge, stock, prng.fork(`c${c}`), { ms: loadMs, tag: `c${c}`, conflictingIds: c % 2, orderTimeoutMs: 2_000 });
      await killer;
    }
    await rig.quiesced(60_000);
    // Read at rest: acknowledged snapshots held for the fold (storage.snapshotFoldMs) are not yet
    // updates, so nothing reads as pending while central lacks them; a graceful stop folds them
    // and waits until central acknowledged everything.
    await rig.kill(rig.gateway, 'SIGTERM');
    const central = await rig.centralRead();
    const violations = check(rig.history, [central, await rig.gatewayStoreRead()]);
    const s = rig.history.summary();
    record({
      scenario: `central kill -9 under load (${cycles} cycles, ${atPoint} at a crash point)`,
      criterion: '0 acknowledged updates or orders lost; history checks',
      measured: `${violations.length} violations; ${s['order:ok'] ?? 0} orders confirmed, ${s['order:unknown'] ?? 0} unknown, ${s['snapshot:ok'] ?? 0} snapshots acked; central down ≤ ${Math.max(...downs)} ms per cycle`,
      pass: violations.length === 0,
      command: replayCommand(FILE, UNDER_LOAD),
    });
    assertConsistent(violations, replayCommand(FILE, UNDER_LOAD));
  }, 900_000);

  const RETRY = 'an order retried after its answer was lost to a central kill is exactly one reservation';
  it(RETRY, async () => {
    const runs = count(4, 200);
    const { rig, prng } = await venue('order-retry', runs + 10);
    const held = async () => (await rig.centralRead()).cells.f1?.[MEALS[0]]?.R ?? 0;
    let exact = 0;
    /** Runs in which central died with the order stored and unanswered. */
    let diedStored = 0;
    const wrong: string[] = [];
    for (let run = 0; run < runs; run++) {
      const before = await held();
      const id = `retry-${SEED}-${run}`;
      // Half the runs: central dies between storing the order and answering. The other half: the
      // client gives up on a stopped central, which is then killed (the order may or may not be in).
      const stored = run % 2 === 0;
      await rig.kill(rig.central);
      await rig.startCentral(stored ? { crashAt: 'central-before-order-reply' } : {});
      if (!stored) rig.central!.child.kill('SIGSTOP');
      const first = await rig.order('central', id, 'f1', { [MEALS[0]]: 1 }, prng.int(300, 1_500));
      if (stored) await waitFor(() => rig.central!.child.signalCode === 'SIGKILL', 10_000, 'central died at the crash point').then(() => diedStored++, () => undefined);
      await rig.kill(rig.central);
      await rig.startCentral();
      // The retry: same id, same contents, until central answers.
      let status: number | undefined;
      await waitFor(async () => (status = await rig.order('central', id, 'f1', { [MEALS[0]]: 1 }, 3_000)) !== undefined, 30_000, 'retry answered');
      const after = await held();
      const o = (await rig.centralRead()).orders[id];
      if (after - before === 1 && o?.state === 'reserved' && o.variants.length === 1 && (status === 200 || status === 201)) exact++;
      else wrong.push(`run ${run}: first ${first ?? 'no answer'}, retry ${status}, R ${before} → ${after}, order ${JSON.stringify(o)}`);
    }
    record({
      scenario: 'order retried after client timeout across a central kill',
      criterion: `exactly one reservation in ${runs}/${runs}`,
      measured: `${exact}/${runs} (${diedStored} died with the order stored, unanswered; ${runs - Math.ceil(runs / 2)} timed out on a stopped central, then killed)`,
      pass: exact === runs,
      command: replayCommand(FILE, RETRY),
    });
    expect(wrong, `replay: ${replayCommand(FILE, RETRY)}`).toEqual([]);
    expect(diedStored, 'the crash point was reached').toBe(Math.ceil(runs / 2));
  }, count(600_000, 3_600_000));
});
