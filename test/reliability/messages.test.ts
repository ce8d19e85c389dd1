/**
 * Time and messages (docs/reliability.md "Time and messages"), on real processes: snapshots sent
 * five times each in a seeded shuffled order must leave the newest one's totals everywhere (the
 * report order of README "Contracts"); a gateway paused with SIGSTOP while central keeps selling
 * must resume, converge and violate no bound (checker.ts).
 */
import { describe, it } from 'vitest';
import { Prng } from '@fridgesync/simulators';
import { assertConsistent, check } from './checker.ts';
import { runLoad } from './load.ts';
import { MEALS, Rig } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const FILE = 'test/reliability/messages.test.ts';

async function venue() {
  const rig = new Rig(defer, SEED);
  await rig.start();
  return { rig, fridge: await rig.fridge('f1') };
}

/** Fisher–Yates with the seeded generator. */
function shuffle<T>(xs: T[], prng: Prng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

describe('messages and pauses', () => {
  const DUPLICATES = 'snapshots duplicated 5 times and reordered leave the newest one';
  it(DUPLICATES, async () => {
    const { rig, fridge } = await venue();
    const prng = new Prng(`duplicates:${SEED}`);
    const rounds = count(3, 50);
    const PER_ROUND = 10;
    let sent = 0;
    let worst = 0;
    for (let round = 0; round < rounds; round++) {
      const t0 = Date.now();
      // Totals and times rise with the sequence (a late report carries an earlier time).
      const batch = Array.from({ length: PER_ROUND }, (_, k) => ({ seq: round * PER_ROUND + k + 1, ts: new Date(t0 + k).toISOString(), items: { [MEALS[0]]: prng.int(0, 50), [MEALS[1]]: round * PER_ROUND + k } }));
      const newest = batch.at(-1)!;
      const sends = shuffle(batch.flatMap((b) => [b, b, b, b, b]), prng);
      // A few in flight at once, as a fridge flushing its queue after a reconnect would.
      for (let i = 0; i < sends.length; i += 5) await Promise.all(sends.slice(i, i + 5).map((b) => fridge.report(b.seq, b.ts, b.items)));
      sent += sends.length;
      await waitFor(async () => (await rig.centralRead()).cells.f1?.[MEALS[1]]?.T === newest.items[MEALS[1]], 15_000, 'central reads the newest snapshot');
      worst = Math.max(worst, Date.now() - t0);
    }
    await rig.quiesced();
    await rig.kill(rig.gateway, 'SIGTERM');
    const violations = check(rig.history, [await rig.centralRead(), await rig.gatewayStoreRead()]);
    record({
      scenario: `snapshots duplicated 5× and reordered (${rounds} rounds of ${PER_ROUND})`,
      criterion: 'state equals the newest snapshot (central and gateway)',
      measured: `${violations.length} violations in ${sent} publishes; newest at central ≤ ${worst} ms after a round started`,
      pass: violations.length === 0,
      command: replayCommand(FILE, DUPLICATES),
    });
    assertConsistent(violations, replayCommand(FILE, DUPLICATES));
  }, 600_000);

  const PAUSE = 'a gateway paused with SIGSTOP resumes and violates no bound';
  it(PAUSE, async () => {
    const { rig, fridge } = await venue();
    const prng = new Prng(`pause:${SEED}`);
    const stock: Record<string, number> = { [MEALS[0]]: 30, [MEALS[1]]: 30 };
    await fridge.snapshot({ ...stock });
    await waitFor(async () => (await rig.centralRead()).cells.f1?.[MEALS[0]]?.S === 30, 30_000, 'central holds rights');
    const pauseMs = count(4_000, 60_000);
    rig.gateway!.child.kill('SIGSTOP');
    // Central keeps selling; the kiosk and the fridge get no answer while the gateway is stopped.
    await runLoad(rig, fridge, stock, prng, { ms: pauseMs, tag: 'pause', conflictingIds: 0, orderTimeoutMs: 1_000 });
    rig.gateway!.child.kill('SIGCONT');
    const resumed = Date.now();
    // A fridge whose keepalive ran out while the gateway was stopped reconnects and reports its
    // totals, as fridge firmware does on every connect.
    if (!fridge.client.connected) {
      fridge.client = (await rig.fridge('f1')).client;
      await fridge.snapshot({ ...stock });
    }
    let seen = '';
    await waitFor(async () => {
      const s = await rig.gatewayStatus();
      const T = (await rig.centralRead()).cells.f1?.[MEALS[0]]?.T;
      seen = `sync ${s?.sync.state}, pending ${s?.pendingUpdates}, central T ${T} of ${stock[MEALS[0]]}`;
      return s?.sync.state === 'synced' && s.pendingUpdates === 0 && T === stock[MEALS[0]];
    }, 60_000, 'the gateway is synced again with nothing pending').catch((e: Error) => {
      throw new Error(`${e.message}; last seen: ${seen}`);
    });
    const ms = Date.now() - resumed;
    await rig.quiesced();
    await rig.kill(rig.gateway, 'SIGTERM');
    const violations = check(rig.history, [await rig.centralRead(), await rig.gatewayStoreRead()]);
    const s = rig.history.summary();
    record({
      scenario: `gateway paused (SIGSTOP) ${pauseMs / 1000} s under load`,
      criterion: 'resumes, no bound violation',
      measured: `synced ${ms} ms after SIGCONT; ${violations.length} violations (${s['order:ok'] ?? 0} confirmed, ${s['order:unknown'] ?? 0} unknown orders)`,
      pass: violations.length === 0,
      command: replayCommand(FILE, PAUSE),
    });
    assertConsistent(violations, replayCommand(FILE, PAUSE));
  }, 600_000);
});
