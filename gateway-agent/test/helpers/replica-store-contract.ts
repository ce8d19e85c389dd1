/**
 * The contract every {@link ReplicaStore} implementation passes: one suite, run by each
 * implementation's test file, so the implementations cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ReplicaStore } from '../../src/replica-store.ts';

/** Opens a store over the same durable location each time `open` is called after `close`. */
export interface StoreFactory {
  /** A fresh, empty location. */
  fresh(): Promise<{ open: () => Promise<ReplicaStore> }>;
}

function docWith(n: number): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  for (let i = 0; i < n; i++) doc.getArray<number>('a').push([i]);
  return { doc, updates };
}

function replay(updates: Uint8Array[]): number[] {
  const d = new Y.Doc();
  for (const u of updates) Y.applyUpdate(d, u);
  return d.getArray<number>('a').toArray();
}

/** Runs the storage contract against `factory`. */
export function replicaStoreContract(name: string, factory: StoreFactory): void {
  describe(`ReplicaStore contract: ${name}`, () => {
    it('returns appended updates in order after reopening', async () => {
      const loc = await factory.fresh();
      const s = await loc.open();
      const { updates } = docWith(5);
      for (const u of updates) await s.append(u);
      await s.close();
      const s2 = await loc.open();
      const loaded = await s2.load();
      expect(replay(loaded.updates)).toEqual([0, 1, 2, 3, 4]);
      expect(loaded.meta).toBeUndefined();
      await s2.close();
    });

    it('resolves concurrent appends and keeps all of them', async () => {
      const loc = await factory.fresh();
      const s = await loc.open();
      const { updates } = docWith(200);
      const before = s.syncedWrites();
      await Promise.all(updates.map((u) => s.append(u)));
      expect(s.pending()).toBe(0);
      // Group commit: 200 concurrent appends share a handful of synced writes.
      expect(s.syncedWrites() - before).toBeLessThanOrEqual(4);
      await s.close();
      const s2 = await loc.open();
      expect(replay((await s2.load()).updates)).toHaveLength(200);
      await s2.close();
    });

    it('compacts the log into one state and keeps later appends', async () => {
      const loc = await factory.fresh();
      const s = await loc.open();
      const { doc, updates } = docWith(50);
      for (const u of updates) void s.append(u);
      const before = s.size();
      expect(before.updates).toBe(50);
      await s.compact(Y.encodeStateAsUpdate(doc));
      expect(s.size().updates).toBe(0);
      doc.getArray<number>('a').push([50]);
      await s.append(updates[updates.length - 1]!);
      await s.close();
      const s2 = await loc.open();
      const loaded = await s2.load();
      expect(loaded.updates.length).toBeLessThanOrEqual(2);
      expect(replay(loaded.updates)).toHaveLength(51);
      expect(s2.size().bytes).toBeGreaterThan(0);
      await s2.close();
    });

    it('stores the lifecycle meta alongside', async () => {
      const loc = await factory.fresh();
      const s = await loc.open();
      await s.writeMeta({ gatewayId: 'g1', venueId: 'v1', state: 'joining', updatedAt: 1 });
      await s.writeMeta({ gatewayId: 'g1', venueId: 'v1', epoch: 3, state: 'active', updatedAt: 2 });
      await s.close();
      const s2 = await loc.open();
      expect((await s2.load()).meta).toEqual({ gatewayId: 'g1', venueId: 'v1', epoch: 3, state: 'active', updatedAt: 2 });
      await s2.close();
    });

    it('keeps intake records until cleared, across compaction and reopening', async () => {
      const loc = await factory.fresh();
      const s = await loc.open();
      const text = (r: Uint8Array) => new TextDecoder().decode(r);
      const a = s.appendIntake(new TextEncoder().encode('first'));
      const b = s.appendIntake(new TextEncoder().encode('second'));
      const { doc, updates } = docWith(3);
      for (const u of updates) void s.append(u);
      const c = s.appendIntake(new TextEncoder().encode('third'));
      await Promise.all([a.durable, b.durable, c.durable]);
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      expect(s.size().intake).toBe(3);
      await s.clearIntake([b.id]);
      await s.compact(Y.encodeStateAsUpdate(doc));
      expect(s.size().intake).toBe(2);
      await s.close();
      const s2 = await loc.open();
      const loaded = await s2.load();
      expect(loaded.intake.map((r) => [r.id, text(r.record)])).toEqual([
        [a.id, 'first'],
        [c.id, 'third'],
      ]);
      expect(replay(loaded.updates)).toEqual([0, 1, 2]);
      expect(s2.size().intake).toBe(2);
      // Ids are never reused, even after reopening.
      const d = s2.appendIntake(new Uint8Array([1]));
      await d.durable;
      expect(d.id).toBeGreaterThan(c.id);
      await s2.clearIntake([a.id, c.id, d.id]);
      await s2.close();
      const s3 = await loc.open();
      expect((await s3.load()).intake).toEqual([]);
      await s3.close();
    });

    it('refuses writes after close', async () => {
      const loc = await factory.fresh();
      const s = await loc.open();
      await s.close();
      await expect(s.append(new Uint8Array([0, 0]))).rejects.toThrow(/closed/);
      await expect(s.appendIntake(new Uint8Array([0])).durable).rejects.toThrow(/closed/);
      await s.close(); // idempotent
    });
  });
}
