/**
 * Derives domain facts from the merged state of each venue document and appends them to the
 * {@link DomainEventLog} (docs/design.md "Domain event log"). A {@link DocObserver} like the read
 * model: a transaction marks the orders, fridges and deliveries it touched; paced background
 * slices fold each of them and turn the fold into the facts it implies. Facts come from folds,
 * never from one replica's writes, so every replica's view of the same state yields the same
 * facts with the same ids (fact-ids.ts); a fact derived again (after a restart, or by a second
 * fold) is skipped by the log.
 */
import {
  DirtyScheduler,
  deliveryJson,
  fridgeCells,
  fridgeView,
  foldOrder,
  observedSnapshot,
  type ChangeSummary,
  type FridgeId,
  type OrderId,
  type Slice,
} from '@fridgesync/shared';
import type { DocObserver } from '../doc-observer.ts';
import type { VenueHost } from '../venue-host.ts';
import type { DomainEventLog, DomainFact, LoggedEvent } from './event-log-port.ts';
import { factId } from './fact-ids.ts';
import { announcedDelivery } from '../delivery-announcement.ts';
import { FOLD_PACING } from '../read-model.ts';

/** Prefix of a shortage's incident key (`shortage:<fridge>/<meal>`). */
const SHORTAGE = 'shortage:';

/** Most time one background slice of deriving takes before yielding to I/O, ms. */
const SLICE_MS = 4;

/** Facts waiting for the next append, with the entities they came from and their documents. */
interface Queued {
  facts: DomainFact[];
  entities: string[];
  hosts: Set<VenueHost>;
}

type Work = { host: VenueHost } & ({ kind: 'order'; order: OrderId } | { kind: 'fridge'; fridge: FridgeId } | { kind: 'deliveries' });

/** Options of {@link FactDeriver}. */
export interface FactDeriverOptions {
  log: DomainEventLog;
  /** Observed totals of a delivery's fridge when it was announced, if central noted them (the read model). */
  deliveryBaseline?: (venue: string, deliveryId: string) => Record<string, number> | undefined;
  /** Told about every appended batch (metrics). */
  onAppended?: (events: LoggedEvent[]) => void;
  /** Told when deriving or appending fails; the deriver carries on. */
  onError: (e: unknown, venue: string | undefined) => void;
}

/** Turns folds into facts; see the file comment. */
export class FactDeriver implements DocObserver {
  private readonly work: DirtyScheduler<string, Work>;
  /**
   * Fact ids the entity's last fold implied (`order:<venue>:<id>`, …): only new ones are appended.
   * Replaced at each fold, so it holds what the current state implies (a fridge's latest snapshot,
   * not every one it ever had).
   */
  private readonly derived = new Map<string, Set<string>>();
  /**
   * Open shortage per `<venue>/<fridge>/<meal>`: the id of its `shortage.raised` fact. Loaded from
   * the log's open incidents when a venue is first loaded, so a shortage raised before a restart
   * is cleared after it.
   */
  private readonly shortages = new Map<string, string>();
  /** Venues whose open incidents are loaded; a fridge of another venue waits for its load. */
  private readonly ready = new Set<string>();
  private readonly loading = new Map<string, Promise<void>>();
  /** Set by {@link close}: nothing more is derived or appended. */
  private closed = false;
  /**
   * Per venue, the deliveries a snapshot has observed: their discrepancy is judged once, at the
   * first snapshot after the announcement (later snapshots count sales too).
   */
  private readonly judged = new Map<string, Set<string>>();
  /**
   * Facts derived while an append is in flight, with their entity keys: written together by the
   * next append (group commit: one synced write per round, however many slices ran meanwhile).
   * Bounded by the entities marked meanwhile, as the scheduler's own keys are.
   */
  private queued: Queued = { facts: [], entities: [], hosts: new Set() };
  /** The append in flight, if any (close and settle wait for it and for what is queued). */
  private writing: Promise<void> | undefined;

  constructor(private readonly o: FactDeriverOptions) {
    this.work = new DirtyScheduler<string, Work>({ sliceMs: SLICE_MS, pacing: FOLD_PACING, run: (slice) => this.run(slice) });
  }

  loaded(host: VenueHost): void {
    if (this.closed) return;
    for (const order of host.doc.index.orders.keys()) this.mark({ host, kind: 'order', order: order as OrderId });
    this.mark({ host, kind: 'deliveries' });
    const v = host.venueId;
    if (this.ready.has(v)) {
      for (const fridge of host.doc.index.fridgeIds()) this.mark({ host, kind: 'fridge', fridge });
      return;
    }
    this.loadIncidents(host);
  }

