/**
 * Storage faults of the gateway's LevelDB store on real processes (docs/reliability.md "Results"):
 *
 * - a store damaged between two `kill -9`s (its newest LevelDB log truncated or bit-flipped, as a
 *   lost disk cache or bit rot leaves it): the next process fails closed (then `fridgesync gateway
 *   repair`, as docs/operations.md says) or rebuilds from central under a new epoch;
 * - a store put back from an older copy (a restored backup) after the gateway ran on: it rebuilds
 *   under a new epoch and central's counters never go back;
 * - `kill -9` at the crash points `mid-compaction` (compaction batch in LevelDB's hands) and
 *   `mid-retirement` (a rebuild recorded the old epoch given up, the store not yet wiped).
 *
 * Every scenario ends with the history checker over central and the stopped gateway's store:
 * no acknowledged snapshot lost, the folds of both equal.
 */
import { cpSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '@fridgesync/simulators';
import { check, checkSnapshots } from './checker.ts';
import { MEALS, Rig, childEnv, type Fridge, type GatewayOptions } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { exitsWithin, spawnCli, type Spawned } from '../integration/helpers/cli.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const FILE = 'test/reliability/storage.test.ts';
const CORRUPT = 'a store damaged between kills fails closed or recovers under a new epoch';
const BACKUP = 'a store restored from an old backup rebuilds and central never goes back';
const COMPACTION = 'kill -9 mid-compaction loses no acknowledged snapshot';

/** Flips 8 bytes of `file` at a seeded place. */
function flip(file: string, prng: Prng): void {
  const bytes = readFileSync(file);
  const at = prng.int(0, Math.max(0, bytes.length - 8));
  for (let i = at; i < Math.min(bytes.length, at + 8); i++) bytes[i] = bytes[i]! ^ 0xff;
  writeFileSync(file, bytes);
}

/**
 * The newest LevelDB file of a kind in a store: `log` (the write-ahead log, whose records LevelDB
 * checks and drops when damaged) or `ldb` (a table, whose blocks LevelDB reads unchecked by
 * default, so the store's own checksums must catch it).
 */
function newest(dir: string, ext: 'log' | 'ldb'): string | undefined {
  const files = readdirSync(dir).filter((f) => new RegExp(`^\\d+\\.${ext}$`).test(f)).sort((a, b) => Number.parseInt(a) - Number.parseInt(b));
  return files.length === 0 ? undefined : join(dir, files.at(-1)!);
}

const DAMAGE = {
  'log truncated': (dir: string) => {
    const log = newest(dir, 'log')!;
    truncateSync(log, Math.floor(statSync(log).size / 2));
  },
  'log bit-flipped': (dir: string, prng: Prng) => flip(newest(dir, 'log')!, prng),
  // A store whose log was replayed at its last start has its data in a table.
  'table bit-flipped': (dir: string, prng: Prng) => flip(newest(dir, 'ldb') ?? newest(dir, 'log')!, prng),
} as const;
type Damage = keyof typeof DAMAGE;
const DAMAGES = Object.keys(DAMAGE) as Damage[];

const alive = (p: Spawned) => p.child.exitCode === null && p.child.signalCode === null;

/** How the gateway came back from a damaged or restored store. */
interface Comeback {
  /** Died at its armed crash point at least once on the way. */
  crashed: boolean;
  /** Refused to start (non-zero exit naming the damage) and was repaired. */
  failedClosed: boolean;
  /** `/status` `recovery.reason` once ready (undefined: opened as it was). */
  recovery: string | undefined;
  replica: string | undefined;
  /** Start to ready and synced with nothing pending. */
  ms: number;
}

/**
 * Starts the gateway on its store and brings it back as an operator would: a crash at the armed
 * point is followed by a plain start, a refusal to start (fails closed) by `fridgesync gateway
 * repair` and a start. Resolves once it is ready, synced, nothing pending.
 */
async function comeBack(rig: Rig, o: GatewayOptions): Promise<Comeback> {
  const t0 = Date.now();
  const out: Omit<Comeback, 'ms' | 'recovery' | 'replica'> = { crashed: false, failedClosed: false };
  let opts = o;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 3) throw new Error('the gateway did not come back after 3 restarts');
    const gw = rig.spawnGateway(opts);
    rig.gateway = gw;
    // Up (ready, synced: past the check of its store against central, which may rebuild and so
    // reach the retirement crash point, nothing pending), or gone.
    const quiet = async () => {
      const st = await rig.gatewayStatus();
      return st?.sync.state === 'synced' && st.pendingUpdates === 0 && (await fetch(`${rig.kioskUrl}/readyz`).then((r) => r.ok, () => false));
    };
    const up = await waitFor(async () => !alive(gw) || (await quiet()), 60_000, 'gateway ready and synced, or exited').then(
      () => alive(gw),
      async (e: Error) => {
        throw new Error(`${e.message}; /status: ${JSON.stringify(await rig.gatewayStatus())}`);
      },
    );
    if (up) break;
    const code = await gw.exit;
    if (code === 'SIGKILL' && opts.crashAt !== undefined) {
      out.crashed = true;
      opts = { ...opts, crashAt: undefined };
    } else if (code !== 0 && /corrupt/i.test(gw.output())) {
      out.failedClosed = true;
      const repair = spawnCli(defer, ['gateway', 'repair', '--config', rig.gatewayConfigFile()], { env: childEnv(undefined) });
      const rc = await exitsWithin(repair, 30_000);
      if (rc !== 0) throw new Error(`gateway repair exited ${rc}: ${repair.output()}`);
    } else {
      throw new Error(`the gateway exited ${code} at start:\n${gw.output().slice(-2000)}`);
    }
  }
  const st = await rig.gatewayStatus();
  return { ...out, recovery: st?.recovery?.reason, replica: st?.replica, ms: Date.now() - t0 };
}

