/**
 * Hostile input against the real processes (docs/reliability.md "Hostile input"): malformed and
 * mutated Yjs sync messages on central's sync socket (fast-check), wrong MQTT secrets for a real
 * fridge's id from another address, and malformed bodies and ids on every HTTP route of central and
 * the kiosk. Criteria: 0 crashes, 0 state changes from refused input, every rejection counted in a
 * metric, the real fridge never locked out.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { decodeMessage, encodeSyncStep1, encodeSyncStep2, encodeUpdate } from '@fridgesync/shared';
import { wrongConnect } from '../../gateway-agent/test/helpers/raw-mqtt.ts';
import { MEALS, Rig, TOKENS, VENUE } from './rig.ts';
import { SEED, count, record, replayCommand } from './settings.ts';
import { waitFor, useTeardown } from '@fridgesync/shared/test-harness';
import { hostileRequests, routesOf } from './hostile-http.ts';
import { metricSum as counter } from './probe.ts';

const { defer } = useTeardown();

const FILE = 'test/reliability/hostile.test.ts';

async function venue() {
  const rig = new Rig(defer, SEED);
  await rig.start();
  const fridge = await rig.fridge('f1');
  await fridge.snapshot({ [MEALS[0]]: 12, [MEALS[1]]: 7 });
  await waitFor(async () => (await rig.centralRead()).cells.f1?.[MEALS[0]]?.S === 12, 30_000, 'central holds rights');
  await rig.order('central', 'o-before', 'f1', { [MEALS[0]]: 1 });
  await rig.quiesced();
  return { rig, fridge };
}

/** A viewer's sync socket to central, with central's full state once it answered step 1. */
async function viewerSocket(rig: Rig): Promise<{ ws: WebSocket; state: Uint8Array; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${rig.ports.central}/sync/${VENUE}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
  ws.binaryType = 'nodebuffer';
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  const state = await new Promise<Uint8Array>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const m = decodeMessage(new Uint8Array(data));
      if (m.type === 'sync-step2') resolve(m.update);
    });
    ws.once('open', () => ws.send(encodeSyncStep1(new Uint8Array([0]))));
    ws.once('error', reject);
  });
  return { ws, state, closed };
}

