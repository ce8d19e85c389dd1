/**
 * The contract every {@link DocStorage} implementation runs, so the implementations cannot
 * drift apart. `make` returns a fresh, opened store; `reopen` (when the
 * implementation persists) closes it and opens the same data again.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { VenueId } from '@fridgesync/shared';
import type { DocStorage } from '@fridgesync/server';

const v = (s: string) => s as VenueId;
const bytes = (...n: number[]) => Uint8Array.from(n);

/** Runs the storage contract. */
export function storageContract(name: string, make: () => Promise<{ storage: DocStorage; reopen?: () => Promise<DocStorage>; cleanup: () => Promise<void> }>): void {
  describe(`${name} storage contract`, () => {
    it('appends and loads in order, per venue', async () => {
      const { storage, cleanup } = await make();
      try {
        expect(await storage.load(v('a'))).toEqual({ updates: [], position: 0 });
        const p1 = await storage.append(v('a'), bytes(1));
        const p2 = await storage.append(v('a'), bytes(2, 2));
        await storage.append(v('b'), bytes(9));
        expect(p2).toBeGreaterThan(p1);
        const a = await storage.load(v('a'));
        expect(a.updates.map((u) => [...u])).toEqual([[1], [2, 2]]);
        expect(a.position).toBe(p2);
        expect(await storage.listVenues()).toEqual(['a', 'b']);
      } finally {
        await cleanup();
      }
    });

    it('keeps the order of concurrent appends (group commit) and resolves each', async () => {
      const { storage, cleanup } = await make();
      try {
        const ps = await Promise.all(Array.from({ length: 200 }, (_, i) => storage.append(v('c'), bytes(i % 256, i >> 8))));
        expect(new Set(ps).size).toBe(200);
        const got = (await storage.load(v('c'))).updates.map((u) => u[0]! + (u[1]! << 8));
        expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
      } finally {
        await cleanup();
      }
    });

    it('compacts exactly what was read and keeps later appends', async () => {
      const { storage, cleanup } = await make();
      try {
        const doc = new Y.Doc();
        const updates: Uint8Array[] = [];
        doc.on('update', (u: Uint8Array) => updates.push(u));
        for (let i = 0; i < 5; i++) doc.getArray('x').push([i]);
        for (const u of updates.slice(0, 3)) await storage.append(v('d'), u);
        const read = await storage.load(v('d'));
        await storage.append(v('d'), updates[3]!);
        await storage.compact(v('d'), Y.mergeUpdates(read.updates), read.position);
        await storage.append(v('d'), updates[4]!);
        const after = await storage.load(v('d'));
        expect(after.updates).toHaveLength(3);
        const copy = new Y.Doc();
        Y.applyUpdate(copy, Y.mergeUpdates(after.updates));
        expect(copy.getArray('x').toArray()).toEqual([0, 1, 2, 3, 4]);
      } finally {
        await cleanup();
      }
    });

    it('lists venues whose names share prefixes', async () => {
      const { storage, cleanup } = await make();
      try {
        for (const name of ['a', 'a-b', 'a.b', 'ab', 'a_b']) await storage.append(v(name), bytes(1));
        expect(await storage.listVenues()).toEqual(['a', 'a-b', 'a.b', 'a_b', 'ab']);
        expect((await storage.load(v('a'))).updates).toHaveLength(1);
      } finally {
        await cleanup();
      }
    });

    it('keeps central-private meta values outside every venue', async () => {
      const { storage, cleanup } = await make();
      try {
        expect(await storage.getMeta('x')).toBeUndefined();
        await storage.putMeta('x', bytes(1, 2));
        await storage.putMeta('x', bytes(3));
        expect([...((await storage.getMeta('x')) ?? [])]).toEqual([3]);
        expect(await storage.listVenues()).toEqual([]);
      } finally {
        await cleanup();
      }
    });

    it('survives reopening (persistent engines)', async () => {
      const { storage, reopen, cleanup } = await make();
      try {
        if (reopen === undefined) return;
        await storage.append(v('e'), bytes(7));
        await storage.putMeta('m', bytes(5));
        const again = await reopen();
        expect([...((await again.getMeta('m')) ?? [])]).toEqual([5]);
        expect((await again.load(v('e'))).updates.map((u) => [...u])).toEqual([[7]]);
        const p = await again.append(v('e'), bytes(8));
        expect((await again.load(v('e'))).position).toBe(p);
        expect((await again.load(v('e'))).updates).toHaveLength(2);
      } finally {
        await cleanup();
      }
    });
  });
}
