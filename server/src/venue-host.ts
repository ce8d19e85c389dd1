/**
 * One loaded venue document and what hangs off it: persistence of every local and accepted update
 * (durable before acknowledged), relay to the venue's sync peers, compaction of the stored log.
 * Hosts are created only by the {@link DocRegistry}, which owns their lifecycle; a host exists only
 * after its stored state was loaded.
 */
import * as Y from 'yjs';
import type { Logger } from 'pino';
import { FridgesyncError, encodeUpdate, isOrigin, type CloseCodeName, type ReplicaId, type TxOrigin, type VenueDoc, type VenueId } from '@fridgesync/shared';
import type { DocStorage } from './storage/storage-port.ts';
import type { Metrics } from './metrics.ts';

/** A sync connection as the host sees it. */
export interface SyncPeer {
  /** Connection id, used as the `peer` of the transaction origin of its updates. */
  readonly id: string;
  /** Sends one encoded message (already encoded once for all receivers). */
  send(message: Uint8Array): void;
  /** Called once an update this peer sent is durable, with the state vector after it. */
  durable(stateVector: Uint8Array): void;
  /** Closes the connection with a named close code. */
  close(name: CloseCodeName, reason: string): void;
}

/** Explicit lifecycle state of a host (the registry also knows `loading` and `failed`). */
export type HostState = 'ready' | 'unloading' | 'closed';

/** Origin of updates received from a sync peer. */
export function peerOrigin(peerId: string): TxOrigin {
  return { kind: 'upstream', peer: peerId };
}

/** Options of a {@link VenueHost}. */
export interface VenueHostOptions {
  venueId: VenueId;
  doc: VenueDoc;
  storage: DocStorage;
  /** Log position after load. */
  position: number;
  /** Updates in the stored log after load. */
  logLength: number;
  compactEvery: number;
  log: Logger;
  metrics: Metrics;
  /** Called when a synced write fails: the process must stop acknowledging (fatal). */
  onStorageFailure: (e: Error) => void;
}

/** A loaded venue document with persistence and relay. */
export class VenueHost {
  readonly venueId: VenueId;
  readonly doc: VenueDoc;
  state: HostState = 'ready';
  /** All sync peers of this venue. */
  readonly peers = new Map<string, SyncPeer>();
  /** Writer replicas with a live connection → connection id (one per replica; DUPLICATE_REPLICA). */
  readonly replicaPeers = new Map<ReplicaId, string>();
  /** Last activity (ms), for idle unloading. */
  lastActivity = Date.now();
  /** Updates handed to storage and not yet durable. */
  pending = 0;
  /** Updates handed to storage since load (grows synchronously inside the transaction). */
  appendSeq = 0;
  /** Per-peer updates not yet durable (for the gateway view). */
  readonly pendingByPeer = new Map<string, number>();
  private position: number;
  private logLength: number;
  private durableTail: Promise<unknown> = Promise.resolve();
  private compacting = false;
  private failed = false;
  private readonly opts: VenueHostOptions;
  private readonly onUpdate: (update: Uint8Array, origin: unknown) => void;

  constructor(opts: VenueHostOptions) {
    this.opts = opts;
    this.venueId = opts.venueId;
    this.doc = opts.doc;
    this.position = opts.position;
    this.logLength = opts.logLength;
    this.onUpdate = (update, origin) => this.persist(update, origin);
    this.doc.ydoc.on('update', this.onUpdate);
  }

  /** Resolves when every update handed to storage so far is durable. */
  whenDurable(): Promise<void> {
    return this.durableTail.then(
      () => undefined,
      (e: unknown) => {
        throw new FridgesyncError('STORAGE_FAILED', undefined, e);
      },
    );
  }

  /**
   * Persists one update, then acknowledges it to the peer it came from, then relays it to every
   * other peer (docs/sync-protocol.md step 6). The relay message is encoded once for all receivers.
   */
  private persist(update: Uint8Array, origin: unknown): void {
    if (isOrigin(origin, 'storage-load') || this.failed) return;
    this.lastActivity = Date.now();
    const from = isOrigin(origin, 'upstream') ? origin.peer : undefined;
    const sv = Y.encodeStateVector(this.doc.ydoc);
    this.pending++;
    this.appendSeq++;
    if (from !== undefined) this.pendingByPeer.set(from, (this.pendingByPeer.get(from) ?? 0) + 1);
    const started = performance.now();
    const done = this.opts.storage.append(this.venueId, update).then((pos) => {
      this.pending--;
      if (from !== undefined) this.pendingByPeer.set(from, Math.max(0, (this.pendingByPeer.get(from) ?? 1) - 1));
      this.position = Math.max(this.position, pos);
      this.logLength++;
      this.opts.metrics.storageAppendSeconds.observe((performance.now() - started) / 1000);
      this.opts.metrics.storageAppendedBytes.inc(update.byteLength);
      try {
        if (from !== undefined) this.peers.get(from)?.durable(sv);
        const message = encodeUpdate(update);
        for (const [id, peer] of this.peers) if (id !== from) peer.send(message);
        this.maybeCompact();
      } catch (e) {
        this.opts.log.error({ err: e, venueId: this.venueId }, 'relay failed');
      }
    });
    done.catch((e: Error) => {
      this.pending--;
      if (!this.failed) {
        this.failed = true;
        this.opts.log.fatal({ err: e, venueId: this.venueId }, 'synced write failed; no further acknowledgements');
        this.opts.onStorageFailure(e);
      }
    });
    // Once a write failed the tail stays rejected: nothing after it is ever acknowledged.
    this.durableTail = done;
  }

  /**
   * Merges the stored log into one update once it is long. Appends still in flight may already be
   * inside the merged state; that only stores them twice (applying an update again is a no-op), and
   * their own log entries sit after `position`, so they are kept.
   */
  private maybeCompact(): void {
    if (this.compacting || this.logLength < this.opts.compactEvery) return;
    this.compacting = true;
    const merged = Y.encodeStateAsUpdate(this.doc.ydoc);
    const position = this.position;
    const countAtStart = this.logLength;
    this.opts.storage.compact(this.venueId, merged, position).then(
      () => {
        // The merged update replaces what was counted at the start; later appends stay.
        this.logLength = this.logLength - countAtStart + 1;
        this.compacting = false;
        this.opts.metrics.storageCompactions.inc();
      },
      (e: Error) => {
        this.compacting = false;
        this.opts.log.error({ err: e, venueId: this.venueId }, 'compaction failed; the log stays as it is');
      },
    );
  }

  /** Stops persisting and relaying; the registry calls this when unloading or closing. */
  detach(): void {
    this.doc.ydoc.off('update', this.onUpdate);
    this.state = 'closed';
  }
}