/** A fridge connected to the current gateway, carrying on the sequence of the one before. */
async function reconnect(rig: Rig, before: Fridge | undefined): Promise<Fridge> {
  await before?.client.endAsync(true).catch(() => undefined);
  const f = await rig.fridge('f1');
  f.seq = before?.seq ?? 0;
  return f;
}

/** Publishes up to `n` snapshots with unique totals (meal-a counts the sequence); stops at the first unacknowledged one. */
async function publish(f: Fridge, n: number, prng: Prng): Promise<number> {
  let acked = 0;
  for (let i = 0; i < n; i++) {
    if (!(await f.snapshot({ [MEALS[0]]: f.seq + 1, [MEALS[1]]: prng.int(0, 9) }, 3_000))) break;
    acked++;
  }
  return acked;
}

/** Until central reads an allowed snapshot (the newest acknowledged or a later one); false after 20 s. */
const centralConsistent = (rig: Rig) =>
  waitFor(async () => checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).length === 0, 20_000, 'central reads an allowed snapshot').then(
    () => true,
    () => false,
  );

/**
 * The full checker over central and the gateway's store. The gateway is stopped gracefully once
 * quiet: its reconciler may still write after the last snapshot, and a graceful stop waits until
 * central acknowledged all it wrote (docs/operations.md), so both are read at rest.
 */
async function finalCheck(rig: Rig): Promise<string[]> {
  await rig.quiesced();
  await rig.kill(rig.gateway, 'SIGTERM');
  return check(rig.history, [await rig.centralRead(), await rig.gatewayStoreRead()]).map((v) => `${v.check}: ${v.detail}`);
}

/**
 * Polls central's total of meal-a (which counts the snapshots) until stopped, reporting any read
 * below the highest read before it: a counter gone back.
 */
function watchCentral(rig: Rig): { stop: () => Promise<string[]> } {
  const problems: string[] = [];
  let highest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = await rig.centralRead([]).then((r) => r.cells.f1?.[MEALS[0]]?.T, () => undefined);
      if (t !== undefined) {
        if (t < highest) problems.push(`central's T went back from ${highest} to ${t}`);
        highest = Math.max(highest, t);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return problems;
    },
  };
}

