/**
 * The storage port of the local replica: an append-only log of Yjs updates plus a compacted state,
 * a small metadata record (epoch and lifecycle) and an intake log of acknowledged fridge messages
 * not yet written into the document, behind one interface with two implementations
 * (LevelDB in level-store.ts, in-memory in memory-store.ts) that run the same contract suite
 * (test/helpers/replica-store-contract.ts).
 *
 * The promise of `append`: when it resolves, the update survives `kill -9` and power loss (synced
 * write). Concurrent appends may share one synced write (group commit). A failed write is fatal:
 * the store refuses every later write, so nothing is acknowledged after a lost fsync.
 */
import { FridgesyncError, errorBody, type ErrorBody } from '@fridgesync/shared';

/** Where this store's replica is in its life (docs/design.md "Replica lifecycle"). */
export interface StoreMeta {
  /** The gateway that owns this store; a store is never reused by another gateway or venue. */
  gatewayId: string;
  venueId: string;
  /** The epoch of the replica writing from this store, once taken (after the first full sync). */
  epoch?: number;
  /**
   * `joining`: new, restored or repaired; must sync fully and take a new epoch before writing.
   * `active`: the replica `gw:<gatewayId>:<epoch>` writes. `retired`: that replica retired itself;
   * the next start takes a new epoch.
   */
  state: 'joining' | 'active' | 'retired';
  /**
   * Yjs client ids processes on this store wrote with under the current epoch, recorded before
   * each writes. A write of the replica by any other client means the store is not the replica's
   * only copy (restored from a backup, or cloned): it then rejoins under a new epoch.
   */
  clients?: number[];
  /**
   * Set while the store is rebuilt from central (local-replica.ts `rebuild`): the stored document
   * is given up (load ignores it), and `entries` — what the given-up replica acknowledged and
   * central lacked — are written again once the new epoch is taken.
   */
  rebuild?: { reason: 'lost-writes' | 'foreign-writes' | 'refused'; from: string; at: number; entries: Array<[string, unknown]> };
  /** When the meta was last written (ms since the epoch). */
  updatedAt: number;
}

/** What a store holds, in load order: the compacted state first, then the updates appended after it. */
export interface StoredState {
  updates: Uint8Array[];
  meta: StoreMeta | undefined;
  /** The intake records not cleared yet, in the order they were appended. */
  intake: IntakeRecord[];
}

/** One record of the intake log (see {@link ReplicaStore.appendIntake}). */
export interface IntakeRecord {
  id: number;
  record: Uint8Array;
}

/** Size of the store. */
export interface StoreSize {
  /** Updates appended since the last compaction. */
  updates: number;
  /** Bytes of the compacted state plus the appended updates. */
  bytes: number;
  /**
   * Intake records appended and not yet asked to be cleared. A clear counts at once, before its
   * write is durable; {@link ReplicaStore.pending} counts that write until it is.
   */
  intake: number;
}

/** The storage port. */
export interface ReplicaStore {
  /** Reads everything (compacted state, then appended updates in order) and the meta. */
  load(): Promise<StoredState>;
  /** Appends one update durably (resolves after a synced write, possibly shared with others). */
  append(update: Uint8Array): Promise<void>;
  /**
   * Replaces the compacted state and every update appended *before this call* by `state`, which
   * must contain them all (the caller encodes it synchronously before calling). Durable on resolve.
   */
  compact(state: Uint8Array): Promise<void>;
  /**
   * Appends a record to the intake log: a message acknowledged before its effect is written into
   * the document (snapshot intake, see snapshot-intake.ts). Returns the record's id at once and `durable`,
   * which resolves after the synced write (shared with appends by group commit, in order with
   * them). Compaction leaves intake records alone; `load` returns them until they are cleared.
   */
  appendIntake(record: Uint8Array): { id: number; durable: Promise<void> };
  /** Removes intake records whose effect is durable in the document. Durable on resolve. */
  clearIntake(ids: readonly number[]): Promise<void>;
  /** Writes the meta durably. */
  writeMeta(meta: StoreMeta): Promise<void>;
  /** Current size. */
  size(): StoreSize;
  /** Writes accepted but not yet durable: appends, intake records and their clears, compaction, meta (for /status). */
  pending(): number;
  /** Synced writes (fsyncs) made so far; with group commit far fewer than appends under load. */
  syncedWrites(): number;
  /** Flushes pending appends, then releases the store (and its lock). Idempotent. */
  close(): Promise<void>;
}

/** Thrown when another process holds the data directory. */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
  constructor(readonly dir: string, cause?: unknown) {
    super(`the data directory ${dir} is in use by another gateway process (LevelDB lock held); stop that process or use another storage.dataDir`, { cause });
  }
}

/** Thrown when stored data fails its checksum or cannot be read: the store fails closed. */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
  constructor(readonly dir: string, detail: string, cause?: unknown) {
    super(`the local store in ${dir} is corrupted (${detail}); refusing to start. Run \`fridgesync gateway repair --config …\` to rebuild it from central under a new epoch`, { cause });
  }
}

/**
 * Thrown when the data directory cannot be written (read-only file system, no permission, disk
 * full). The store was not changed and need not be damaged: `repair` would discard writes central
 * has not received yet, so the message sends the operator to the directory instead.
 */
export class StoreReadOnlyError extends Error {
  override name = 'StoreReadOnlyError';
  constructor(readonly dir: string, detail: string, cause?: unknown) {
    super(
      `the data directory ${dir} is not writable: ${detail}; refusing to start. The store was not changed and is not known to be damaged: do not run repair. Make the directory writable for this user (mount it read-write, fix ownership or permissions, free space), then start again`,
      { cause },
    );
  }
}

/**
 * Thrown by every write after a synced write failed (fatal: stop acknowledging). A request that
 * meets it answers `503 STORAGE_FAILED` with the catalog's message; the cause goes to the log only.
 */
export class StoreFailedError extends FridgesyncError {
  override name = 'StoreFailedError';
  constructor(cause: unknown) {
    super('STORAGE_FAILED', `a synced write to the local store failed; nothing more is acknowledged: ${(cause as Error)?.message ?? String(cause)}`, cause);
    this.cause = cause;
  }
  override toBody(): ErrorBody {
    return errorBody('STORAGE_FAILED');
  }
}