  /**
   * Reads the venue's open incidents before its fridges' facts are derived (shortages raised
   * before a restart are cleared by them). A failed read is tried again at the venue's next fridge
   * change.
   */
  private loadIncidents(host: VenueHost): void {
    const v = host.venueId;
    if (this.closed || this.ready.has(v) || this.loading.has(v)) return;
    const load = this.o.log.openIncidents(v).then(
      (open) => {
        for (const [key, id] of open) if (key.startsWith(SHORTAGE)) this.shortages.set(`${v}/${key.slice(SHORTAGE.length)}`, id);
        this.ready.add(v);
        this.loading.delete(v);
        if (this.closed) return;
        // The newest host of the venue: it may have been unloaded and loaded again meanwhile.
        if (host.state !== 'closed') for (const fridge of host.doc.index.fridgeIds()) this.mark({ host, kind: 'fridge', fridge });
      },
      (err: unknown) => {
        this.loading.delete(v);
        this.o.onError(err, v);
      },
    );
    this.loading.set(v, load);
  }

  changed(host: VenueHost, s: ChangeSummary): void {
    if (s.fridges.size > 0) this.loadIncidents(host);
    for (const order of s.orders) this.mark({ host, kind: 'order', order });
    for (const fridge of s.fridges) this.mark({ host, kind: 'fridge', fridge });
    if (s.config || s.fridges.size > 0) this.mark({ host, kind: 'deliveries' });
  }

  /** Appends a fact observed outside the documents (a gateway's link, gateway-presence.ts). */
  note(fact: DomainFact): void {
    if (!this.closed) this.append([fact]);
  }

  /** Derives what is pending now and waits until every append in flight is durable (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all(this.loading.values());
    this.work.flush();
    while (this.writing !== undefined) await this.writing;
  }

  /** Stops deriving; resolves when the appends in flight are done. */
  async close(): Promise<void> {
    this.closed = true;
    this.work.clear();
    while (this.writing !== undefined) await this.writing;
  }

  private mark(w: Work): void {
    const id = w.kind === 'order' ? w.order : w.kind === 'fridge' ? w.fridge : '';
    this.work.mark(`${w.kind}:${w.host.venueId}:${id}`, () => w);
  }

  private run(slice: Slice<string, Work>): void {
    const facts: DomainFact[] = [];
    const entities: string[] = [];
    const hosts = new Set<VenueHost>();
    for (let e = slice.next(); e !== undefined; e = slice.next()) {
      const [key, w] = e;
      if (w.host.state === 'closed') continue;
      // Marked again once the venue's open incidents are loaded (loaded()).
      if (w.kind === 'fridge' && !this.ready.has(w.host.venueId)) continue;
      // One venue's bad data must not stop the facts of the others.
      try {
        const found = w.kind === 'order' ? this.orderFacts(w.host, w.order) : w.kind === 'fridge' ? this.fridgeFacts(w.host, w.fridge) : this.deliveryFacts(w.host);
        const seen = this.derived.get(key);
        const fresh = seen === undefined ? found : found.filter((f) => !seen.has(f.id));
        if (found.length === 0) this.derived.delete(key);
        else this.derived.set(key, new Set(found.map((f) => f.id)));
        if (fresh.length === 0) continue;
        facts.push(...fresh);
        entities.push(key);
        hosts.add(w.host);
      } catch (err) {
        this.o.onError(err, w.host.venueId);
      }
    }
    if (facts.length > 0) this.append(facts, entities, hosts);
  }

  private append(facts: DomainFact[], entities: string[] = [], hosts: Iterable<VenueHost> = []): void {
    this.queued.facts.push(...facts);
    this.queued.entities.push(...entities);
    for (const h of hosts) this.queued.hosts.add(h);
    if (this.writing === undefined) this.writing = this.drain();
  }

  /** Appends what is queued, round after round, until nothing is. */
  private async drain(): Promise<void> {
    while (this.queued.facts.length > 0) {
      const { facts, entities, hosts } = this.queued;
      this.queued = { facts: [], entities: [], hosts: new Set() };
      try {
        // Facts of durable state only: a fold may run before the transaction it saw is stored, and
        // a write that then fails is never acknowledged, so its facts must not be logged either.
        await Promise.all([...hosts].map((h) => h.whenDurable()));
        const appended = await this.o.log.append(facts);
        if (appended.length > 0) this.o.onAppended?.(appended);
      } catch (err) {
        // Not durable: forget them, so the next change of these entities derives them again.
        for (const key of entities) this.derived.delete(key);
        this.o.onError(err, facts[0]?.venueId);
      }
    }
    this.writing = undefined;
  }

