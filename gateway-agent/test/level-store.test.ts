import { describe, expect, it, vi } from 'vitest';
import { ClassicLevel } from 'classic-level';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openLevelStore } from '../src/level-store.ts';
import { StoreCorruptError, StoreLockedError } from '../src/replica-store.ts';
import { replicaStoreContract } from './helpers/replica-store-contract.ts';
import { useTeardown } from '@fridgesync/shared/test-harness';

const { tempDir, defer } = useTeardown();

replicaStoreContract('leveldb', {
  async fresh() {
    const dir = tempDir();
    return { open: () => openLevelStore(dir) };
  },
});

describe('LevelDB store', () => {
  it('takes back appends written after an earlier synced write failed, leaving no gap', async () => {
    const dir = tempDir();
    const s = await openLevelStore(dir);
    await s.append(new Uint8Array([1]));
    // The next synced batch fails slowly (a failed log append); the one handed over behind it succeeds.
    const real = ClassicLevel.prototype.batch;
    let calls = 0;
    const spy = vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementation(function (this: ClassicLevel, ...args: unknown[]) {
      if (calls++ === 0) return new Promise((_, reject) => setTimeout(() => reject(new Error('No space left on device')), 50));
      return (real as (...a: unknown[]) => Promise<void>).apply(this, args);
    } as never);
    defer(() => spy.mockRestore());
    const a = s.append(new Uint8Array([2])).catch((e: Error) => e);
    await new Promise((r) => setImmediate(r));
    const b = s.append(new Uint8Array([3])).catch((e: Error) => e);
    expect(await a).toBeInstanceOf(Error);
    expect(await b).toBeInstanceOf(Error);
    expect(calls).toBe(3); // the failed write, the one behind it, and taking that one back
    spy.mockRestore();
    await s.close();
    const s2 = await openLevelStore(dir);
    defer(() => s2.close());
    const { updates } = await s2.load();
    expect(updates.map((u) => [...u])).toEqual([[1]]);
  });

  it('refuses a second opener of the same directory with a clear error', async () => {
    const dir = tempDir();
    const s = await openLevelStore(dir);
    defer(() => s.close());
    const err = await openLevelStore(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreLockedError);
    expect((err as Error).message).toMatch(/in use by another gateway process/);
  });

  it('fails closed when a stored value is corrupted', async () => {
    const dir = tempDir();
    const s = await openLevelStore(dir);
    // Values large enough to be findable in the log file; distinctive bytes to flip.
    const payload = new Uint8Array(randomBytes(4096)); // incompressible, so it is findable in the table
    await s.append(payload);
    await s.append(new Uint8Array([1, 2, 3]));
    await s.close();
    // Push the data into a table file, where LevelDB keeps it as written (its log recovery would
    // silently drop a damaged record instead; see level-store.ts).
    const { ClassicLevel } = await import('classic-level');
    const raw = new ClassicLevel(dir);
    await raw.open();
    await raw.compactRange('\x00', '\xff');
    await raw.close();
    const table = readdirSync(dir).find((f) => f.endsWith('.ldb'))!;
    const bytes = readFileSync(join(dir, table));
    const at = bytes.indexOf(Buffer.from(payload.subarray(1000, 1064)));
    expect(at).toBeGreaterThan(0);
    // Flip every bit: setting a fixed value left the random byte unchanged 1 time in 256.
    bytes[at + 100] = bytes[at + 100]! ^ 0xff;
    writeFileSync(join(dir, table), bytes);
    const err = await (async () => {
      const s2 = await openLevelStore(dir);
      try {
        await s2.load();
      } finally {
        await s2.close();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as Error).message).toMatch(/corrupted.*repair/);
  });
});
