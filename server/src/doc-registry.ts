/**
 * The one owner of venue document lifecycles. Each
 * venue is in exactly one state: absent → `loading` → ready (a {@link VenueHost}) → unloading →
 * absent; or `loading` → failed → absent. A document is handed out only once its stored state is
 * loaded. A failed load writes nothing: no empty document ever reaches storage, and the next
 * `acquire` tries again (an empty document stored after a failed load would overwrite the venue).
 */
import * as Y from 'yjs';
import type { Logger } from 'pino';
import { ORIGINS, VenueDoc, FridgesyncError, isTxOrigin, type ReplicaId, type VenueId } from '@fridgesync/shared';
import type { DocStorage } from './storage/storage-port.ts';
import { VenueHost } from './venue-host.ts';
import type { Metrics } from './metrics.ts';
import type { DocObserver } from './doc-observer.ts';

/** Options of {@link DocRegistry}. */
export interface DocRegistryOptions {
  storage: DocStorage;
  replica: ReplicaId;
  compactEvery: number;
  idleUnloadMs: number;
  log: Logger;
  metrics: Metrics;
  onStorageFailure: (e: Error) => void;
  /** Extra condition that keeps an idle host loaded (e.g. central holds reserved orders in it). */
  keepLoaded?: (host: VenueHost) => boolean;
}

type Slot = { state: 'loading'; promise: Promise<VenueHost> } | { state: 'ready'; host: VenueHost } | { state: 'unloading'; promise: Promise<void> };

/** Loads, hands out, unloads and closes venue documents. */
export class DocRegistry {
  private readonly slots = new Map<string, Slot>();
  private readonly observers: DocObserver[] = [];
  private closed = false;

  constructor(private readonly opts: DocRegistryOptions) {}

  /** Adds an observer of the documents loaded from now on (see {@link DocObserver}). */
  observe(observer: DocObserver): void {
    this.observers.push(observer);
  }

  /** The host if it is loaded and ready, without loading. */
  peek(venue: VenueId): VenueHost | undefined {
    const s = this.slots.get(venue);
    return s?.state === 'ready' ? s.host : undefined;
  }

  /** Loaded hosts. */
  hosts(): VenueHost[] {
    return [...this.slots.values()].flatMap((s) => (s.state === 'ready' ? [s.host] : []));
  }

  /** The ready host of a venue, loading it from storage first if needed. Rejects with NOT_READY on load failure. */
  async acquire(venue: VenueId): Promise<VenueHost> {
    for (;;) {
      if (this.closed) throw new FridgesyncError('NOT_READY', 'central is shutting down');
      const s = this.slots.get(venue);
      if (s === undefined) break;
      if (s.state === 'ready') {
        s.host.lastActivity = Date.now();
        return s.host;
      }
      if (s.state === 'loading') return s.promise;
      await s.promise; // unloading: wait, then load again
    }
    const promise = this.load(venue);
    this.slots.set(venue, { state: 'loading', promise });
    try {
      const host = await promise;
      this.slots.set(venue, { state: 'ready', host });
      this.opts.metrics.docsLoaded.set(this.hosts().length);
      return host;
    } catch (e) {
      this.slots.delete(venue);
      throw e;
    }
  }

  private async load(venue: VenueId): Promise<VenueHost> {
    const log = this.opts.log.child({ venueId: venue });
    let stored;
    let doc: VenueDoc;
    try {
      stored = await this.opts.storage.load(venue);
      doc = new VenueDoc({ replica: this.opts.replica });
      // Applied as one merged update; its origin keeps it out of persistence.
      if (stored.updates.length > 0) doc.applyUpdate(stored.updates.length === 1 ? stored.updates[0]! : Y.mergeUpdates(stored.updates), ORIGINS.storageLoad);
      // Structs whose dependencies are missing would mean a damaged log: refuse to serve it.
      if (doc.ydoc.store.pendingStructs !== null || doc.ydoc.store.pendingDs !== null) throw new Error('stored log has missing dependencies');
    } catch (e) {
      this.opts.metrics.docLoads.inc({ result: 'failed' });
      log.error({ err: e }, 'loading the venue document failed; nothing is served or written');
      throw new FridgesyncError('NOT_READY', `venue ${venue} could not be loaded`, e);
    }
    const host = new VenueHost({
      venueId: venue,
      doc,
      storage: this.opts.storage,
      position: stored.position,
      logLength: stored.updates.length,
      compactEvery: this.opts.compactEvery,
      log,
      metrics: this.opts.metrics,
      onStorageFailure: this.opts.onStorageFailure,
    });
    const observers = [...this.observers];
    for (const o of observers) o.loaded?.(host);
    // Subscribed after every `loaded` hook ran: the observers built from the state they wrote.
    doc.onChange((change, origin) => {
      const typed = isTxOrigin(origin) ? origin : undefined;
      for (const o of observers) {
        // One observer's failure must not keep the others from hearing the change.
        try {
          o.changed?.(host, change, typed);
        } catch (e) {
          log.error({ err: e }, 'a document observer failed');
        }
      }
    });
    this.opts.metrics.docLoads.inc({ result: 'ok' });
    log.debug({ updates: stored.updates.length }, 'venue document loaded');
    return host;
  }

  /** Unloads hosts without peers or pending writes that were idle for `idleUnloadMs`. */
  async sweepIdle(now = Date.now()): Promise<number> {
    let n = 0;
    for (const host of this.hosts()) {
      if (host.peers.size > 0 || host.pending > 0 || now - host.lastActivity < this.opts.idleUnloadMs) continue;
      if (this.opts.keepLoaded?.(host)) continue;
      await this.unload(host.venueId);
      n++;
    }
    return n;
  }

  /** Flushes and unloads one venue. */
  async unload(venue: VenueId): Promise<void> {
    const s = this.slots.get(venue);
    if (s?.state !== 'ready') return;
    const host = s.host;
    host.state = 'unloading';
    const promise = host.whenDurable().then(() => {
      host.detach();
      host.doc.ydoc.destroy();
    });
    this.slots.set(venue, { state: 'unloading', promise });
    try {
      await promise;
    } finally {
      this.slots.delete(venue);
      this.opts.metrics.docsLoaded.set(this.hosts().length);
    }
  }

  /** Waits for pending writes of every host and detaches them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.slots.values()]) if (s.state !== 'ready') await s.promise.catch(() => undefined);
    for (const host of this.hosts()) {
      await host.whenDurable().catch(() => undefined);
      host.detach();
    }
    this.slots.clear();
  }
}
