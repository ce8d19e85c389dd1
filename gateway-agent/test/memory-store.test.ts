import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/memory-store.ts';
import { StoreFailedError } from '../src/replica-store.ts';
import { replicaStoreContract } from './helpers/replica-store-contract.ts';

replicaStoreContract('memory', {
  async fresh() {
    const m = new MemoryStore();
    return { open: async () => m.reopen() };
  },
});

describe('MemoryStore', () => {
  it('shares one synced batch among concurrent appends (group commit)', async () => {
    const m = new MemoryStore();
    await Promise.all(Array.from({ length: 100 }, (_, i) => m.append(new Uint8Array([i]))));
    expect(m.batches).toBeLessThanOrEqual(2);
  });

  it('fails every later write after a failed one', async () => {
    const m = new MemoryStore();
    m.failNextWrite();
    await expect(m.append(new Uint8Array([1]))).rejects.toBeInstanceOf(StoreFailedError);
    await expect(m.append(new Uint8Array([2]))).rejects.toBeInstanceOf(StoreFailedError);
  });
});
