/**
 * MQTT ACL probes from an authenticated fridge against the gateway process's embedded broker
 * (docs/reliability.md "Results"). Fridge `f1` holds its own secret and, round after round, each
 * round from a new loopback address, tries: publishing into `f2`'s subtree, `$SYS` and a topic
 * outside `fridges/`; subscribing to `f2`'s topics, `fridges/+/…`, `#` and `$SYS/#`; a will on
 * `f2`'s status topic; taking over `f2`'s client id (with its own secret, and with its own
 * username); a retained message on its own status topic; a publish on a topic of its own subtree
 * outside the contract. Meanwhile fridge `f2` stays connected and reports.
 *
 * Criteria: every probe refused (connection closed without PUBACK, SUBACK failure, CONNACK
 * refused) or, for the last two, acknowledged without effect (no retained message kept, the
 * message dropped); every refusal counted in `fridgesync_gateway_mqtt_refused_total` or
 * `fridgesync_gateway_dropped_total`; central's totals unchanged; `f2` never disconnected, every
 * one of its reports acknowledged, nothing of `f1`'s delivered to it, and it reconnects afterwards.
 */
import { describe, expect, it } from 'vitest';
import { useTeardown } from '@fridgesync/shared/test-harness';
import type { MqttClient } from 'mqtt';
import { fridgeFrom } from '../../gateway-agent/test/helpers/raw-mqtt.ts';
import { MEALS } from './rig.ts';
import { count, record, replayCommand, SEED } from './settings.ts';
import { centralTotals, firstTotals, metricSum, readyVenue } from './probe.ts';

const { defer } = useTeardown();

const FILE = 'test/reliability/mqtt-acl.test.ts';
/** The probing fridge's own secret (the victim `f2` keeps the rig's). */
const F1_SECRET = 'fridge-secret-of-f1-only-0001';
const NEWER = (n: number) => JSON.stringify({ boot: 99, seq: n, ts: new Date().toISOString(), items: { [MEALS[0]]: 9_999, [MEALS[1]]: 9_999 } });

