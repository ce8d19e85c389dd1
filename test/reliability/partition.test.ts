/**
 * The venue's uplink under faults, on real processes (docs/reliability.md "Partitions"): a cut with
 * customers ordering on both sides, a link flapping on a seeded schedule, and a half-open
 * connection. After healing, central and the gateway must agree (every order's state, conflicts
 * and variants; the fridge's totals) within the criterion, and the history must check: nothing
 * acknowledged lost, no oversell, contents conflicts reported, equal folds (checker.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '@fridgesync/simulators';
import { assertConsistent, check } from './checker.ts';
import { runLoad } from './load.ts';
import { MEALS, Rig } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const FILE = 'test/reliability/partition.test.ts';

/** A venue with stock, central holding rights, the gateway quiet. */
async function stockedVenue(seedLabel: string, ping: { pingIntervalMs?: number } = {}) {
  const rig = new Rig(defer, SEED);
  await rig.start({ central: ping, gateway: ping });
  const fridge = await rig.fridge('f1');
  const stock: Record<string, number> = { [MEALS[0]]: 30, [MEALS[1]]: 30 };
  await fridge.snapshot({ ...stock });
  await waitFor(async () => (await rig.centralRead()).cells.f1?.[MEALS[0]]?.S === 30, 30_000, 'central holds rights');
  return { rig, fridge, stock, prng: new Prng(`${seedLabel}:${SEED}`) };
}

/**
 * True once the gateway is synced with nothing pending, central has the fridge's newest totals,
 * and central and the kiosk read alike the newest confirmed order of each side and every order
 * taken on both sides. Updates travel in order, so the newest order of a side being across means
 * the side's earlier ones are too; the final check compares every order (reading them all on each
 * poll would make the poll, not the convergence, what is measured).
 */
async function agree(rig: Rig, stock: Record<string, number>): Promise<boolean> {
  const s = await rig.gatewayStatus();
  if (s?.sync.state !== 'synced' || s.pendingUpdates !== 0) return false;
  const confirmed = rig.history.orders().filter((o) => o.outcome === 'ok');
  const probes = new Set([...['central', 'kiosk'].map((side) => confirmed.findLast((o) => o.taker.startsWith(side))?.orderId), ...confirmed.filter((o) => o.orderId.includes('-both-')).map((o) => o.orderId)].filter((id) => id !== undefined));
  const [central, kiosk] = [await rig.centralRead(probes), await rig.kioskOrders(probes)];
  if (!MEALS.every((m) => central.cells.f1?.[m]?.T === stock[m])) return false;
  return JSON.stringify(Object.entries(central.orders).sort()) === JSON.stringify(Object.entries(kiosk).sort());
}

/** Stops the gateway gracefully and checks the whole history against central and the gateway's store. */
async function finalCheck(rig: Rig, name: string): Promise<void> {
  await rig.quiesced();
  await rig.kill(rig.gateway, 'SIGTERM');
  assertConsistent(check(rig.history, [await rig.centralRead(), await rig.gatewayStoreRead()]), replayCommand(FILE, name));
}

