/**
 * The LevelDB implementation of {@link ReplicaStore} (classic-level). Not y-leveldb: it swallows
 * write errors and never syncs, so acknowledged data could vanish on power loss.
 *
 * Layout (utf8 keys, binary values):
 * - `meta`            JSON {@link StoreMeta}
 * - `state`           the compacted Yjs state
 * - `u/<seq, 16 hex>` one appended Yjs update
 * - `i/<id, 16 hex>`  one intake record (acknowledged, not yet in the document; cleared out of order)
 * Every value carries a CRC-32 prefix; a mismatch on load fails closed ({@link StoreCorruptError}).
 * LevelDB's own LOCK file keeps a second process out; its error becomes {@link StoreLockedError}.
 */
import { crc32 } from 'node:zlib';
import { mkdirSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { crashPoint, crashPointArmed, whyNotWritable } from '@fridgesync/shared';
import { GroupCommit } from './group-commit.ts';
import {
  StoreCorruptError,
  StoreFailedError,
  StoreLockedError,
  StoreReadOnlyError,
  type IntakeRecord,
  type ReplicaStore,
  type StoreMeta,
  type StoredState,
  type StoreSize,
} from './replica-store.ts';

const META = 'meta';
const STATE = 'state';
const UPDATE_PREFIX = 'u/';
const INTAKE_PREFIX = 'i/';
const seqKey = (seq: number) => UPDATE_PREFIX + seq.toString(16).padStart(16, '0');
const intakeKey = (id: number) => INTAKE_PREFIX + id.toString(16).padStart(16, '0');

/** CRC-32 (4 bytes, big endian) followed by the payload. */
function seal(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 4);
  new DataView(out.buffer).setUint32(0, crc32(payload) >>> 0);
  out.set(payload, 4);
  return out;
}

function unseal(dir: string, key: string, value: Uint8Array): Uint8Array {
  if (value.length < 4) throw new StoreCorruptError(dir, `value of ${key} is truncated`);
  const payload = value.subarray(4);
  const want = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
  if ((crc32(payload) >>> 0) !== want) throw new StoreCorruptError(dir, `checksum mismatch in ${key}`);
  return payload;
}

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** Options of {@link openLevelStore}. */
export interface LevelStoreOptions {
  /** Most appends per synced batch (group commit). Default 512. */
  maxBatch?: number;
}

/** Opens (creating if needed) the store in `dir`. Throws {@link StoreLockedError} or {@link StoreCorruptError}. */
export async function openLevelStore(dir: string, opts: LevelStoreOptions = {}): Promise<ReplicaStore> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const why = whyNotWritable(dir);
    throw why === undefined ? e : new StoreReadOnlyError(dir, why, e);
  }
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open();
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
    if (code === 'LEVEL_LOCKED') throw new StoreLockedError(dir, e);
    // LevelDB writes at every open; a directory it may not write is not a damaged store.
    const why = whyNotWritable(dir);
    if (why !== undefined) throw new StoreReadOnlyError(dir, why, e);
    if (code === 'LEVEL_CORRUPTION') throw new StoreCorruptError(dir, 'LevelDB reports corruption', e);
    throw new StoreCorruptError(dir, `cannot open LevelDB: ${(e as Error).message}`, e);
  }
  const store = new LevelStore(dir, db, opts.maxBatch ?? 512);
  try {
    await store.scan();
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e instanceof StoreCorruptError ? e : new StoreCorruptError(dir, (e as Error).message, e);
  }
  return store;
}

/**
 * Synced batches of appends handed to LevelDB at once. With two, LevelDB starts the next fsync as
 * soon as the previous one ends (it queues writers and syncs each group in order) instead of after
 * this event loop has seen the completion, which under load is a long turn later. GroupCommit
 * reports batches in order and fails every batch after a failed one; a later batch whose own write
 * succeeded is deleted again (a failed fsync makes LevelDB fail every later write by itself; a
 * failed log append does not).
 */
const PIPELINE_DEPTH = 2;

class LevelStore implements ReplicaStore {
  private nextSeq = 0;
  private nextIntake = 0;
  private intake = 0;
  private updates = 0;
  private bytes = 0;
  private stateBytes = 0;
  private closed = false;
  private writes = 0;
  private readonly commit: GroupCommit<Op[]>;

  constructor(
    private readonly dir: string,
    private readonly db: ClassicLevel<string, Uint8Array>,
    maxBatch: number,
  ) {
    this.commit = new GroupCommit<Op[]>(
      async (groups) => {
        try {
          const written = this.db.batch(groups.flat(), { sync: true });
          // The compaction's one batch (new state, old updates deleted) in LevelDB's hands, not yet
          // synced: it must land whole or not at all (docs/reliability.md "Process faults").
          if (crashPointArmed('mid-compaction') && groups.some((ops) => ops.some((op) => op.key === STATE))) crashPoint('mid-compaction');
          await written;
          this.writes++;
        } catch (e) {
          throw new StoreFailedError(e);
        }
      },
      maxBatch,
      {
        depth: PIPELINE_DEPTH,
        // Only appends and intake records overlap; compaction and meta are written alone.
        exclusive: (ops) => ops.some((op) => (op.type !== 'put' || !op.key.startsWith(UPDATE_PREFIX)) && !op.key.startsWith(INTAKE_PREFIX)),
        // Appends written after a failed batch are never acknowledged; left on disk they would
        // leave a gap in the update sequence, which load() must treat as damage.
        abandon: (groups) => this.db.batch(groups.flat().map((op) => ({ type: 'del' as const, key: op.key })), { sync: true }),
      },
    );
  }

