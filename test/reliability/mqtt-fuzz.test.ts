/**
 * Malformed MQTT packets by mutation against the gateway process's embedded broker
 * (docs/reliability.md "Results"): valid MQTT 3.1.1 sessions of fridge `f2` — CONNECT with its
 * secret, then PUBLISH (a stale snapshot), SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT — are
 * mutated by fast-check (bit flips, truncation, a lying remaining length, random bytes in place of
 * a packet or of the whole session) and sent on raw TCP sockets, each from its own loopback
 * address, 50 at a time, while the real fridge `f1` keeps publishing through mqtt.js.
 *
 * Criteria: the gateway never exits and stays ready; central's totals of `f1` never change and
 * those of `f2` are its first ones or those of a mutated session that still was a valid
 * authenticated publish (the oracle re-reads each byte string with mqtt-packet, the parser aedes
 * uses); every refusal is counted (`fridgesync_gateway_mqtt_refused_total`,
 * `fridgesync_gateway_dropped_total`, stale snapshots in `fridgesync_gateway_ingested_total`);
 * every snapshot of the real fridge is acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { useTeardown } from '@fridgesync/shared/test-harness';
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { InventoryPayloadSchema } from '@fridgesync/shared';
import { rawSocket } from '../../gateway-agent/test/helpers/raw-mqtt.ts';
import { FRIDGE_SECRET, MEALS } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { centralTotals, firstTotals, metricSum, readyVenue } from './probe.ts';
import { remainingLength } from '../../gateway-agent/test/helpers/raw-mqtt.ts';

const { defer } = useTeardown();

const FILE = 'test/reliability/mqtt-fuzz.test.ts';
/** Sessions sent at once (one fast-check case). */
const BATCH = 50;

/** The fuzzer's fridge: its CONNECT carries the real secret, so mutants may stay authenticated. */
const FUZZ_FRIDGE = 'f2';
/** The stale snapshot the fuzzer's PUBLISH carries (boot 1, seq 0, a 2020 time: older than f2's first report). */
const STALE = JSON.stringify({ boot: 1, seq: 0, ts: '2020-01-01T00:00:00Z', items: { [MEALS[0]]: 77, [MEALS[1]]: 7 } });

type Kind = 'publish' | 'subscribe' | 'unsubscribe' | 'pingreq' | 'disconnect';

function packet(kind: Kind | 'connect', messageId: number, will: boolean): Buffer {
  const p: Record<Kind | 'connect', Packet> = {
    connect: {
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: FUZZ_FRIDGE, username: FUZZ_FRIDGE, password: Buffer.from(FRIDGE_SECRET),
      ...(will ? { will: { topic: `fridges/${FUZZ_FRIDGE}/status`, payload: Buffer.from(JSON.stringify({ online: false, ts: '2020-01-01T00:00:00Z' })), qos: 1, retain: true } } : {}),
    },
    publish: { cmd: 'publish', topic: `fridges/${FUZZ_FRIDGE}/inventory`, payload: Buffer.from(STALE), qos: 1, messageId, retain: false, dup: false },
    subscribe: { cmd: 'subscribe', messageId, subscriptions: [{ topic: `fridges/${FUZZ_FRIDGE}/commands`, qos: 1 }] },
    unsubscribe: { cmd: 'unsubscribe', messageId, unsubscriptions: [`fridges/${FUZZ_FRIDGE}/commands`] },
    pingreq: { cmd: 'pingreq' },
    disconnect: { cmd: 'disconnect' },
  };
  return mqttPacket.generate(p[kind]);
}

/** Remaining-length varint (MQTT 3.1.1 §2.2.3); `malformed` gives five continuation bytes. */
function varint(n: number, malformed: boolean): Buffer {
  return malformed ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]) : remainingLength(n);
}

/** Where a packet's remaining length ends (its header's size). */
function headerSize(p: Buffer): number {
  let i = 1;
  while (i < p.length && i < 5 && (p[i]! & 0x80) !== 0) i++;
  return i + 1;
}

