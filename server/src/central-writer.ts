/**
 * Central's own writes as replica `central:<instanceId>` (docs/design.md): operator data in `cfg/…`
 * entries versioned by a hybrid logical clock, the order-taker declaration, answers to the
 * reconcilers' recalls, hold expiry and order housekeeping. Everything goes through the shared
 * operations; this file decides only *when* central writes.
 */
import type { Logger } from 'pino';
import {
  Hlc,
  answerRecalls,
  configRecord,
  declareTaker,
  expireHolds,
  takenBy,
  type HoldClock,
  keys,
  maintainOrders,
  reservedOrders,
  writeMeta,
  type ConfigRecord,
  type ConfigSection,
  type DeliveryId,
  type FridgeId,
  type MealId,
  type ReplicaId,
  type TxOrigin,
  type VenueId,
} from '@fridgesync/shared';
import type { CentralConfig } from './config-schema.ts';
import type { VenueHost } from './venue-host.ts';
import type { Metrics } from './metrics.ts';

/** Origin of central's housekeeping writes. */
export const HOUSEKEEPING: TxOrigin = { kind: 'lifecycle', peer: 'central' };
/** Origin of central's API writes. */
export const API: TxOrigin = { kind: 'api' };

/** Software version written into `meta`. */
export const CENTRAL_VERSION = '0.1.0';

/** JSON with sorted keys, to compare records regardless of key order. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

/** One config record to place in a venue document. */
export interface ConfigWrite<S extends ConfigSection = ConfigSection> {
  section: S;
  id: string;
  /** The record, or `null` to delete it. */
  record: ConfigRecord<S> | null;
}

/** The seed records of one venue document: the venue, its fridges and gateways, every meal. */
export function seedRecords(config: CentralConfig, venue: VenueId): ConfigWrite[] {
  const out: ConfigWrite[] = [];
  const v = config.registry.venues.find((x) => x.id === venue);
  if (v !== undefined) {
    out.push({ section: 'venue', id: v.id, record: { name: v.name, city: v.city, timezone: v.timezone } });
    for (const { id, ...f } of v.fridges) out.push({ section: 'fridge', id, record: { ...f, venueId: v.id } });
    for (const { id, ...g } of v.gateways) out.push({ section: 'gateway', id, record: { ...g, venueId: v.id } });
  }
  for (const { id, ...m } of config.registry.meals) out.push({ section: 'meal', id, record: m });
  return out;
}

/** Central's writer; one per process. */
export class CentralWriter {
  readonly hlc: Hlc;
  constructor(
    readonly replica: ReplicaId,
    private readonly config: CentralConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    now: () => number = Date.now,
  ) {
    this.hlc = new Hlc(replica, now);
  }

  /** Runs on each freshly loaded host: seeds config, declares the taker, answers recalls. */
  initHost(host: VenueHost): void {
    const doc = host.doc;
    for (const versions of doc.index.config.values()) for (const byReplica of versions.values()) for (const v of byReplica.values()) this.hlc.receive(v.h);
    const overwrite = this.config.registry.seedMode === 'overwrite';
    const writes = seedRecords(this.config, host.venueId).filter((c) => {
      const cur = configRecord(doc, c.section, c.id);
      return cur === undefined ? !this.everWritten(host, c) : overwrite && stableJson(cur) !== stableJson(c.record);
    });
    const now = Date.now();
    const taker = doc.index.takers.get(this.replica);
    doc.transact(HOUSEKEEPING, (w) => {
      for (const c of writes) w.set(keys.config(c.section, c.id), { h: this.hlc.tick(), v: c.record });
      if (taker?.on !== true) declareTaker(w, true, now);
      if (doc.index.meta.get(this.replica)?.v !== CENTRAL_VERSION) writeMeta(w, CENTRAL_VERSION, now);
    });
    if (writes.length > 0) this.log.info({ venueId: host.venueId, records: writes.length }, 'seeded operator data');
    this.answerRecalls(host);
    let changed = new Map<FridgeId, Set<MealId>>();
    doc.onChange((summary, origin) => {
      // Recalls arrive from gateways; answer them after the transaction, coalesced per tick, looking
      // only at the recalls that changed.
      if ((origin as TxOrigin | undefined)?.kind !== 'upstream' || summary.recalls.size === 0) return;
      const first = changed.size === 0;
      for (const [f, meals] of summary.recalls) {
        let set = changed.get(f);
        if (set === undefined) changed.set(f, (set = new Set()));
        for (const m of meals) set.add(m);
      }
      if (!first) return;
      setImmediate(() => {
        const cells = changed;
        changed = new Map();
        if (host.state === 'ready') this.answerRecalls(host, cells);
      });
    });
  }

  /** A record deleted by an admin stays deleted in `missing` seed mode. */
  private everWritten(host: VenueHost, c: ConfigWrite): boolean {
    return host.doc.index.configVersions(c.section, c.id) !== undefined;
  }

  /** Writes config records into one venue document (one transaction, one HLC tick each). */
  writeConfig(host: VenueHost, writes: ConfigWrite[]): void {
    host.doc.transact(API, (w) => {
      for (const c of writes) w.set(keys.config(c.section, c.id), { h: this.hlc.tick(), v: c.record });
    });
  }

  /** Gives back rights the reconcilers recalled from central. */
  answerRecalls(host: VenueHost, cells?: ReadonlyMap<FridgeId, ReadonlySet<MealId>>): void {
    try {
      answerRecalls(host.doc, HOUSEKEEPING, cells);
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
    const expired = expireHolds(host.doc, HOUSEKEEPING, clock, undefined, (o) => takenBy(o, self)).length;
    if (expired > 0) this.metrics.holdsExpired.inc(expired);
    maintainOrders(host.doc, HOUSEKEEPING, now, this.config.orders.retentionMs);
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
    if (old.length > 0) host.doc.transact(HOUSEKEEPING, (w) => old.forEach((id) => w.delete(keys.delivery(id as DeliveryId))));
  }

  /** True when central holds reserved orders in this document (keeps it loaded for expiry). */
  holdsOrders(host: VenueHost): boolean {
    for (const f of host.doc.index.ordersByFridge.keys()) if (reservedOrders(host.doc, f as FridgeId).some((o) => takenBy(o, this.replica))) return true;
    return false;
  }
}
