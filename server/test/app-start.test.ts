/**
 * A central that fails half-way through `buildApp` releases what it opened: the LevelDB storage
 * (and its lock) is closed, so the next start on the same directory opens it. The failure is a
 * read error injected at the storage port (the real LevelDB storage underneath).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp, CentralConfigSchema, createLevelStorage, type DocStorage } from '@fridgesync/server';

describe('buildApp failing half-way', () => {
  it('closes the storage it opened, releasing the LevelDB lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fs-central-start-'));
    try {
      const real = createLevelStorage({ dir });
      const failing: DocStorage = {
        ...real,
        listVenues: () => Promise.reject(new Error('injected read error while listing venues')),
      };
      const config = CentralConfigSchema.parse({ http: { host: '127.0.0.1', port: 0 }, storage: { engine: 'level', dataDir: dir }, logLevel: 'silent' });
      await expect(buildApp(config, { storage: failing })).rejects.toThrow('injected read error');
      // The lock is free: the same directory opens again.
      const again = createLevelStorage({ dir });
      await again.open();
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
