/**
 * LevelDB {@link DocStorage} (classic-level). Keys are `u!<venue>!<position, 16 hex digits>` so a
 * venue's log is one ordered range. Every write is `{sync: true}`; appends that arrive while a
 * write is in flight are group-committed into the next single synced batch, so N concurrent
 * appends cost about one fsync, not N (docs/benchmarks.md).
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { whyNotWritable, type VenueId } from '@fridgesync/shared';
import { StorageLockedError, StorageUnwritableError, type DocStorage, type StoredVenue } from './storage-port.ts';

const SEP = '!';
const PREFIX = 'u' + SEP;
/** Central-private values live under their own prefix, outside every venue's log range. */
const META = 'm' + SEP;
const posKey = (venue: string, pos: number) => `${PREFIX}${venue}${SEP}${pos.toString(16).padStart(16, '0')}`;
const venueRange = (venue: string) => ({ gt: `${PREFIX}${venue}${SEP}`, lt: `${PREFIX}${venue}${SEP}~` });

interface Pending {
  venue: string;
  value: Uint8Array;
  resolve: (position: number) => void;
  reject: (e: Error) => void;
}

/** Options of {@link createLevelStorage}. */
export interface LevelStorageOptions {
  /** Directory of the database. */
  dir: string;
  /** Called after each synced batch with the number of updates it carried (group-commit metric). */
  onBatch?: (updates: number, seconds: number) => void;
}

/** Creates a LevelDB-backed store. */
export function createLevelStorage(opts: LevelStorageOptions): DocStorage {
  const db = new ClassicLevel<string, Uint8Array>(opts.dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  /** venue → next position (known after the first load or append). */
  const next = new Map<string, number>();
  /** Appends waiting for the next batch, in call order (positions are assigned in this order). */
  let queue: Pending[] = [];
  let writing = false;
  let failed: Error | undefined;

  async function learnPosition(venue: string): Promise<void> {
    let n = 1;
    for await (const k of db.keys({ ...venueRange(venue), reverse: true, limit: 1 })) n = parseInt(k.slice(k.lastIndexOf(SEP) + 1), 16) + 1;
    if (!next.has(venue)) next.set(venue, n);
  }

  function flush(): void {
    if (writing || queue.length === 0) return;
    writing = true;
    const batch = queue;
    queue = [];
    const started = performance.now();
    const unknown = [...new Set(batch.map((p) => p.venue))].filter((v) => !next.has(v));
    Promise.all(unknown.map(learnPosition))
      .then(() => {
        const positions = batch.map((p) => {
          const n = next.get(p.venue)!;
          next.set(p.venue, n + 1);
          return n;
        });
        return db.batch(
          batch.map((p, i) => ({ type: 'put' as const, key: posKey(p.venue, positions[i]!), value: p.value })),
          { sync: true },
        ).then(() => positions);
      })
      .then(
        (positions) => {
          writing = false;
          opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
          batch.forEach((p, i) => p.resolve(positions[i]!));
          flush();
        },
        (e: Error) => {
          // A failed synced write is fatal: reject this batch and everything after it.
          failed = e;
          writing = false;
          for (const p of [...batch, ...queue]) p.reject(e);
          queue = [];
        },
      );
  }

  return {
    async open() {
      try {
        await mkdir(opts.dir, { recursive: true });
        await db.open();
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
        if (code === 'LEVEL_LOCKED') throw new StorageLockedError(opts.dir, e);
        // LevelDB writes at every open: a directory this process may not write is reported as
        // such, not as the storage error it surfaces as.
        const why = whyNotWritable(opts.dir);
        throw why === undefined ? e : new StorageUnwritableError(opts.dir, why, e);
      }
    },
    append(venue, update) {
      if (failed) return Promise.reject(failed);
      return new Promise<number>((resolve, reject) => {
        queue.push({ venue, value: update, resolve, reject });
        flush();
      });
    },
    async load(venue): Promise<StoredVenue> {
      const updates: Uint8Array[] = [];
      let position = 0;
      for await (const [k, v] of db.iterator(venueRange(venue))) {
        updates.push(v);
        position = parseInt(k.slice(k.lastIndexOf(SEP) + 1), 16);
      }
      if ((next.get(venue) ?? 0) <= position) next.set(venue, position + 1);
      return { updates, position };
    },
    async compact(venue, merged, position) {
      if (failed) throw failed;
      const ops: Array<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }> = [];
      for await (const k of db.keys({ gt: venueRange(venue).gt, lte: posKey(venue, position) })) ops.push({ type: 'del', key: k });
      ops.push({ type: 'put', key: posKey(venue, position), value: merged });
      await db.batch(ops, { sync: true });
    },
    async getMeta(name) {
      const v = await db.get(META + name);
      return v === undefined ? undefined : v;
    },
    async putMeta(name, value) {
      if (failed) throw failed;
      await db.put(META + name, value, { sync: true });
    },
    async listVenues() {
      const out: VenueId[] = [];
      let cursor = PREFIX;
      // Skip from venue to venue instead of reading every update.
      for (;;) {
        let found: string | undefined;
        for await (const k of db.keys({ gt: cursor, lt: PREFIX + '~', limit: 1 })) found = k;
        if (found === undefined) break;
        const venue = found.slice(PREFIX.length, found.lastIndexOf(SEP));
        out.push(venue as VenueId);
        cursor = `${PREFIX}${venue}${SEP}~`;
      }
      return out.sort();
    },
    async close() {
      while (writing || queue.length > 0) await new Promise((r) => setTimeout(r, 5));
      await db.close();
    },
  };
}
