import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { FridgeIdSchema, GatewayIdSchema, VenueIdSchema, observedSnapshot, recordSnapshot, type EntryWriter, type FridgeId } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { TurnBatcher } from '../src/turn-batcher.ts';

const F1 = FridgeIdSchema.parse('f1');
const F2 = FridgeIdSchema.parse('f2');
const TS = '2026-01-01T00:00:00.000Z';

async function setup() {
  const store = new MemoryStore();
  await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
  const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store, logger: pino({ level: 'silent' }), version: 't', compactEveryUpdates: 10_000 });
  return { store, replica, batcher: new TurnBatcher(replica) };
}

describe('turn batcher', () => {
  it("applies one turn in rounds (a fridge's k-th write in round k), stored with one synced write", async () => {
    const { store, replica, batcher } = await setup();
    const transactions: number[] = [];
    replica.doc.ydoc.on('afterTransaction', () => transactions.push(transactions.length));
    const before = store.syncedWrites();
    const order: string[] = [];
    const write = (fridge: FridgeId, seq: number) => (w: EntryWriter) => {
      order.push(`${fridge}#${seq}`);
      // The write reads the folded index, which a transaction updates only when it ends.
      return recordSnapshot(w, fridge, { boot: 1, seq, ts: TS, items: { m1: seq } as never });
    };
    const results = await Promise.all([batcher.add(F1, write(F1, 1)), batcher.add(F2, write(F2, 1)), batcher.add(F1, write(F1, 1))]);
    // Round 0 holds the first write of each fridge; f1's second write, in round 1, sees the first
    // one's snapshot and so is a duplicate.
    expect(results).toEqual(['applied', 'applied', 'stale']);
    expect(order).toEqual(['f1#1', 'f2#1', 'f1#1']);
    expect(transactions).toHaveLength(2);
    expect(store.syncedWrites() - before).toBe(1);
  });

  it("records a fridge's consecutive snapshots together and fails only the write that threw", async () => {
    const { replica, batcher } = await setup();
    const snap = (seq: number) => batcher.addSnapshot(F1, { boot: 1, seq, ts: TS, items: { m1: seq } as never });
    const failing = batcher.add(F2, () => {
      throw new Error('boom');
    });
    const outcomes = await Promise.all([snap(2), snap(1), snap(3)]);
    await expect(failing).rejects.toThrow('boom');
    expect(outcomes).toEqual(['applied', 'stale', 'applied']);
    expect(observedSnapshot(replica.doc, F1)).toMatchObject({ q: 3 });
  });

  it('rejects every write of a round whose synced write fails', async () => {
    const { store, batcher } = await setup();
    store.failNextWrite();
    await expect(Promise.all([batcher.add(F1, () => 1), batcher.addSnapshot(F2, { boot: 1, seq: 1, ts: TS, items: {} as never })])).rejects.toThrow();
  });
});
