import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VenueId } from '@fridgesync/shared';
import { createLevelStorage, type DocStorage } from '@fridgesync/server';
import { StorageLockedError } from '../../src/storage/storage-port.ts';
import { storageContract } from './storage-contract.ts';

storageContract('LevelDB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'level-'));
  let current: DocStorage = createLevelStorage({ dir });
  await current.open();
  return {
    storage: current,
    reopen: async () => {
      await current.close();
      current = createLevelStorage({ dir });
      await current.open();
      return current;
    },
    cleanup: async () => {
      await current.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('LevelDB group commit', () => {
  it('carries concurrent appends in fewer synced writes than appends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'level-gc-'));
    const batches: number[] = [];
    const s = createLevelStorage({ dir, onBatch: (n) => batches.push(n) });
    await s.open();
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => s.append('v' as VenueId, Uint8Array.of(i))));
      expect(batches.reduce((a, b) => a + b, 0)).toBe(100);
      expect(batches.length).toBeLessThan(100);
      expect(Math.max(...batches)).toBeGreaterThan(1);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LevelDB data directory in use', () => {
  it('a second open of a directory held by another storage fails naming the directory, and the first keeps working', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'level-lock-'));
    const first = createLevelStorage({ dir });
    await first.open();
    try {
      const second = createLevelStorage({ dir });
      const err = await second.open().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(StorageLockedError);
      expect((err as Error).message).toBe(`the data directory ${dir} is in use by another central process (LevelDB lock held); stop that process or use another storage.dataDir`);
      await first.append('v' as VenueId, Uint8Array.of(7));
      expect((await first.load('v' as VenueId)).updates.map((u) => [...u])).toEqual([[7]]);
    } finally {
      await first.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