  /** Reads the key range once at open to learn the next sequence number and the size. */
  async scan(): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: UPDATE_PREFIX, lt: UPDATE_PREFIX + '~' })) {
      this.nextSeq = Number.parseInt(key.slice(UPDATE_PREFIX.length), 16) + 1;
      this.updates++;
      this.bytes += value.length;
    }
    for await (const key of this.db.keys({ gte: INTAKE_PREFIX, lt: INTAKE_PREFIX + '~' })) {
      this.nextIntake = Number.parseInt(key.slice(INTAKE_PREFIX.length), 16) + 1;
      this.intake++;
    }
    const state = await this.db.get(STATE);
    this.stateBytes = state?.length ?? 0;
  }

  async load(): Promise<StoredState> {
    try {
      return await this.read();
    } catch (e) {
      throw e instanceof StoreCorruptError ? e : new StoreCorruptError(this.dir, `cannot read: ${(e as Error).message}`, e);
    }
  }

  private async read(): Promise<StoredState> {
    const updates: Uint8Array[] = [];
    const state = await this.db.get(STATE);
    if (state !== undefined) updates.push(unseal(this.dir, STATE, state));
    let expected: number | undefined;
    for await (const [key, value] of this.db.iterator({ gte: UPDATE_PREFIX, lt: UPDATE_PREFIX + '~' })) {
      // Sequence numbers are contiguous since the last compaction; a gap means LevelDB dropped a
      // damaged record while recovering its log.
      const seq = Number.parseInt(key.slice(UPDATE_PREFIX.length), 16);
      if (expected !== undefined && seq !== expected) throw new StoreCorruptError(this.dir, `updates ${expected.toString(16)}..${(seq - 1).toString(16)} are missing`);
      expected = seq + 1;
      updates.push(unseal(this.dir, key, value));
    }
    const raw = await this.db.get(META);
    let meta: StoreMeta | undefined;
    if (raw !== undefined) {
      try {
        meta = JSON.parse(new TextDecoder().decode(unseal(this.dir, META, raw))) as StoreMeta;
      } catch (e) {
        if (e instanceof StoreCorruptError) throw e;
        throw new StoreCorruptError(this.dir, 'meta is not JSON', e);
      }
    }
    const intake: IntakeRecord[] = [];
    for await (const [key, value] of this.db.iterator({ gte: INTAKE_PREFIX, lt: INTAKE_PREFIX + '~' })) {
      intake.push({ id: Number.parseInt(key.slice(INTAKE_PREFIX.length), 16), record: unseal(this.dir, key, value) });
    }
    return { updates, meta, intake };
  }

  append(update: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    const value = seal(update);
    this.updates++;
    this.bytes += value.length;
    return this.commit.add([{ type: 'put', key: seqKey(this.nextSeq++), value }]);
  }

  appendIntake(record: Uint8Array): { id: number; durable: Promise<void> } {
    if (this.closed) return { id: -1, durable: Promise.reject(new StoreFailedError(new Error('store closed'))) };
    const id = this.nextIntake++;
    this.intake++;
    return { id, durable: this.commit.add([{ type: 'put', key: intakeKey(id), value: seal(record) }]) };
  }

  clearIntake(ids: readonly number[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    this.intake -= ids.length;
    return this.commit.add(ids.map((id) => ({ type: 'del', key: intakeKey(id) })));
  }

  compact(state: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    // Every update appended before this call has a sequence below `upTo` and is in `state`.
    const upTo = this.nextSeq;
    const value = seal(state);
    const ops: Op[] = [{ type: 'put', key: STATE, value }];
    for (let s = upTo - this.updates; s < upTo; s++) if (s >= 0) ops.push({ type: 'del', key: seqKey(s) });
    this.updates = 0;
    this.bytes = 0;
    this.stateBytes = value.length;
    return this.commit.add(ops);
  }

  writeMeta(meta: StoreMeta): Promise<void> {
    if (this.closed) return Promise.reject(new StoreFailedError(new Error('store closed')));
    return this.commit.add([{ type: 'put', key: META, value: seal(new TextEncoder().encode(JSON.stringify(meta))) }]);
  }

  size(): StoreSize {
    return { updates: this.updates, bytes: this.bytes + this.stateBytes, intake: this.intake };
  }

  pending(): number {
    return this.commit.pending;
  }

  syncedWrites(): number {
    return this.writes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commit.idle();
    this.commit.stop(new StoreFailedError(new Error('store closed')));
    await this.db.close();
  }
}
