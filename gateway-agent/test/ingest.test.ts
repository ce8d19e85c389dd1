import { describe, expect, it } from 'vitest';
import pino from 'pino';
import * as Y from 'yjs';
import { FridgeIdSchema, GatewayIdSchema, VenueIdSchema, observedSnapshot } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { Ingestor } from '../src/ingest.ts';
import { inventory } from './helpers/agent.ts';

async function setup() {
  const store = new MemoryStore();
  await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
  const logger = pino({ level: 'silent' });
  const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store, logger, version: 't', compactEveryUpdates: 10_000 });
  const ingestor = new Ingestor({ replica, logger, metrics: createMetrics(), topicPrefix: '', presenceMinIntervalMs: 60_000, seqResetGap: 1000 });
  return { store, replica, ingestor };
}

describe('ingest', () => {
  it('applies snapshots of many fridges arriving together in one synced write', async () => {
    const { store, replica, ingestor } = await setup();
    const before = store.syncedWrites();
    const ids = Array.from({ length: 50 }, (_, i) => `f${i}`);
    const results = await Promise.all(ids.map((id, i) => ingestor.ingest(id, `fridges/${id}/inventory`, Buffer.from(inventory(1, 1, { m1: i })))));
    expect(results.every((r) => r.kind === 'inventory' && r.outcome === 'applied')).toBe(true);
    expect(store.syncedWrites() - before).toBeLessThanOrEqual(2);
    expect(observedSnapshot(replica.doc, FridgeIdSchema.parse('f49'))?.i).toEqual({ m1: 49 });
  });

  it('keeps per-fridge order and outcomes when one fridge sends several at once, writing only the newest', async () => {
    const { store, replica, ingestor } = await setup();
    const before = store.syncedWrites();
    const items = () => Y.getState(replica.doc.ydoc.store, replica.doc.ydoc.clientID);
    const itemsBefore = items();
    const send = (seq: number, n: number) => ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: n }, '2026-01-01T00:00:00.000Z')));
    const results = await Promise.all([send(1, 1), send(3, 3), send(2, 2), send(3, 3)]);
    expect(results.map((r) => (r.kind === 'inventory' ? r.outcome : r.kind))).toEqual(['applied', 'applied', 'stale', 'stale']);
    // One run of snapshots: one entry (the newest) in one synced write.
    expect(store.syncedWrites() - before).toBe(1);
    expect(items() - itemsBefore).toBe(1);
    expect(observedSnapshot(replica.doc, FridgeIdSchema.parse('f1'))).toMatchObject({ q: 3, i: { m1: 3 } });
  });

  it('never merges snapshots across a pickup of the same fridge between them', async () => {
    const { replica, ingestor } = await setup();
    const ts = '2026-01-01T00:00:00.000Z';
    const snap = (seq: number, n: number) => ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: n }, ts)));
    const pickup = () => ingestor.ingest('f1', 'fridges/f1/pickup', Buffer.from(JSON.stringify({ boot: 1, seq: 2, ts, orderId: 'o1', items: { m1: 1 } })));
    // Arrival order: snapshot 1, pickup 2, snapshot 3 (the pickup sits between the two).
    const results = await Promise.all([snap(1, 5), pickup(), snap(3, 4)]);
    expect(results[0]).toEqual({ kind: 'inventory', outcome: 'applied' });
    // Recorded (newer than snapshot 1), not "covered" by snapshot 3, which came after it.
    expect(results[1]).toMatchObject({ kind: 'pickup', outcome: 'recorded' });
    expect(results[2]).toEqual({ kind: 'inventory', outcome: 'applied' });
    expect(observedSnapshot(replica.doc, FridgeIdSchema.parse('f1'))).toMatchObject({ q: 3, i: { m1: 4 } });
  });

  it('rejects (nothing acknowledged) when the write cannot be made durable', async () => {
    const { store, ingestor } = await setup();
    store.failNextWrite();
    await expect(ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, 1, { m1: 1 })))).rejects.toThrow();
  });
});
