/**
 * The storage port of central: a per-venue log of Yjs updates. Implementations: LevelDB
 * (level-storage.ts, the default) and in-memory (memory-storage.ts); both run the contract suite in
 * server/test/storage/storage-contract.ts. A Redis adapter is not written yet.
 *
 * Durability: when `append` resolves, the update survives `kill -9` (LevelDB: synced write). A
 * rejected `append` means nothing is acknowledged; callers treat it as fatal
 * (docs/operations.md "Durability and recovery").
 */
import type { VenueId } from '@fridgesync/shared';

/** What `load` returns: every stored update of a venue in append order, and the log position. */
export interface StoredVenue {
  updates: Uint8Array[];
  /** Position of the last update read; pass it to `compact` to replace exactly what was read. */
  position: number;
}

/** A per-venue append-only log of Yjs updates. */
export interface DocStorage {
  /** Opens the store (creates directories). Idempotent. */
  open(): Promise<void>;
  /**
   * Appends one update durably and resolves to its log position (positions grow per venue).
   * Concurrent appends may be group-committed into one synced write.
   */
  append(venue: VenueId, update: Uint8Array): Promise<number>;
  /** Every stored update of a venue, oldest first (empty for an unknown venue). */
  load(venue: VenueId): Promise<StoredVenue>;
  /**
   * Atomically replaces the updates up to `position` (as returned by `load` or counted since) by
   * `merged`. Updates appended after `position` are kept.
   */
  compact(venue: VenueId, merged: Uint8Array, position: number): Promise<void>;
  /** A small central-private value (registry data that must not sync to gateways), or undefined. */
  getMeta(name: string): Promise<Uint8Array | undefined>;
  /** Durably replaces a central-private value. */
  putMeta(name: string, value: Uint8Array): Promise<void>;
  /** Venues with at least one stored update, sorted. */
  listVenues(): Promise<VenueId[]>;
  /** Flushes and closes. Further calls reject. */
  close(): Promise<void>;
}

/**
 * Thrown by `open` when another process holds the data directory (LevelDB's lock): a second
 * central on one store would allocate epochs from its own copy (docs/sync-protocol.md "One central
 * process per venue").
 */
export class StorageLockedError extends Error {
  override name = 'StorageLockedError';
  constructor(readonly dir: string, cause?: unknown) {
    super(`the data directory ${dir} is in use by another central process (LevelDB lock held); stop that process or use another storage.dataDir`, { cause });
  }
}

/**
 * Thrown by `open` when the data directory cannot be written (read-only file system, no
 * permission, disk full): stored data was not changed and is not known to be damaged.
 */
export class StorageUnwritableError extends Error {
  override name = 'StorageUnwritableError';
  constructor(readonly dir: string, detail: string, cause?: unknown) {
    super(
      `the data directory ${dir} is not writable: ${detail}; refusing to start. Stored data was not changed and is not known to be damaged. Make the directory writable for this user (mount it read-write, fix ownership or permissions, free space), then start again`,
      { cause },
    );
  }
}
