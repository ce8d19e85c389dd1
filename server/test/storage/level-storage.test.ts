import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VenueId } from '@fridgesync/shared';
import { createLevelStorage, type DocStorage } from '@fridgesync/server';
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