  /** An order implies `order.reserved` and, once settled, its terminal state (the lattice's). */
  private orderFacts(host: VenueHost, id: OrderId): DomainFact[] {
    const o = foldOrder(host.doc, id);
    if (o === undefined || o.lines === undefined) return [];
    const base = { orderId: id, fridgeId: o.fridge, lines: o.lines };
    const v = host.venueId;
    const out: DomainFact[] = [{ id: factId(v, 'order.reserved', [id]), venueId: v, fact: { kind: 'order.reserved', ...base } }];
    if (o.state !== 'reserved') {
      const kind = `order.${o.state}` as const;
      out.push({ id: factId(v, kind, [id]), venueId: v, fact: { kind, ...base } });
    }
    return out;
  }

  /** The fridge's observed snapshot, and the shortages raised or cleared since the last fold. */
  private fridgeFacts(host: VenueHost, fridge: FridgeId): DomainFact[] {
    const v = host.venueId;
    const out: DomainFact[] = [];
    const snap = observedSnapshot(host.doc, fridge);
    if (snap !== undefined) {
      out.push({ id: factId(v, 'snapshot.applied', [fridge, snap.b, snap.e, snap.q]), venueId: v, fact: { kind: 'snapshot.applied', fridgeId: fridge, boot: snap.b, era: snap.e, seq: snap.q, items: { ...snap.i } } });
    }
    const snapKey = snap === undefined ? ['none'] : [snap.b, snap.e, snap.q];
    for (const c of fridgeCells(host.doc, fridge, undefined, false)) {
      const key = `${v}/${fridge}/${c.meal}`;
      const open = this.shortages.get(key);
      if (c.shortage > 0 && open === undefined) {
        // One incident per fridge, meal and snapshot: the same incident derived again (another
        // fold, a restart) has the same id.
        const id = factId(v, 'shortage.raised', [fridge, c.meal, ...snapKey]);
        this.shortages.set(key, id);
        out.push({ id, venueId: v, fact: { kind: 'shortage.raised', fridgeId: fridge, mealId: c.meal, units: c.shortage, orders: c.affectedOrders }, incident: { key: `${SHORTAGE}${fridge}/${c.meal}`, open: true } });
      } else if (c.shortage === 0 && open !== undefined) {
        this.shortages.delete(key);
        out.push({ id: factId(v, 'shortage.cleared', [open]), venueId: v, fact: { kind: 'shortage.cleared', fridgeId: fridge, mealId: c.meal }, incident: { key: `${SHORTAGE}${fridge}/${c.meal}`, open: false } });
      }
    }
    return out;
  }

  /** Announced deliveries, and those whose fridge's snapshot shows a discrepancy. */
  private deliveryFacts(host: VenueHost): DomainFact[] {
    const v = host.venueId;
    const out: DomainFact[] = [];
    let judged = this.judged.get(v);
    if (judged === undefined) this.judged.set(v, (judged = new Set()));
    for (const [id, byReplica] of host.doc.index.deliveries) {
      const value = announcedDelivery(byReplica);
      if (value === undefined) continue;
      out.push({ id: factId(v, 'delivery.announced', [id]), venueId: v, fact: { kind: 'delivery.announced', deliveryId: id, fridgeId: value.f, items: { ...value.i } } });
      if (judged.has(id) || (observedSnapshot(host.doc, value.f as FridgeId)?.ts ?? 0) <= value.at) continue;
      judged.add(id);
      const view = deliveryJson(v, id, value, this.o.deliveryBaseline?.(v, id), fridgeView(host.doc, value.f as FridgeId));
      if (view.status !== 'observed') continue;
      const items = view.items.filter((i) => i.discrepancy !== null && i.discrepancy !== 0).map((i) => ({ mealId: i.mealId, announced: i.announced, discrepancy: i.discrepancy! }));
      if (items.length > 0) out.push({ id: factId(v, 'delivery.discrepancy', [id]), venueId: v, fact: { kind: 'delivery.discrepancy', deliveryId: id, fridgeId: value.f, items } });
    }
    // A delivery pruned from the document is judged no more: forget it (the set stays bounded).
    for (const id of judged) if (!host.doc.index.deliveries.has(id)) judged.delete(id);
    return out;
  }
}