describe('storage faults', () => {
  it(CORRUPT, async () => {
    const runs = count(2, 20);
    const prng = new Prng(`corrupt:${SEED}`);
    const rig = new Rig(defer, SEED);
    await rig.init();
    await rig.startCentral();
    const lost: string[] = [];
    const outcomes: Record<string, number> = {};
    const times: number[] = [];
    let crashed = 0;
    let acked = 0;
    let fridge: Fridge | undefined;
    for (let run = 0; run < runs; run++) {
      // The CI subset takes a damaged log (with the retirement crash point) and a damaged table.
      const how: Damage = runs <= 2 ? (run === 0 ? 'log truncated' : 'table bit-flipped') : DAMAGES[prng.int(0, DAMAGES.length - 1)]!;
      const crashAt = (runs <= 2 ? run === 0 : prng.chance(0.5)) ? 'mid-retirement' : undefined;
      // Killed under load first (acknowledged snapshots possibly only in the store and its intake).
      const gw = await rig.startGateway({ snapshotFoldMs: prng.chance(0.5) ? 0 : 1_000 });
      await waitFor(async () => (await fetch(`${rig.kioskUrl}/readyz`)).ok, 30_000, 'gateway ready');
      fridge = await reconnect(rig, fridge);
      const killAt = prng.int(1, 30);
      let i = 0;
      while (i++ < 40 && (await fridge.snapshot({ [MEALS[0]]: fridge.seq + 1, [MEALS[1]]: prng.int(0, 9) }, 3_000))) {
        acked++;
        if (i === killAt) await rig.kill(gw);
      }
      await rig.kill(gw);
      // Started again on the intact store: what it acknowledged reaches central; then killed again.
      await comeBack(rig, {});
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, prng.int(1, 10), prng);
      await rig.quiesced();
      await rig.kill(rig.gateway);
      // Between the kills the newest log is damaged.
      DAMAGE[how](rig.gatewayDir, prng);
      const back = await comeBack(rig, { crashAt });
      if (back.crashed) crashed++;
      const outcome = back.failedClosed ? 'failed closed, repaired' : back.recovery !== undefined ? `rebuilt (${back.recovery})` : 'opened intact';
      outcomes[`${how}: ${outcome}`] = (outcomes[`${how}: ${outcome}`] ?? 0) + 1;
      times.push(back.ms);
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, prng.int(1, 10), prng);
      if (!(await centralConsistent(rig))) lost.push(`run ${run} (${how}${crashAt ? `, ${crashAt}` : ''}, ${outcome}): ${checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).map((v) => v.detail).join('; ')}`);
      // The last run's gateway stays up for the final check.
      if (run < runs - 1) await rig.kill(rig.gateway);
    }
    const violations = await finalCheck(rig);
    const summary = Object.entries(outcomes).map(([k, n]) => `${n} ${k}`).join(', ');
    record({
      scenario: `gateway store damaged between kills (newest LevelDB log truncated or 8 bytes flipped, or 8 bytes of the newest table flipped), ${runs} runs`,
      criterion: 'fails closed or recovers under a new epoch; 0 acknowledged snapshots lost; central and the gateway fold the same totals (the checker)',
      measured: `${lost.length} lost of ${acked} acknowledged; ${summary}; ${crashed} died at mid-retirement and came back; back ready and synced ≤ ${Math.max(...times)} ms; ${violations.length} violations${violations.length > 0 ? `: ${violations.join("; ")}` : ""}`,
      pass: lost.length === 0 && violations.length === 0,
      command: replayCommand(FILE, CORRUPT),
    });
    expect(lost, `replay: ${replayCommand(FILE, CORRUPT)}`).toEqual([]);
    expect(violations).toEqual([]);
  }, count(180_000, 1_800_000));

  it(BACKUP, async () => {
    const runs = count(1, 10);
    const prng = new Prng(`backup:${SEED}`);
    const rig = new Rig(defer, SEED);
    await rig.init();
    await rig.startCentral();
    const problems: string[] = [];
    const outcomes: Record<string, number> = {};
    const times: number[] = [];
    let crashed = 0;
    let acked = 0;
    let fridge: Fridge | undefined;
    await rig.startGateway();
    for (let run = 0; run < runs; run++) {
      const crashAt = (runs === 1 ? true : prng.chance(0.5)) ? 'mid-retirement' : undefined;
      await waitFor(async () => (await fetch(`${rig.kioskUrl}/readyz`)).ok, 30_000, 'gateway ready');
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, prng.int(2, 10), prng);
      await rig.quiesced();
      await rig.kill(rig.gateway);
      // The backup: a copy of the stopped store.
      const backup = join(rig.dir, `backup-${run}`);
      cpSync(rig.gatewayDir, backup, { recursive: true });
      await comeBack(rig, {});
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, prng.int(2, 10), prng);
      await rig.quiesced();
      await rig.kill(rig.gateway);
      // The old copy put back.
      const watch = watchCentral(rig);
      rmSync(rig.gatewayDir, { recursive: true, force: true });
      cpSync(backup, rig.gatewayDir, { recursive: true });
      const back = await comeBack(rig, { crashAt });
      if (back.crashed) crashed++;
      const outcome = back.failedClosed ? 'failed closed, repaired' : back.recovery !== undefined ? `rebuilt (${back.recovery})` : 'opened as it was';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      times.push(back.ms);
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, prng.int(1, 5), prng);
      if (!(await centralConsistent(rig))) problems.push(`run ${run}: ${checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).map((v) => v.detail).join('; ')}`);
      problems.push(...(await watch.stop()).map((p) => `run ${run}: ${p}`));
      if (back.recovery === undefined) problems.push(`run ${run}: the restored store was not rebuilt (${outcome})`);
    }
    const violations = await finalCheck(rig);
    record({
      scenario: `gateway store restored from an older copy after the gateway ran on, ${runs} runs`,
      criterion: 'rebuilt under a new epoch; no counter of central goes back; 0 acknowledged snapshots lost; the checker passes',
      measured: `${problems.length} problems; ${acked} snapshots acknowledged; ${Object.entries(outcomes).map(([k, n]) => `${n} ${k}`).join(', ')}; ${crashed} died at mid-retirement and came back; back ready and synced ≤ ${Math.max(...times)} ms; ${violations.length} violations${violations.length > 0 ? `: ${violations.join("; ")}` : ""}`,
      pass: problems.length === 0 && violations.length === 0,
      command: replayCommand(FILE, BACKUP),
    });
    expect(problems, `replay: ${replayCommand(FILE, BACKUP)}`).toEqual([]);
    expect(violations).toEqual([]);
  }, count(120_000, 1_200_000));

  it(COMPACTION, async () => {
    const runs = count(2, 30);
    const prng = new Prng(`compaction:${SEED}`);
    const rig = new Rig(defer, SEED);
    await rig.init();
    await rig.startCentral();
    const problems: string[] = [];
    const times: number[] = [];
    let died = 0;
    let acked = 0;
    let fridge: Fridge | undefined;
    for (let run = 0; run < runs; run++) {
      // Every 10th stored update compacts (the least allowed); each snapshot is one update (fold 0).
      const crashAt = `mid-compaction:${prng.int(1, 4)}`;
      const gw = await rig.startGateway({ crashAt, snapshotFoldMs: 0, compactEveryUpdates: 10 });
      await waitFor(async () => (await fetch(`${rig.kioskUrl}/readyz`)).ok, 30_000, 'gateway ready');
      const before = (await rig.gatewayStatus())?.replica;
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, 80, prng);
      if (alive(gw)) await rig.kill(gw);
      else died++;
      const back = await comeBack(rig, { snapshotFoldMs: 0, compactEveryUpdates: 10 });
      times.push(back.ms);
      // The compaction is one atomic batch: the store opens as the same replica, nothing rebuilt.
      if (back.failedClosed || back.recovery !== undefined || back.replica !== before) problems.push(`run ${run} (${crashAt}): the store came back ${back.failedClosed ? 'damaged' : `as ${back.replica} (recovery ${back.recovery})`}, not as ${before}`);
      fridge = await reconnect(rig, fridge);
      acked += await publish(fridge, 3, prng);
      if (!(await centralConsistent(rig))) problems.push(`run ${run} (${crashAt}): ${checkSnapshots(rig.history.snapshots(), [await rig.centralRead()]).map((v) => v.detail).join('; ')}`);
      if (run < runs - 1) await rig.kill(rig.gateway);
    }
    const violations = await finalCheck(rig);
    record({
      scenario: `gateway kill -9 at mid-compaction (compaction every 10 updates, the 1st–4th compaction), ${runs} runs`,
      criterion: '0 acknowledged snapshots lost; the store reopens as the same replica (no rebuild); the checker passes',
      measured: `${problems.length} problems; ${acked} snapshots acknowledged; ${died}/${runs} died at the crash point; back ready and synced ≤ ${Math.max(...times)} ms; ${violations.length} violations${violations.length > 0 ? `: ${violations.join("; ")}` : ""}`,
      pass: problems.length === 0 && violations.length === 0 && died > 0,
      command: replayCommand(FILE, COMPACTION),
    });
    expect(problems, `replay: ${replayCommand(FILE, COMPACTION)}`).toEqual([]);
    expect(violations).toEqual([]);
    expect(died, 'the crash point was reached').toBeGreaterThan(0);
  }, count(120_000, 1_800_000));
});
