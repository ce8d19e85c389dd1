/**
 * Snapshot schema violations and replays of old snapshots from an authenticated fridge against the
 * gateway process (docs/reliability.md "Results"): fast-check payloads on `fridges/f1/inventory`
 * that break the contract (README "Contracts": wrong types, negative or huge quantities, unknown
 * keys, missing keys, bad timestamps, bad meal ids, not JSON), and, after each newer snapshot,
 * replays of older ones (a lower `seq` with an earlier time, a lower `boot` with a later time).
 *
 * Criteria: central's totals are those of the newest valid snapshot; each violation counted in
 * `fridgesync_gateway_dropped_total` (`schema` or `json`), each replay as a stale snapshot in
 * `fridgesync_gateway_ingested_total`; the other fridge unchanged; the gateway ready.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';
import { MEALS } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { centralTotals, metricSum, readyVenue } from './probe.ts';

const { defer } = useTeardown();

const FILE = 'test/reliability/snapshot-input.test.ts';

const valid = () => ({ boot: 1, seq: 1, ts: '2026-01-01T00:00:00Z', items: { [MEALS[0]]: 1 } as Record<string, unknown> }) as Record<string, unknown>;

/** A payload that breaks the inventory contract in one or more ways. */
const violation: fc.Arbitrary<string> = fc.oneof(
  fc.record({ key: fc.constantFrom('boot', 'seq'), v: fc.oneof(fc.constant(-1), fc.constant(1.5), fc.string(), fc.boolean(), fc.constant(null), fc.constant(2 ** 60)) }).map(({ key, v }) => JSON.stringify({ ...valid(), [key]: v })),
  fc.oneof(fc.constant('yesterday'), fc.constant('2026-13-01T00:00:00Z'), fc.constant('2026-01-01T00:00:00'), fc.constant('2026-01-01T25:00:00Z'), fc.constant(`2026-01-01T00:00:00.${'1'.repeat(40)}Z`), fc.integer()).map((ts) => JSON.stringify({ ...valid(), ts })),
  fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 10_001 }), fc.double({ min: 0.1, max: 9.9, noNaN: true }).filter((d) => !Number.isInteger(d)), fc.string(), fc.constant(null)).map((q) => JSON.stringify({ ...valid(), items: { [MEALS[0]]: q } })),
  fc.oneof(fc.constant('__proto__'), fc.constant(''), fc.constant('a/b'), fc.constant('x'.repeat(65)), fc.constant('meal a')).map((m) => `{"boot":1,"seq":1,"ts":"2026-01-01T00:00:00Z","items":{${JSON.stringify(m)}:1}}`),
  fc.constant(JSON.stringify({ ...valid(), items: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`m${i}`, 1])) })),
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['boot', 'seq', 'ts', 'items'].includes(k)).map((k) => JSON.stringify({ ...valid(), [k]: 1 })),
  fc.constantFrom('boot', 'seq', 'ts', 'items').map((k) => JSON.stringify(Object.fromEntries(Object.entries(valid()).filter(([key]) => key !== k)))),
  fc.oneof(fc.constant('null'), fc.constant('[]'), fc.constant('42'), fc.constant('"x"'), fc.constant('{'), fc.constant(''), fc.constant('{"boot":1e400}')),
);

describe('snapshot input', () => {
  const NAME = 'snapshot schema violations and replays of old snapshots change nothing and are counted';
  it(NAME, async () => {
    const { rig, fridges } = await readyVenue(defer, SEED, 2);
    const f1 = fridges[0]!;
    const metrics = `${rig.kioskUrl}/metrics`;
    const dropped = async () => (await metricSum(metrics, 'fridgesync_gateway_dropped_total', { reason: 'schema' })) + (await metricSum(metrics, 'fridgesync_gateway_dropped_total', { reason: 'json' }));
    const stale = () => metricSum(metrics, 'fridgesync_gateway_ingested_total', { kind: 'inventory', outcome: 'stale' });
    const droppedBefore = await dropped();
    const staleBefore = await stale();
    const before = await centralTotals(rig);
    const rounds = count(3, 200);
    const perRound = count(15, 50);
    let violations = 0;
    let replays = 0;
    let unacked = 0;
    let newest: Record<string, number> = {};
    const samples = fc.sample(violation, { seed: SEED, numRuns: rounds * perRound });
    for (let round = 0; round < rounds; round++) {
      // A newer snapshot, then violations and replays of older ones.
      newest = { [MEALS[0]]: 20 + round, [MEALS[1]]: round };
      const seq = ++f1.seq;
      const ts = Date.now();
      if (!(await f1.report(seq, new Date(ts).toISOString(), newest))) unacked++;
      for (const payload of samples.slice(round * perRound, (round + 1) * perRound)) {
        violations++;
        // Dropped messages are acknowledged (ingest.ts: no negative PUBACK in MQTT 3.1.1).
        if (!(await f1.client.publishAsync('fridges/f1/inventory', payload, { qos: 1 }).then(() => true, () => false))) unacked++;
      }
      const replay = [
        { boot: 1, seq: seq - 1, ts: new Date(ts - 1_000).toISOString() },
        // The same tag with an equal or earlier time and other totals: the tag is the report's identity.
        { boot: 1, seq, ts: new Date(ts).toISOString() },
        { boot: 1, seq, ts: new Date(ts - 1).toISOString() },
        { boot: 0, seq: seq + 10, ts: new Date(ts + 1_000).toISOString() },
      ];
      for (const r of replay) {
        replays++;
        const payload = JSON.stringify({ ...r, items: { [MEALS[0]]: 999, [MEALS[1]]: 999 } });
        if (!(await f1.client.publishAsync('fridges/f1/inventory', payload, { qos: 1 }).then(() => true, () => false))) unacked++;
      }
    }
    await waitFor(async () => (await stale()) - staleBefore >= replays, 30_000, 'every replay judged').catch(() => undefined);
    await rig.quiesced();
    const after = await centralTotals(rig);
    const countedDrops = (await dropped()) - droppedBefore;
    const countedStale = (await stale()) - staleBefore;
    const ready = (await fetch(`${rig.kioskUrl}/readyz`)).ok;
    const f1Newest = after.f1?.[MEALS[0]] === newest[MEALS[0]] && after.f1?.[MEALS[1]] === newest[MEALS[1]];
    const f2Same = JSON.stringify(after.f2) === JSON.stringify(before.f2);
    const pass = ready && f1Newest && f2Same && countedDrops === violations && countedStale === replays && unacked === 0;
    record({
      scenario: `snapshot schema violations (fast-check, ${violations}) and replays of older snapshots (${replays}) from an authenticated fridge`,
      criterion: 'state equals the newest valid snapshot, each violation and replay counted, the other fridge unchanged',
      measured: `f1 ${f1Newest ? 'the newest valid snapshot' : `WRONG ${JSON.stringify(after.f1)}`}; f2 ${f2Same ? 'unchanged' : 'CHANGED'}; ${countedDrops} of ${violations} violations counted (dropped schema/json), ${countedStale} of ${replays} replays counted stale; ${unacked} publishes unacknowledged; gateway ready: ${ready}`,
      pass,
      command: replayCommand(FILE, NAME),
    });
    expect(f1Newest).toBe(true);
    expect(f2Same).toBe(true);
    expect(countedDrops).toBe(violations);
    expect(countedStale).toBe(replays);
    expect(unacked).toBe(0);
    expect(ready).toBe(true);
  }, 900_000);
});
