import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
