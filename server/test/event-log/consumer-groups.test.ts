/**
 * Consumer groups over HTTP on the real central with LevelDB on disk: a consumer that crashes
 * before acknowledging gets its events again after the visibility timeout (also across a central
 * restart), acknowledged ones never; an event delivered `maxAttempts` times goes to the dead-letter
 * list; bad input is answered 400/404/409 from the error catalog and changes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@fridgesync/shared/test-harness';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(): Promise<TestCentral> {
  dir ??= await mkdtemp(join(tmpdir(), 'central-groups-'));
  t = await startCentral({ level: true, dir, over: { eventLog: { maxAttempts: 2, maxGroups: 2 } } });
  return t;
}
const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, token: string = TOKENS.viewer) =>
  t!.central.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) });
const claim = async (group: string, body: object = { limit: 2, visibilityMs: 1_000 }) => {
  const r = await call('POST', `/v1/events/groups/${group}/claim`, body);
  expect(r.statusCode, r.body).toBe(200);
  return (r.json() as { events: Array<{ id: string; position: number; attempts: number }> }).events;
};
const ack = async (group: string, ids: string[]) => (await call('POST', `/v1/events/groups/${group}/ack`, { ids })).json() as { acked: string[]; notPending: string[] };
/** Three facts: a snapshot and two reservations. */
async function threeFacts(): Promise<void> {
  stockViaGateway(t!.central, 'v1', 'f1', { m1: 10 });
  for (const id of ['o-1', 'o-2']) expect((await call('POST', '/v1/orders', { orderId: id, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] }, TOKENS.app)).statusCode).toBe(201);
  await waitFor(async () => (await call('GET', '/v1/events/log')).json().latest === 3, 10_000);
}

