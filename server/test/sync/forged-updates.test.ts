/**
 * Forged input on the sync endpoint: every kind is refused with a close code, counted, and changes
 * nothing in central's document (state vector and folds compared before and after). Increments
 * beyond what the sender should create are accepted, counted and listed instead
 * (docs/sync-protocol.md, "Rights creation beyond stock").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ORIGINS,
  VenueDoc,
  encodeUpdate,
  gatewayReplicaId,
  increment,
  keys,
  recordSnapshot,
  rootName,
  centralReplicaId,
  cellView,
  VenueDetailJsonSchema,
  type VenueDetailJson,
  type FridgeId,
  type GatewayId,
  type InstanceId,
  type MealId,
  type VenueId,
} from '@fridgesync/shared';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../helpers/gateway-client.ts';

let t: TestCentral;
let c: GatewayClient;
const g1 = gatewayReplicaId('g1' as GatewayId, 1);
const f1 = 'f1' as FridgeId;
const m1 = 'm1' as MealId;

beforeEach(async () => {
  t = await startCentral({ listen: true, over: { sync: { maxFrameBytes: 4096 } } });
  c = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: g1 }).ready();
  // A legitimate first write, so there is something of the gateway's own to shrink: the fridge
  // reports 5, the reconciler creates 5.
  c.doc.transact(ORIGINS.reconciler, (w) => {
    recordSnapshot(w, f1, { boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 5 } as never });
    increment(w, f1, m1, 5);
  });
  await c.durable();
});
afterEach(async () => {
  await c.close();
  await t.close();
});

const host = () => t.central.registry.peek('v1' as VenueId)!;
const snapshotOf = () => ({ sv: Y.encodeStateVector(host().doc.ydoc), entries: [...host().doc.entriesOf(g1)], central: [...host().doc.entriesOf(centralReplicaId('c1' as InstanceId))] });

async function expectRejected(send: () => void, code = 4403): Promise<void> {
  const before = snapshotOf();
  send();
  expect(await c.closed).toBe(code);
  await new Promise((r) => setTimeout(r, 30));
  const after = snapshotOf();
  expect(after.sv).toEqual(before.sv);
  expect(after.entries).toEqual(before.entries);
  expect(after.central).toEqual(before.central);
}

async function rejectedCount(): Promise<number> {
  const text = (await t.central.app.inject({ url: '/metrics' })).body;
  return text
    .split('\n')
    .filter((l) => l.startsWith('fridgesync_sync_rejected_updates_total'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

describe('forged updates are rejected and change nothing', () => {
  it("writes into another replica's structures (central's root)", async () => {
    await expectRejected(() => {
      c.doc.ydoc.transact(() => {
        c.doc.ydoc.getArray(rootName(centralReplicaId('c1' as InstanceId))).push([[keys.config('venue', 'v1'), { h: '9999999999999.000000.x', v: { name: 'pwned', city: 'X', timezone: 'UTC' } }]]);
      }, ORIGINS.mqtt);
    });
    expect(await rejectedCount()).toBeGreaterThan(0);
  });

  it('structs from a client id that is not the sender’s', async () => {
    const other = new VenueDoc({ replica: g1 });
    other.applyUpdate(Y.encodeStateAsUpdate(c.doc.ydoc), ORIGINS.upstream);
    const before = Y.encodeStateVector(other.ydoc);
    other.transact(ORIGINS.reconciler, (w) => increment(w, f1, m1, 1));
    await expectRejected(() => c.sendRaw(encodeUpdate(Y.encodeStateAsUpdate(other.ydoc, before))));
  });

  it("deletions of another replica's items", async () => {
    await expectRejected(() => {
      c.doc.ydoc.transact(() => c.doc.ydoc.getArray(rootName(centralReplicaId('c1' as InstanceId))).delete(0, 1), ORIGINS.mqtt);
    });
  });

  it('a shrinking counter', async () => {
    await expectRejected(() => c.doc.transact(ORIGINS.reconciler, (w) => w.set(keys.counter(f1, m1), [3, 0])));
  });

  it('a decrement beyond the sender’s rights', async () => {
    await expectRejected(() => c.doc.transact(ORIGINS.reconciler, (w) => w.set(keys.counter(f1, m1), [5, 9])));
  });

  it('malformed bytes: an unknown message and a garbage update', async () => {
    await expectRejected(() => c.sendRaw(Uint8Array.from([0, 2, 200, 1, 2])));
    c = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: g1 }).ready();
    await expectRejected(() => c.sendRaw(encodeUpdate(Uint8Array.from([1, 2, 3, 4, 5, 6]))));
  });

  it('an oversized frame closes with 1009', async () => {
    await expectRejected(() => c.sendRaw(encodeUpdate(new Uint8Array(10_000))), 1009);
  });

  it('writes from a viewer', async () => {
    await c.close();
    const viewer = new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.viewer, noHello: true });
    await viewer.ready();
    c = viewer;
    const forged = new VenueDoc({ replica: g1 });
    forged.transact(ORIGINS.reconciler, (w) => increment(w, f1, 'm2' as MealId, 50));
    await expectRejected(() => viewer.sendRaw(encodeUpdate(Y.encodeStateAsUpdate(forged.ydoc))));
  });
});

/** The venue detail's flagged increments of gateway `gw`. */
async function flaggedOf(gw: string): Promise<Array<{ fridgeId: string; mealId: string; code: string; replica: string }>> {
  const d = (await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json() as { gateways: Array<{ gatewayId: string; rightsFlagged: Array<{ fridgeId: string; mealId: string; code: string; replica: string }> }> };
  return d.gateways.find((g) => g.gatewayId === gw)?.rightsFlagged ?? [];
}

/** The value of `fridgesync_rights_flagged_total` for `code` in venue v1. */
async function flaggedCount(code: string): Promise<number> {
  const text = (await t.central.app.inject({ url: '/metrics' })).body;
  const m = new RegExp(`^fridgesync_rights_flagged_total\\{venue="v1",code="${code}"\\} (\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

describe('increments beyond what the sender should create are accepted and flagged (docs/sync-protocol.md, "Rights creation beyond stock")', () => {
  it('an increment beyond what any snapshot reports, from the real reconciler (OVER_STOCK): applied, counted, listed; the connection stays open', async () => {
    c.doc.transact(ORIGINS.reconciler, (w) => increment(w, f1, m1, 500));
    await c.durable();
    expect(c.closeCode).toBeUndefined();
    expect(cellView(host().doc, f1, m1).S).toBe(505);
    expect(await flaggedCount('OVER_STOCK')).toBe(1);
    expect(await flaggedOf('g1')).toMatchObject([{ fridgeId: 'f1', mealId: 'm1', code: 'OVER_STOCK', replica: 'gw:g1:1' }]);
    // The dashboard turns it into a warning (its model module runs in the browser and in node).
    const modelPath = '../../dashboard/model.js';
    const model = (await import(modelPath)) as { problemsOf: (venue: VenueDetailJson, detail: VenueDetailJson) => Array<{ key: string; level: string; text: string }> };
    const detail = VenueDetailJsonSchema.parse((await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json());
    expect(model.problemsOf(detail, detail)).toContainEqual({ key: 'rights-flag:v1:g1:f1:m1', level: 'warn', text: expect.stringMatching(/gw:g1:1 created rights for m1 in fridge f1 .* above any stock a snapshot reported/) });
  });

  it('an increment by a gateway that is not the fridge’s reconciler (NOT_RECONCILER): applied, counted, listed', async () => {
    await c.close();
    c = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw2, replica: gatewayReplicaId('g2' as GatewayId, 1) }).ready();
    c.doc.transact(ORIGINS.reconciler, (w) => {
      recordSnapshot(w, f1, { boot: 1, seq: 2, ts: new Date().toISOString(), items: { m1: 9 } as never });
      increment(w, f1, m1, 4);
    });
    await c.durable();
    expect(c.closeCode).toBeUndefined();
    expect(cellView(host().doc, f1, m1).S).toBe(9);
    expect(await flaggedCount('NOT_RECONCILER')).toBe(1);
    expect(await flaggedCount('OVER_STOCK')).toBe(0);
    expect(await flaggedOf('g2')).toMatchObject([{ fridgeId: 'f1', mealId: 'm1', code: 'NOT_RECONCILER', replica: 'gw:g2:1' }]);
  });

  it('an honest increment within the stock a snapshot reports is not flagged', async () => {
    c.doc.transact(ORIGINS.reconciler, (w) => {
      recordSnapshot(w, f1, { boot: 1, seq: 2, ts: new Date().toISOString(), items: { m1: 8 } as never });
      increment(w, f1, m1, 3);
    });
    await c.durable();
    expect(await flaggedCount('OVER_STOCK')).toBe(0);
    expect(await flaggedOf('g1')).toEqual([]);
  });
});

describe('after a rejection', () => {
  it('the gateway can reconnect and keep syncing', async () => {
    await expectRejected(() => c.sendRaw(Uint8Array.from([77])));
    const again = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: g1, doc: c.doc }).ready();
    c = again;
    again.doc.transact(ORIGINS.reconciler, (w) => {
      recordSnapshot(w, f1, { boot: 1, seq: 2, ts: new Date().toISOString(), items: { m1: 6 } as never });
      increment(w, f1, m1, 1);
    });
    await again.durable();
    await waitFor(async () => {
      const d = await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) });
      return d.json().fridges[0].cells[0]?.S === 6;
    });
  });
});
