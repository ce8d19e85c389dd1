import { describe, expect, it } from 'vitest';
import pino from 'pino';
import * as Y from 'yjs';
import { FridgeIdSchema, GatewayIdSchema, ORIGINS, ReplicaIdSchema, VenueDoc, VenueIdSchema, observedSnapshot, recordSnapshot } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { Ingestor } from '../src/ingest.ts';
import { inventory } from './helpers/agent.ts';
import { eventually } from '@fridgesync/shared/test-harness';

async function setup(snapshotFoldMs = 0, store = new MemoryStore()) {
  if ((await store.load()).meta === undefined) await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
  const logger = pino({ level: 'silent' });
  const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store, logger, version: 't', compactEveryUpdates: 10_000 });
  const metrics = createMetrics();
  const ingestor = new Ingestor({ replica, logger, metrics, topicPrefix: '', presenceMinIntervalMs: 60_000, snapshotFoldMs });
  return { store, replica, ingestor, metrics };
}

const F1 = FridgeIdSchema.parse('f1');
const TS = '2026-01-01T00:00:00.000Z';

async function counted(metrics: ReturnType<typeof createMetrics>, outcome: string): Promise<number> {
  const m = await metrics.ingested.get();
  return m.values.find((v) => v.labels.kind === 'inventory' && v.labels.outcome === outcome)?.value ?? 0;
}

describe('ingest through the snapshot intake', () => {
  it('acknowledges a snapshot once its record is durable and writes a fridge burst as one entry', async () => {
    const { store, replica, ingestor, metrics } = await setup(10_000);
    const send = (seq: number, n: number) => ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: n }, TS)));
    // A quiet fridge is folded in the next turn: in the document by the time it is acknowledged.
    expect(await send(1, 1)).toEqual({ kind: 'inventory', outcome: 'accepted' });
    expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 1 });
    const items = () => Y.getState(replica.doc.ydoc.store, replica.doc.ydoc.clientID);
    const itemsBefore = items();
    // Within the fold interval: acknowledged (durable in the intake log), held, not in the document.
    // Snapshots of one turn share one synced write, and so one promise; latency is observed per snapshot.
    const turn = [send(2, 2), send(4, 4), send(3, 3)];
    expect(new Set(turn).size).toBe(1);
    expect(await Promise.all(turn)).toEqual(Array(3).fill({ kind: 'inventory', outcome: 'accepted' }));
    expect((await metrics.ingestSeconds.get()).values.find((v) => v.metricName === 'fridgesync_gateway_ingest_durable_seconds_count')?.value).toBe(4);
    expect(ingestor.heldSnapshots).toBe(3);
    // One record for the three (they arrived in one turn); the first snapshot's record may still
    // be on its way out (cleared once its fold was durable).
    expect(store.size().intake).toBe(1);
    expect((await store.load()).intake.length).toBeGreaterThanOrEqual(1);
    expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 1 });
    await ingestor.flush();
    expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 4, i: { m1: 4 } });
    expect(items() - itemsBefore).toBe(1);
    // Outcomes are counted when folded; the records are cleared once the fold is durable.
    expect(await counted(metrics, 'applied')).toBe(3);
    expect(await counted(metrics, 'stale')).toBe(1);
    expect(await counted(metrics, 'accepted')).toBe(0);
    expect((await store.load()).intake).toEqual([]);
    ingestor.stop();
  });

  it('replays acknowledged snapshots left in the intake log at the next start', async () => {
    const first = await setup(10_000);
    const send = (seq: number, n: number) => first.ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: n }, TS)));
    await send(1, 1);
    await send(2, 7);
    expect(first.ingestor.heldSnapshots).toBe(1);
    // The process dies: the held snapshot never reaches the document of this store.
    first.ingestor.stop();
    const again = await setup(100, first.store.reopen());
    await again.ingestor.flush();
    expect(observedSnapshot(again.replica.doc, F1)).toMatchObject({ q: 2, i: { m1: 7 } });
    expect((await first.store.load()).intake).toEqual([]);
    again.ingestor.stop();
  });

  it('writes a fridge\'s held snapshots before its next pickup', async () => {
    const { replica, ingestor } = await setup(10_000);
    const snap = (seq: number, n: number) => ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: n }, TS)));
    await snap(1, 5);
    await snap(3, 4); // held
    const r = await ingestor.ingest('f1', 'fridges/f1/pickup', Buffer.from(JSON.stringify({ boot: 1, seq: 2, ts: TS, orderId: 'o1', items: { m1: 1 } })));
    // Snapshot 3 arrived first and already shows the pickup: applied first, the pickup is covered.
    expect(r).toMatchObject({ kind: 'pickup', outcome: 'covered' });
    expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 3 });
    expect(ingestor.heldSnapshots).toBe(0);
    ingestor.stop();
  });

  it('does not write a held snapshot that another replica overtook; counts and clears them all', async () => {
    const { store, replica, ingestor, metrics } = await setup(10_000);
    const send = (seq: number) => ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: seq }, TS)));
    await send(1); // folded at once
    await send(2); // held
    await send(2); // a redelivery of the held one: stale
    // An HA peer hearing the same fridge wrote a newer snapshot, which reaches this replica.
    const peer = new VenueDoc({ replica: ReplicaIdSchema.parse('gw:gw2:1') });
    peer.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, F1, { boot: 1, seq: 5, ts: TS, items: { m1: 5 } as never }));
    replica.doc.applyUpdate(Y.encodeStateAsUpdate(peer.ydoc), { kind: 'upstream', peer: 'test' });
    await send(3); // older than the peer's: stale
    expect(ingestor.heldSnapshots).toBe(3);
    await ingestor.flush();
    // Snapshot 2 is not written over the peer's newer one; this replica's entry stays at 1.
    expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 5 });
    expect(replica.doc.index.snapshots.get(F1)?.get(replica.replica!)).toMatchObject({ q: 1 });
    expect(await counted(metrics, 'applied')).toBe(1);
    expect(await counted(metrics, 'stale')).toBe(3);
    expect((await store.load()).intake).toEqual([]);
    ingestor.stop();
  });

  it('keeps what it holds while the replica rejoins, and folds it once active again', async () => {
    const { replica, ingestor } = await setup(50);
    const send = (seq: number) => ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, seq, { m1: seq }, TS)));
    await send(1);
    await send(2); // held for ~50 ms
    await replica.markRetired(); // central said so: not writable until the next epoch
    await new Promise((r) => setTimeout(r, 120)); // its fold time passes while it cannot write
    expect(ingestor.heldSnapshots).toBe(1);
    await replica.becomeActive();
    await eventually(() => expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 2 }), 2_000);
    expect(ingestor.heldSnapshots).toBe(0);
    ingestor.stop();
  });

  it('refuses (nothing stored) while the replica may not write', async () => {
    const store = new MemoryStore();
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', state: 'joining', updatedAt: 0 });
    const { ingestor } = await setup(100, store);
    await expect(ingestor.ingest('f1', 'fridges/f1/inventory', Buffer.from(inventory(1, 1, { m1: 1 })))).rejects.toThrow(/full sync/);
    expect(store.size().intake).toBe(0);
    ingestor.stop();
  });
});

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
