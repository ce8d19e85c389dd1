/**
 * Central's own writes as replica `central:<instanceId>` (docs/design.md): operator data in `cfg/…`
 * entries versioned by a hybrid logical clock, the order-taker declaration, answers to the
 * reconcilers' recalls, hold expiry and order housekeeping. Everything goes through the shared
 * operations; this file decides only *when* central writes.
 */
import type { Logger } from 'pino';
import {
  DirtyScheduler,
  Hlc,
  ORIGINS,
  answerRecalls,
  configRecord,
  declareTaker,
  expireHolds,
  takenBy,
  type ChangeSummary,
  type HoldClock,
  keys,
  maintainOrders,
  reservedOrders,
  writeMeta,
  type DeliveryId,
  type FridgeId,
  type MealId,
  type ReplicaId,
  type Slice,
  type TxOrigin,
  type VenueId,
} from '@fridgesync/shared';
import type { CentralConfig } from './config-schema.ts';
import type { VenueHost } from './venue-host.ts';
import type { Metrics } from './metrics.ts';
import type { DocObserver } from './doc-observer.ts';
import { seedRecords, type ConfigWrite } from './seed-records.ts';
import { stableJson } from './stable-json.ts';
import { CENTRAL_VERSION } from './version.ts';

/** Most time one turn spends answering recalls before yielding to I/O, ms. */
const RECALL_SLICE_MS = 4;

/** Recalls to answer in one venue: fridge → meals whose recall entries changed. */
interface RecallsDue {
  host: VenueHost;
  cells: Map<FridgeId, Set<MealId>>;
}

/** Central's writer; one per process. */
export class CentralWriter implements DocObserver {
  readonly hlc: Hlc;
  /** Venues whose recalls changed, answered after the transaction that brought them, coalesced. */
  private readonly recalls: DirtyScheduler<VenueId, RecallsDue>;
  constructor(
    readonly replica: ReplicaId,
    private readonly config: CentralConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    now: () => number = Date.now,
  ) {
    this.hlc = new Hlc(replica, now);
    this.recalls = new DirtyScheduler<VenueId, RecallsDue>({ sliceMs: RECALL_SLICE_MS, run: (slice) => this.runRecalls(slice) });
  }

  /** A freshly loaded host: seeds config, declares the taker, answers recalls. */
  loaded(host: VenueHost): void {
    const doc = host.doc;
    for (const versions of doc.index.config.values()) for (const byReplica of versions.values()) for (const v of byReplica.values()) this.hlc.receive(v.h);
    const overwrite = this.config.registry.seedMode === 'overwrite';
    const writes = seedRecords(this.config, host.venueId).filter((c) => {
      const cur = configRecord(doc, c.section, c.id);
      return cur === undefined ? !this.everWritten(host, c) : overwrite && stableJson(cur) !== stableJson(c.record);
    });
    const now = Date.now();
    const taker = doc.index.takers.get(this.replica);
    doc.transact(ORIGINS.lifecycle, (w) => {
      for (const c of writes) w.set(keys.config(c.section, c.id), { h: this.hlc.tick(), v: c.record });
      if (taker?.on !== true) declareTaker(w, true, now);
      if (doc.index.meta.get(this.replica)?.v !== CENTRAL_VERSION) writeMeta(w, CENTRAL_VERSION, now);
    });
    if (writes.length > 0) this.log.info({ venueId: host.venueId, records: writes.length }, 'seeded operator data');
    this.answerRecalls(host);
  }

  /** Recalls arrive from gateways: notes the cells whose recalls changed, to answer after the transaction. */
  changed(host: VenueHost, change: ChangeSummary, origin: TxOrigin | undefined): void {
    if (origin?.kind !== 'upstream' || change.recalls.size === 0) return;
    this.recalls.mark(host.venueId, (due) => {
      const cells = due?.cells ?? new Map<FridgeId, Set<MealId>>();
      for (const [f, meals] of change.recalls) {
        let set = cells.get(f);
        if (set === undefined) cells.set(f, (set = new Set()));
        for (const m of meals) set.add(m);
      }
      return { host, cells };
    });
  }

  /** Answers the recalls of one slice of venues, looking only at the cells whose recalls changed. */
  private runRecalls(slice: Slice<VenueId, RecallsDue>): void {
    for (let e = slice.next(); e !== undefined; e = slice.next()) {
      const { host, cells } = e[1];
      if (host.state === 'ready') this.answerRecalls(host, cells);
    }
  }

  /** A record deleted by an admin stays deleted in `missing` seed mode. */
  private everWritten(host: VenueHost, c: ConfigWrite): boolean {
    return host.doc.index.configVersions(c.section, c.id) !== undefined;
  }

  /** Writes config records into one venue document (one transaction, one HLC tick each). */
  writeConfig(host: VenueHost, writes: ConfigWrite[]): void {
    host.doc.transact(ORIGINS.api, (w) => {
      for (const c of writes) w.set(keys.config(c.section, c.id), { h: this.hlc.tick(), v: c.record });
    });
  }

  /** Gives back rights the reconcilers recalled from central. */
  answerRecalls(host: VenueHost, cells?: ReadonlyMap<FridgeId, ReadonlySet<MealId>>): void {
    try {
      answerRecalls(host.doc, ORIGINS.lifecycle, cells);
    } catch (e) {
      this.log.error({ err: e, venueId: host.venueId }, 'answering recalls failed');
    }
  }

  /**
   * Expires due holds of orders central took (by central's clock: the holds were written in it;
   * central processes of one deployment share an NTP-disciplined clock, so another central's hold
   * is judged by this one, see docs/operations.md "Clock skew"); prunes settled orders and
   * deliveries past retention.
   */
  sweepOrders(host: VenueHost, now = Date.now()): number {
    const self = this.replica;
    const clock: HoldClock = { now, offsetOf: (taker) => (taker.startsWith('central:') ? 0 : undefined) };
    const expired = expireHolds(host.doc, ORIGINS.lifecycle, clock, undefined, (o) => takenBy(o, self)).length;
    if (expired > 0) this.metrics.holdsExpired.inc(expired);
    maintainOrders(host.doc, ORIGINS.lifecycle, now, this.config.orders.retentionMs);
    this.pruneDeliveries(host, now);
    return expired;
  }

  /** Deletes central's delivery announcements older than the retention (the document stays bounded). */
  private pruneDeliveries(host: VenueHost, now: number): void {
    const old: string[] = [];
    for (const [id, byReplica] of host.doc.index.deliveries) {
      const v = byReplica.get(this.replica);
      if (v !== undefined && v.at + this.config.orders.retentionMs <= now) old.push(id);
    }
    if (old.length > 0) host.doc.transact(ORIGINS.lifecycle, (w) => old.forEach((id) => w.delete(keys.delivery(id as DeliveryId))));
  }

  /** True when central holds reserved orders in this document (keeps it loaded for expiry). */
  holdsOrders(host: VenueHost): boolean {
    for (const f of host.doc.index.ordersByFridge.keys()) if (reservedOrders(host.doc, f as FridgeId).some((o) => takenBy(o, this.replica))) return true;
    return false;
  }
}
