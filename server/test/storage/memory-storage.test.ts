import { createMemoryStorage } from '@fridgesync/server';
import { storageContract } from './storage-contract.ts';

storageContract('in-memory', async () => {
  const storage = createMemoryStorage();
  await storage.open();
  return { storage, cleanup: () => storage.close() };
});
