/** The LevelDB event log runs the contract on disk (classic-level) and in memory (memory-level). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { createLevelEventLog, type LevelLike } from '@fridgesync/server';
import { eventLogContract } from './event-log-contract.ts';

const LIMITS = { maxGroups: 4, maxPending: 100, maxAttempts: 3 };
const KEEP = { maxAgeMs: 0, maxEvents: 0, hardMaxEvents: 1_000_000 };

eventLogContract('classic-level', async (o) => {
  const dir = await mkdtemp(join(tmpdir(), 'event-log-'));
  const open = async () => {
    const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as LevelLike;
    const log = createLevelEventLog({ db, limits: { ...LIMITS, ...o.limits }, retention: { ...KEEP, ...o.retention }, now: o.now });
    await log.open();
    return log;
  };
  let log = await open();
  return {
    log,
    async reopen() {
      await log.close();
      log = await open();
      return log;
    },
    async cleanup() {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

eventLogContract('memory-level', async (o) => {
  const db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as LevelLike;
  const log = createLevelEventLog({ db, limits: { ...LIMITS, ...o.limits }, retention: { ...KEEP, ...o.retention }, now: o.now });
  await log.open();
  return { log, cleanup: () => log.close() };
});