/** Resident memory of a process, bytes (Linux /proc). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

describe('partitions', () => {
  const PARTITION = 'a cut with load on both sides converges within 5 s of the heal';
  it(PARTITION, async () => {
    const { rig, fridge, stock, prng } = await stockedVenue('partition');
    const cutMs = count(4_000, 60_000);
    rig.proxy.cut();
    const load = await runLoad(rig, fridge, stock, prng, { ms: cutMs, tag: 'p', conflictingIds: 2 });
    rig.proxy.heal();
    const healed = Date.now();
    await waitFor(() => agree(rig, stock), 30_000, 'central and the gateway agree');
    const convergedMs = Date.now() - healed;
    const summary = rig.history.summary();
    record({
      scenario: `partition gateway↔central ${cutMs / 1000} s, load both sides`,
      criterion: 'equal folds ≤ 5 s after heal',
      measured: `${convergedMs} ms (${load.centralOrders} central + ${load.kioskOrders} kiosk orders, ${summary['order:ok'] ?? 0} confirmed, ${load.snapshots} snapshots)`,
      pass: convergedMs <= 5_000,
      command: replayCommand(FILE, PARTITION),
    });
    await finalCheck(rig, PARTITION);
    expect(convergedMs).toBeLessThanOrEqual(5_000);
  }, 300_000);

  const FLAP = 'a flapping link converges within 10 s of the last heal, central memory growth < 20 MB';
  it(FLAP, async () => {
    const { rig, fridge, stock, prng } = await stockedVenue('flap');
    const cycles = count(8, 100);
    // Warm-up under the same load, so the baseline is central's steady state, not its start.
    await runLoad(rig, fridge, stock, prng.fork('warm-up'), { ms: 3_000, tag: 'warm', conflictingIds: 0, orderEveryMs: 300 });
    await waitFor(() => agree(rig, stock), 30_000, 'central and the gateway agree');
    const before = rss(rig.central!.child.pid!);
    const flapping = rig.proxy.flap({ cycles, downMs: [100, 1_200], upMs: [100, 1_200], how: 'mixed' });
    let lastHeal = 0;
    let loaded = 0;
    // Load in slices until the schedule ends.
    let done = false;
    void flapping.then((t) => ((lastHeal = t), (done = true)));
    for (let slice = 0; !done; slice++) loaded += Object.values(await runLoad(rig, fridge, stock, prng.fork(`s${slice}`), { ms: 1_000, tag: `f${slice}`, conflictingIds: 0, orderEveryMs: 300 })).reduce((a, b) => a + b, 0);
    await flapping;
    await waitFor(() => agree(rig, stock), 60_000, 'central and the gateway agree');
    const convergedMs = Date.now() - lastHeal;
    const growth = rss(rig.central!.child.pid!) - before;
    record({
      scenario: `flapping link, ${cycles} cycles of 0.1–1.2 s`,
      criterion: 'converged ≤ 10 s after last heal; central memory growth < 20 MB',
      measured: `${convergedMs} ms; RSS ${(growth / 2 ** 20).toFixed(1)} MB (${loaded} operations, ${rig.proxy.accepted} connections)`,
      pass: convergedMs <= 10_000 && growth < 20 * 2 ** 20,
      command: replayCommand(FILE, FLAP),
    });
    await finalCheck(rig, FLAP);
    expect(convergedMs).toBeLessThanOrEqual(10_000);
    expect(growth).toBeLessThan(20 * 2 ** 20);
  }, 600_000);

  const HALF_OPEN = 'a half-open uplink is detected and reconnected within 2 ping intervals + 5 s';
  it(HALF_OPEN, async () => {
    const pingIntervalMs = 1_000;
    const { rig, fridge, stock } = await stockedVenue('half-open', { pingIntervalMs });
    await rig.quiesced();
    const accepted = rig.proxy.accepted;
    rig.proxy.halfOpen();
    const t0 = Date.now();
    // A sale at the fridge right after: it must reach central over a new connection.
    stock[MEALS[0]] = stock[MEALS[0]]! + 5;
    await fridge.snapshot({ ...stock });
    const bound = 2 * pingIntervalMs + 5_000;
    const reached = await waitFor(async () => (await rig.centralRead()).cells.f1?.[MEALS[0]]?.T === stock[MEALS[0]], bound + 20_000, 'central reads the snapshot sent after the link went half-open').then(
      () => true,
      () => false,
    );
    const ms = Date.now() - t0;
    record({
      scenario: 'half-open uplink (silent in both directions)',
      criterion: `detected and reconnected ≤ 2 ping intervals + 5 s (${bound} ms; central's sync.pingIntervalMs and the gateway's central.pingIntervalMs ${pingIntervalMs})`,
      measured: reached ? `${ms} ms (${rig.proxy.accepted - accepted} new connection(s))` : `not within ${ms} ms`,
      pass: reached && ms <= bound,
      command: replayCommand(FILE, HALF_OPEN),
    });
    expect(reached && ms <= bound, `replay: ${replayCommand(FILE, HALF_OPEN)}`).toBe(true);
  }, 120_000);
});