type Mutation =
  | { kind: 'flips'; at: Array<[number, number]> }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; value: number; malformed: boolean }
  | { kind: 'replace'; bytes: Uint8Array }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flips' as const), at: fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.nat(300), fc.nat(268_435_455)), malformed: fc.boolean() }),
  fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 96 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function mutate(p: Buffer, m: Mutation): Buffer {
  const b = Buffer.from(p);
  switch (m.kind) {
    case 'flips':
      for (const [at, bit] of m.at) b[at % b.length]! ^= 1 << bit;
      return b;
    case 'truncate':
      return b.subarray(0, m.at % b.length);
    case 'length':
      return Buffer.concat([b.subarray(0, 1), varint(m.value, m.malformed), b.subarray(headerSize(b))]);
    case 'replace':
      return Buffer.from(m.bytes);
    case 'overwrite':
      for (let i = 0; i < m.bytes.length; i++) b[(m.at + i) % b.length] = m.bytes[i]!;
      return b;
  }
}

/** One session: the packets, which one is mutated (or `whole`: random bytes for all of it). */
const session = fc.oneof(
  { weight: 9, arbitrary: fc.record({ will: fc.boolean(), rest: fc.array(fc.constantFrom<Kind>('publish', 'subscribe', 'unsubscribe', 'pingreq', 'disconnect'), { maxLength: 3 }), target: fc.nat(), messageId: fc.integer({ min: 1, max: 65_535 }), mutation }).map((s) => {
    const packets = [packet('connect', 0, s.will), ...s.rest.map((k) => packet(k, s.messageId, false))];
    const t = s.target % packets.length;
    packets[t] = mutate(packets[t]!, s.mutation);
    return Buffer.concat(packets);
  }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((u) => Buffer.from(u)) },
);

/**
 * What a byte string could do as the embedded broker reads it: the fridge it authenticates as (a
 * first packet CONNECT with that fridge's id as client id and username and the secret), and the
 * snapshots it publishes for that fridge that are valid (until the first parse error, as aedes
 * stops there).
 */
function oracle(bytes: Buffer): { fridge: string | undefined; snapshots: Array<Record<string, number>> } {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  parser.on('packet', (p: Packet) => packets.push(p));
  parser.on('error', () => undefined);
  parser.parse(bytes);
  const first = packets[0];
  if (first?.cmd !== 'connect' || first.clientId !== first.username || first.password?.toString('utf8') !== FRIDGE_SECRET) return { fridge: undefined, snapshots: [] };
  const fridge = first.clientId;
  const snapshots: Array<Record<string, number>> = [];
  for (const p of packets.slice(1)) {
    if (p.cmd !== 'publish' || p.topic !== `fridges/${fridge}/inventory`) continue;
    try {
      const s = InventoryPayloadSchema.safeParse(JSON.parse(p.payload.toString()));
      if (s.success) snapshots.push(s.data.items);
    } catch {
      // not JSON: dropped by the gateway
    }
  }
  return { fridge, snapshots };
}

/**
 * The meals a fridge holds, in a canonical form: a meal absent from a snapshot counts 0 (README
 * "Contracts"), so a cell at 0 — a meal a mutant named once, e.g. `meil-a` — equals no cell.
 */
function held(totals: Record<string, number>): string {
  return JSON.stringify(Object.entries(totals).filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The `n`-th source address of the fuzzer (127.10.0.1 on; the real fridge connects from 127.0.0.1). */
function address(n: number): string {
  const a = n + 1;
  return `127.${10 + (a >>> 16)}.${(a >>> 8) & 255}.${a & 255}`;
}

/** PINGREQ: its PINGRESP tells that the broker dealt with everything before it. */
const PINGREQ = Buffer.from([0xc0, 0x00]);
/** How long a session that got no PINGRESP (truncated, refused, or swallowed the PINGREQ) is left open before the fuzzer half-closes it, ms. */
const IDLE_MS = 200;

/**
 * Sends `bytes` and a PINGREQ from `from`; half-closes once the PINGRESP came (everything before it
 * was dealt with, its PUBACKs durable) or after {@link IDLE_MS}, then waits for the broker to close.
 * Resolves with whether the broker answered CONNACK 0.
 */
async function send(port: number, from: string, bytes: Buffer): Promise<boolean> {
  let s: Awaited<ReturnType<typeof rawSocket>>;
  try {
    s = await rawSocket(port, from);
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    let accepted = false;
    const answers = mqttPacket.parser({ protocolVersion: 4 });
    answers.on('error', () => undefined);
    answers.on('packet', (p: Packet) => {
      if (p.cmd === 'connack' && p.returnCode === 0) accepted = true;
      if (p.cmd === 'pingresp') s.end();
    });
    const idle = setTimeout(() => s.end(), IDLE_MS);
    const hard = setTimeout(() => s.destroy(), 10_000);
    s.on('data', (b: Buffer) => answers.parse(b));
    s.on('error', () => s.destroy());
    s.once('close', () => {
      clearTimeout(idle);
      clearTimeout(hard);
      resolve(accepted);
    });
    s.write(Buffer.concat([bytes, PINGREQ]));
  });
}

describe('malformed MQTT packets', () => {
  const NAME = 'mutated MQTT sessions on raw sockets change nothing and are counted';
  it(NAME, async () => {
    const { rig, fridges } = await readyVenue(defer, SEED, 2);
    const real = fridges[0]!;
    const metrics = `${rig.kioskUrl}/metrics`;
    const counted = async () =>
      (await metricSum(metrics, 'fridgesync_gateway_mqtt_refused_total')) +
      (await metricSum(metrics, 'fridgesync_gateway_dropped_total')) +
      (await metricSum(metrics, 'fridgesync_gateway_ingested_total', { kind: 'inventory', outcome: 'stale' }));
    const countedBefore = await counted();
    const malformed = () => metricSum(metrics, 'fridgesync_gateway_mqtt_refused_total', { reason: 'malformed' });
    const malformedBefore = await malformed();
    const before = await centralTotals(rig);
    const allowed = [held(before[FUZZ_FRIDGE]!)];
    const sessions = count(300, 100_000);
    let sent = 0;
    let accepted = 0;
    let validPublishes = 0;
    let realAcked = 0;
    let realSent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(session, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        for (const bytes of batch) {
          const o = oracle(bytes);
          // The real fridge's id with the secret is the real fridge (a takeover by its owner): not hostile input.
          fc.pre(o.fridge === undefined || o.fridge === FUZZ_FRIDGE);
          validPublishes += o.snapshots.length;
          for (const s of o.snapshots) allowed.push(held(s));
        }
        const answers = await Promise.all(batch.map((bytes) => send(rig.ports.mqtt, address(sent++), bytes)));
        accepted += answers.filter(Boolean).length;
        // The real fridge keeps reporting the same totals; each report must be acknowledged.
        realSent++;
        if (await real.snapshot(firstTotals('f1'))) realAcked++;
        return rig.gateway!.child.exitCode === null && rig.gateway!.child.signalCode === null;
      }),
      { seed: SEED, numRuns: Math.ceil(sessions / BATCH), endOnFailure: true },
    );
    const ready = (await fetch(`${rig.kioskUrl}/readyz`)).ok;
    await rig.quiesced();
    const after = await centralTotals(rig);
    const rejections = (await counted()) - countedBefore;
    const malformedCounted = (await malformed()) - malformedBefore;
    const f1Same = JSON.stringify(after.f1) === JSON.stringify(before.f1);
    const f2Allowed = allowed.includes(held(after[FUZZ_FRIDGE]!));
    const pass = ready && f1Same && f2Allowed && realAcked === realSent && rejections > 0;
    record({
      scenario: `malformed MQTT sessions by mutation on raw sockets (fast-check, ${sent} sessions)`,
      criterion: "0 crashes, 0 state changes but valid authenticated publishes, refusals counted, the real fridge's publishes acknowledged",
      measured: `gateway ready: ${ready}; f1 ${f1Same ? 'unchanged' : `CHANGED ${JSON.stringify(after.f1)}`}; f2 ${f2Allowed ? (held(after[FUZZ_FRIDGE]!) === allowed[0] ? 'unchanged' : `${held(after[FUZZ_FRIDGE]!)} (a valid mutant's)`) : `CHANGED ${JSON.stringify(after[FUZZ_FRIDGE])}`}; ${accepted} sessions got CONNACK 0, ${validPublishes} valid snapshots in them (all stale or allowed); ${rejections} refusals/drops counted (${malformedCounted} as \`malformed\`); real fridge ${realAcked}/${realSent} acknowledged`,
      pass,
      command: replayCommand(FILE, NAME),
    });
    expect(ready).toBe(true);
    expect(after.f1).toEqual(before.f1);
    expect(f2Allowed).toBe(true);
    expect(realAcked).toBe(realSent);
    expect(rejections).toBeGreaterThan(0);
  }, 1_800_000);
});