/** Resolves `true` when `client` closes within `ms`. */
function closesWithin(client: MqttClient, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (client.disconnected || !client.connected) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    client.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('MQTT ACL', () => {
  const NAME = 'an authenticated fridge probing outside its subtree is refused and counted, the other fridge unaffected';
  it(NAME, async () => {
    const { rig, fridges } = await readyVenue(defer, SEED, 2, {}, { f1: F1_SECRET });
    const victim = fridges[1]!;
    await fridges[0]!.client.endAsync(true);
    let victimClosed = false;
    victim.client.once('close', () => (victimClosed = true));
    let victimGot = 0;
    await victim.client.subscribeAsync('fridges/f2/#', { qos: 1 });
    victim.client.on('message', (topic) => {
      if (topic !== 'fridges/f2/commands') victimGot++;
    });
    const metrics = `${rig.kioskUrl}/metrics`;
    const refused = (reason?: string) => metricSum(metrics, 'fridgesync_gateway_mqtt_refused_total', reason === undefined ? {} : { reason });
    const reasons = ['acl-publish', 'acl-subscribe', 'acl-will', 'credentials', 'throttled-fridge'];
    const before = Object.fromEntries(await Promise.all(reasons.map(async (r) => [r, await refused(r)] as const)));
    const droppedBefore = await metricSum(metrics, 'fridgesync_gateway_dropped_total', { reason: 'topic' });
    const totalsBefore = await centralTotals(rig);

    const rounds = count(3, 100);
    const escaped: string[] = [];
    let probes = 0;
    let expectedRefusals = 0;
    let victimAcked = 0;
    let victimSent = 0;
    for (let round = 0; round < rounds; round++) {
      const from = `127.2.${(round + 1) >>> 8}.${(round + 1) & 255}`;
      const attacker = (opts = {}) => fridgeFrom(rig.ports.mqtt, from, 'f1', F1_SECRET, opts);
      // Publishes outside its subtree: the connection is closed, nothing acknowledged.
      for (const topic of ['fridges/f2/inventory', 'fridges/f2/pickup', '$SYS/broker/clients', 'venues/venue-rel/orders']) {
        probes++;
        expectedRefusals++;
        const c = await attacker();
        // A PUBACK would settle the publish before the close (mqtt.js keeps an unacknowledged one pending).
        let acked = false;
        void c.publishAsync(topic, NEWER(round), { qos: 1 }).then(() => (acked = true), () => undefined);
        const closed = await closesWithin(c, 5_000);
        if (!closed || acked) escaped.push(`round ${round}: publish ${topic} ${closed ? 'acknowledged' : 'left open'}`);
        c.end(true);
      }
      // Subscriptions outside its subtree: SUBACK failure, the connection stays.
      const c = await attacker();
      for (const topic of ['fridges/f2/commands', 'fridges/f2/#', 'fridges/+/inventory', '#', '$SYS/#']) {
        probes++;
        expectedRefusals++;
        const granted = await c.subscribeAsync(topic, { qos: 1 }).then((g) => g[0]?.qos, () => 128);
        if (granted !== 128) escaped.push(`round ${round}: subscribe ${topic} granted QoS ${granted}`);
      }
      // A retained message on its own status topic and a publish on a topic of its own subtree
      // outside the contract: acknowledged, neither kept nor ingested.
      probes += 2;
      await c.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1, retain: true });
      await c.publishAsync('fridges/f1/junk', '{}', { qos: 1 });
      await c.endAsync(true);
      // A will on the other fridge's status topic: CONNACK "not authorized".
      probes++;
      expectedRefusals++;
      const will = await attacker({ will: { topic: 'fridges/f2/status', payload: Buffer.from(JSON.stringify({ online: false, ts: new Date().toISOString() })), qos: 1, retain: true } }).then(
        (w) => (w.end(true), 'connected'),
        (e: Error) => e.message,
      );
      if (will === 'connected') escaped.push(`round ${round}: will on fridges/f2/status accepted`);
      // Taking over f2's client id: with f2 as username and f1's secret, and with f1 as username.
      for (const username of ['f2', 'f1']) {
        probes++;
        expectedRefusals++;
        const takeover = await fridgeFrom(rig.ports.mqtt, from, 'f2', F1_SECRET, { username }).then(
          (t) => (t.end(true), 'connected'),
          (e: Error) => e.message,
        );
        if (takeover === 'connected') escaped.push(`round ${round}: client id f2 with username ${username} accepted`);
      }
      victimSent++;
      if (await victim.snapshot(firstTotals('f2'))) victimAcked++;
    }
    // The victim was never disconnected and still connects (its address never failed).
    const stillConnected = !victimClosed && victim.client.connected;
    await victim.client.endAsync(true);
    victim.client = (await rig.fridge('f2')).client;
    const reconnected = await victim.snapshot(firstTotals('f2'));
    await rig.quiesced();
    const after = Object.fromEntries(await Promise.all(reasons.map(async (r) => [r, (await refused(r)) - before[r]!] as const)));
    const counted = Object.values(after).reduce((a, b) => a + b, 0);
    const dropped = (await metricSum(metrics, 'fridgesync_gateway_dropped_total', { reason: 'topic' })) - droppedBefore;
    const retained = await metricSum(metrics, 'fridgesync_gateway_mqtt_retained_messages');
    const totalsAfter = await centralTotals(rig);
    const unchanged = JSON.stringify(totalsAfter) === JSON.stringify(totalsBefore);
    const ready = (await fetch(`${rig.kioskUrl}/readyz`)).ok;
    const pass = escaped.length === 0 && counted === expectedRefusals && dropped === rounds && retained === 0 && unchanged && ready && stillConnected && reconnected && victimAcked === victimSent && victimGot === 0;
    record({
      scenario: `MQTT ACL probes from an authenticated fridge, ${rounds} rounds (${probes} probes)`,
      criterion: 'each refused and counted, no state change, the other fridge unaffected',
      measured: `${escaped.length} escaped; ${counted} of ${expectedRefusals} refusals counted ${JSON.stringify(after)}; ${dropped} off-contract publishes dropped (topic), ${retained} retained kept; totals ${unchanged ? 'unchanged' : 'CHANGED'}; gateway ready: ${ready}; f2 connected throughout: ${stillConnected}, ${victimAcked}/${victimSent} reports acknowledged, ${victimGot} foreign messages delivered to it, reconnects after: ${reconnected}`,
      pass,
      command: replayCommand(FILE, NAME),
    });
    expect(escaped).toEqual([]);
    expect(counted).toBe(expectedRefusals);
    expect(dropped).toBe(rounds);
    expect(retained).toBe(0);
    expect(totalsAfter).toEqual(totalsBefore);
    expect(ready).toBe(true);
    expect(stillConnected).toBe(true);
    expect(reconnected).toBe(true);
    expect(victimAcked).toBe(victimSent);
    expect(victimGot).toBe(0);
  }, 900_000);
});