describe('hostile input', () => {
  const YJS = 'malformed and mutated Yjs sync messages change nothing and are counted';
  it(YJS, async () => {
    const { rig } = await venue();
    const before = await rig.centralRead();
    const metric = () => counter(`${rig.centralUrl}/metrics`, 'fridgesync_sync_rejected_updates_total');
    const rejectedBefore = await metric();
    let sock = await viewerSocket(rig);
    const real = sock.state;
    let closes = 0;
    const cases = count(300, 10_000);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }),
          // The real document state, bit-flipped, truncated or spliced, as update or sync-step2.
          fc.tuple(fc.nat(), fc.nat(255), fc.nat(), fc.boolean()).map(([at, flip, cut, step2]) => {
            const b = Uint8Array.from(real);
            b[at % b.length]! ^= flip || 1;
            const mutated = b.subarray(0, Math.max(1, b.length - (cut % 8)));
            return step2 ? encodeSyncStep2(mutated) : encodeUpdate(mutated);
          }),
          fc.uint8Array({ maxLength: 64 }).map((u) => encodeUpdate(u)),
        ),
        async (bytes) => {
          if (sock.ws.readyState !== WebSocket.OPEN) {
            closes++;
            sock = await viewerSocket(rig);
          }
          sock.ws.send(bytes);
          // One round trip: the next message goes after central dealt with this one.
          await new Promise<void>((r) => sock.ws.ping(undefined, undefined, () => setTimeout(r, 1)));
        },
      ),
      { seed: SEED, numRuns: cases },
    );
    sock.ws.close();
    await waitFor(async () => (await metric()) > rejectedBefore, 10_000, 'central counted the rejections');
    const rejected = (await metric()) - rejectedBefore;
    const after = await rig.centralRead();
    const ready = (await fetch(`${rig.centralUrl}/readyz`)).ok;
    record({
      scenario: `malformed Yjs bytes on the sync socket (fast-check, ${cases} cases)`,
      criterion: '0 crashes, 0 state changes, rejections counted',
      measured: `central ready: ${ready}; state ${JSON.stringify(after) === JSON.stringify(before) ? 'unchanged' : 'CHANGED'}; ${rejected} rejections counted, ${closes} sockets closed by central`,
      pass: ready && JSON.stringify(after) === JSON.stringify(before) && rejected > 0,
      command: replayCommand(FILE, YJS),
    });
    expect(ready).toBe(true);
    expect(after).toEqual(before);
    expect(rig.central!.child.exitCode).toBeNull();
  }, 600_000);

  const SECRETS = 'wrong MQTT secrets for a fridge id never lock out the real fridge';
  it(SECRETS, async () => {
    const { rig, fridge } = await venue();
    /** p99 PUBACK latency of the real fridge over `rounds` of reconnect-then-20-publishes, ms. */
    const reconnectAndPublish = async (rounds: number) => {
      const out: number[] = [];
      for (let round = 0; round < rounds; round++) {
        await fridge.client.endAsync(true);
        fridge.client = (await rig.fridge('f1')).client;
        reconnects++;
        for (let i = 0; i < 20; i++) {
          const t = performance.now();
          await fridge.snapshot({ [MEALS[0]]: 12, [MEALS[1]]: 7 });
          out.push(performance.now() - t);
        }
      }
      return out.sort((a, b) => a - b)[Math.floor(out.length * 0.99)]!;
    };
    let reconnects = 0;
    const baseline = await reconnectAndPublish(5);
    reconnects = 0;
    const refusedBefore = await counter(`${rig.kioskUrl}/metrics`, 'fridgesync_gateway_mqtt_refused_total');
    const least = count(300, 1_000);
    const codes = new Map<string, number>();
    let attempts = 0;
    let fridgeDone = false;
    // At least `least` attempts, and on until the real fridge is done.
    const attack = (async () => {
      while (attempts < least || !fridgeDone) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => wrongConnect(rig.ports.mqtt, 'f1', '127.0.0.2')));
        attempts += batch.length;
        for (const c of batch) codes.set(String(c), (codes.get(String(c)) ?? 0) + 1);
      }
    })();
    // Meanwhile the real fridge reconnects and publishes, from its own address.
    const p99 = await reconnectAndPublish(5);
    fridgeDone = true;
    await attack;
    const refused = (await counter(`${rig.kioskUrl}/metrics`, 'fridgesync_gateway_mqtt_refused_total')) - refusedBefore;
    const accepted = codes.get('0') ?? 0;
    record({
      scenario: `wrong MQTT secrets, ${attempts} attempts (at least ${least}) on a real fridge's id`,
      criterion: 'none accepted, every one counted, the real fridge reconnects; its PUBACK p99 < 2× baseline',
      measured: `${accepted} accepted, ${refused} refusals counted, answers ${JSON.stringify(Object.fromEntries(codes))}; real fridge ${reconnects}/5 reconnects; PUBACK p99 ${p99.toFixed(1)} ms vs baseline ${baseline.toFixed(1)} ms`,
      pass: accepted === 0 && refused >= attempts && reconnects === 5 && p99 < 2 * baseline,
      command: replayCommand(FILE, SECRETS),
    });
    expect(accepted).toBe(0);
    expect(refused).toBeGreaterThanOrEqual(attempts);
    expect(reconnects).toBe(5);
    // The 2× bound is recorded in the row above, not asserted: on a shared 2-core machine the
    // baseline's p99 alone ranged from 10 to 107 ms between runs (docs/reliability.md). Asserted is
    // that the real fridge stays served: every PUBACK within a second.
    expect(p99).toBeLessThan(1_000);
  }, 600_000);

  const HTTP = 'malformed bodies and ids on every HTTP route: no crash, no 5xx, no state change';
  it(HTTP, async () => {
    const { rig } = await venue();
    // The catalog's `at` is the time of the answer, not state.
    const catalog = async () => ({ ...((await (await fetch(`${rig.centralUrl}/v1/catalog`, { headers: { authorization: `Bearer ${TOKENS.app}` } })).json()) as object), at: undefined });
    const snapshot = async () => JSON.stringify([await rig.centralRead(), await rig.kioskOrders(), await catalog()]);
    const before = await snapshot();
    const statuses = new Map<string, number>();
    const bad: string[] = [];
    let sent = 0;
    for (const [base, auth] of [
      [rig.centralUrl, { authorization: `Bearer ${TOKENS.admin}` }],
      [rig.kioskUrl, {}],
    ] as const) {
      for (const route of await routesOf(base, auth)) {
        for (const req of hostileRequests(route, base)) {
          sent++;
          let status: number | string;
          try {
            const r = await fetch(req.url, { method: req.method, headers: { ...auth, ...req.headers }, body: req.body, signal: AbortSignal.timeout(5_000) });
            await r.arrayBuffer();
            status = r.status;
          } catch (e) {
            status = (e as Error).name;
          }
          const cls = typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
          statuses.set(cls, (statuses.get(cls) ?? 0) + 1);
          if (typeof status !== 'number' || status >= 500 || (status < 300 && req.method !== 'GET')) bad.push(`${req.method} ${req.url.slice(0, 120)} ${req.what}: ${status}`);
        }
      }
    }
    const alive = (await fetch(`${rig.centralUrl}/readyz`)).ok && (await fetch(`${rig.kioskUrl}/readyz`)).ok;
    const afterState = await snapshot();
    const unchanged = afterState === before;
    if (!unchanged) console.log(`before ${before}\nafter  ${afterState}`);
    record({
      scenario: `hostile HTTP bodies and ids on every route of central and the kiosk (${sent} requests)`,
      criterion: '0 crashes, 0 5xx, 0 state changes',
      measured: `answers ${JSON.stringify(Object.fromEntries(statuses))}; ${bad.length} bad; both ready: ${alive}; state ${unchanged ? 'unchanged' : 'CHANGED'}`,
      pass: bad.length === 0 && alive && unchanged,
      command: replayCommand(FILE, HTTP),
    });
    expect(bad).toEqual([]);
    expect(alive).toBe(true);
    expect(unchanged).toBe(true);
  }, 600_000);
});