describe('consumer groups', () => {
  it('redelivers what a crashed consumer did not acknowledge, across a restart; never what it did', async () => {
    await start();
    await threeFacts();
    const first = await claim('billing');
    expect(first.map((e) => [e.position, e.attempts])).toEqual([[1, 1], [2, 1]]);
    // The consumer acknowledges 1 and crashes before acknowledging 2; central restarts too.
    expect(await ack('billing', [first[0]!.id])).toEqual({ acked: [first[0]!.id], notPending: [] });
    await t!.close();
    await start();
    // Within the timeout only the next new event; after it, 2 again.
    expect((await claim('billing')).map((e) => [e.position, e.attempts])).toEqual([[3, 1]]);
    const again: Awaited<ReturnType<typeof claim>> = [];
    await waitFor(async () => {
      again.push(...(await claim('billing')));
      return again.length >= 2;
    }, 10_000);
    expect(again.map((e) => [e.position, e.attempts])).toEqual([[2, 2], [3, 2]]);
    expect(await ack('billing', again.map((e) => e.id))).toEqual({ acked: again.map((e) => e.id), notPending: [] });
    // Acknowledged: never handed out again.
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await claim('billing')).toEqual([]);
    expect((await call('GET', '/v1/events/groups/billing/dead')).json().events).toEqual([]);
    const metrics = (await t!.central.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/fridgesync_event_log_group_lag\{group="billing"\} 0/);
  });

  it('moves an event to the dead-letter list after maxAttempts deliveries', async () => {
    await start();
    await threeFacts();
    const first = await claim('kitchen', { limit: 3, visibilityMs: 1_000 });
    expect(first.map((e) => [e.position, e.attempts])).toEqual([[1, 1], [2, 1], [3, 1]]);
    await ack('kitchen', [first[1]!.id, first[2]!.id]);
    let second: Awaited<ReturnType<typeof claim>> = [];
    await waitFor(async () => (second = await claim('kitchen', { limit: 3, visibilityMs: 1_000 })).length > 0, 10_000);
    expect(second.map((e) => [e.position, e.attempts])).toEqual([[1, 2]]);
    // Its second delivery times out: the next claim moves it to the dead-letter list (maxAttempts 2).
    await waitFor(async () => {
      expect(await claim('kitchen')).toEqual([]);
      return (await call('GET', '/v1/events/groups/kitchen/dead')).json().events.length > 0;
    }, 10_000);
    const dead = (await call('GET', '/v1/events/groups/kitchen/dead')).json();
    expect(dead.events).toMatchObject([{ id: first[0]!.id, position: 1, attempts: 2 }]);
    expect(await ack('kitchen', [first[0]!.id])).toEqual({ acked: [], notPending: [first[0]!.id] });
    expect((await t!.central.app.inject({ url: '/metrics' })).body).toMatch(/fridgesync_event_log_group_dead_letters\{group="kitchen"\} 1/);
  });

  it('answers bad input from the error catalog and changes nothing', async () => {
    await start();
    await threeFacts();
    await claim('a');
    const groupsBefore = await t!.central.eventLog!.log.groups();
    const expectError = async (r: Awaited<ReturnType<typeof call>>, status: number, code: string, message?: RegExp) => {
      expect(r.statusCode, r.body).toBe(status);
      expect(r.json()).toMatchObject({ statusCode: status, code });
      if (message !== undefined) expect(r.json().message).toMatch(message);
    };
    await expectError(await call('GET', '/v1/events/log?after=abc'), 400, 'VALIDATION_FAILED', /after is a position/);
    await expectError(await call('GET', '/v1/events/log?after=-1'), 400, 'VALIDATION_FAILED');
    await expectError(await call('GET', '/v1/events/log?after=4'), 400, 'VALIDATION_FAILED', /beyond the newest position 3/);
    await expectError(await call('GET', '/v1/events/log?limit=5000'), 400, 'VALIDATION_FAILED');
    await expectError(await call('GET', '/v1/events/log?venueId=bad!id'), 400, 'VALIDATION_FAILED');
    await expectError(await call('POST', '/v1/events/groups/a/claim', { limit: 501 }), 400, 'VALIDATION_FAILED');
    await expectError(await call('POST', '/v1/events/groups/a/claim', { visibilityMs: 10 }), 400, 'VALIDATION_FAILED');
    await expectError(await call('POST', '/v1/events/groups/bad!name/claim', {}), 400, 'VALIDATION_FAILED', /group name/);
    await expectError(await call('POST', '/v1/events/groups/constructor/claim', {}), 400, 'VALIDATION_FAILED', /property name every JavaScript object has/);
    await expectError(await call('POST', '/v1/events/groups/nope/ack', { ids: ['x'] }), 404, 'UNKNOWN_GROUP');
    await expectError(await call('GET', '/v1/events/groups/nope/dead'), 404, 'UNKNOWN_GROUP');
    await expectError(await call('POST', '/v1/events/groups/a/ack', { ids: [] }), 400, 'VALIDATION_FAILED');
    await expectError(await call('POST', '/v1/events/groups/a/claim', {}, TOKENS.app), 403, 'FORBIDDEN');
    await expectError(await call('DELETE', '/v1/events/groups/a'), 403, 'FORBIDDEN');
    await claim('b');
    await expectError(await call('POST', '/v1/events/groups/c/claim', {}), 409, 'TOO_MANY_GROUPS');
    // Nothing changed: group a as before, no group c; the admin may remove b to make room.
    const after = await t!.central.eventLog!.log.groups();
    expect(after.find((g) => g.name === 'a')).toEqual(groupsBefore.find((g) => g.name === 'a'));
    expect(after.map((g) => g.name).sort()).toEqual(['a', 'b']);
    expect((await call('DELETE', '/v1/events/groups/b', undefined, TOKENS.admin)).statusCode).toBe(204);
    expect((await claim('c')).length).toBe(2);
  });

  it('retention drops acknowledged events on its timer and keeps what a group still owes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'central-groups-'));
    t = await startCentral({ level: true, dir, over: { eventLog: { pruneEveryMs: 100, retention: { maxEvents: 1 } } } });
    // The group exists before the facts: retention keeps what it has not acknowledged.
    expect(await claim('slow')).toEqual([]);
    await threeFacts();
    const claimed = await claim('slow', { limit: 1, visibilityMs: 60_000 });
    expect(claimed.map((e) => e.position)).toEqual([1]);
    // `slow` holds 1 unacknowledged: nothing may go, however many timer passes run.
    await new Promise((r) => setTimeout(r, 400));
    expect((await call('GET', '/v1/events/log')).json()).toMatchObject({ oldest: 1, latest: 3 });
    await ack('slow', [claimed[0]!.id]);
    await claim('slow', { limit: 1, visibilityMs: 60_000 }).then((es) => ack('slow', es.map((e) => e.id)));
    // Acknowledged up to 2: the timer drops 1 and 2 (beyond maxEvents 1); 3 is kept (never claimed).
    await waitFor(async () => (await call('GET', '/v1/events/log')).json().oldest === 3, 10_000);
    const page = (await call('GET', '/v1/events/log?after=0')).json();
    expect(page).toMatchObject({ oldest: 3, latest: 3, gap: true });
    expect((await t!.central.app.inject({ url: '/metrics' })).body).toMatch(/fridgesync_event_log_pruned_total\{acked="true"\} 2/);
  });

  it('is documented in /documentation with its roles and errors', async () => {
    await start();
    const spec = (await t!.central.app.inject({ url: '/documentation/json' })).json();
    expect(spec.paths['/v1/events/log'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('events');
    expect(spec.paths['/v1/events/groups/{group}/claim'].post['x-roles']).toEqual(['viewer', 'admin']);
    expect(Object.keys(spec.paths['/v1/events/groups/{group}/ack'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
  });
});
