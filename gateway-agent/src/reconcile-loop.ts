/**
 * Runs the shared reconciler for the fridges this gateway's replica reconciles (docs/design.md "Reconciliation", "Rights placement"):
 * after every change that touches a fridge (new snapshot, pickup, order created or settled,
 * rights requested, config), debounced per fridge and run in time-bounded slices by the shared
 * scheduler (docs/design.md "Scheduling work after changes"), and on a sweep timer that expires
 * holds and housekeeps orders. `reconcileFridges` skips, writing nothing, every fridge whose reconciler is not
 * this replica, so an HA standby (not assigned) only ingests. Recalls of rights
 * addressed to this replica as a taker are answered on every pass. A fridge configured to this
 * gateway that another replica reconciles by the fold is reported (see {@link ReconcileLoop.lost}).
 */
import type { Logger } from 'pino';
import {
  DirtyScheduler,
  ORIGINS,
  answerRecalls,
  configIds,
  configRecord,
  currentReconciler,
  isOrigin,
  expireHolds,
  maintainOrders,
  reconcileFridges,
  takenBy,
  type FridgeId,
  type RecallBackoff,
  type ReconcileReport,
  type ReplicaId,
  type RightsPolicy,
  type Slice,
  type TakerClocks,
} from '@fridgesync/shared';
import type { LocalReplica } from './local-replica.ts';
import type { AgentMetrics } from './metrics.ts';

/**
 * Most time one turn spends on reconciliation passes before yielding to I/O. A pass of a fridge
 * with a dozen meals takes well under a millisecond, so a slice holds several fridges.
 */
const PASS_SLICE_MS = 3;

/** Options of {@link ReconcileLoop}. */
export interface ReconcileLoopOptions {
  replica: LocalReplica;
  logger: Logger;
  metrics: AgentMetrics;
  policy: RightsPolicy;
  /** Pauses of top-ups after recalls (kept for the loop's life). */
  backoff?: RecallBackoff;
  debounceMs: number;
  sweepIntervalMs: number;
  orderRetentionMs: number;
  /**
   * How other takers' clocks are judged when holds expire (orders.ts `HoldClock`); read at every
   * pass, so a new handshake measurement applies at once. Default: only this replica's own clock is known.
   */
  clocks?: () => TakerClocks;
  /** Most time one turn spends on passes, ms (default {@link PASS_SLICE_MS}). */
  sliceMs?: number;
  now?: () => number;
}

/** The reconciliation scheduler. */
export class ReconcileLoop {
  /**
   * Fridges waiting for a pass: each runs `debounceMs` after the change that marked it (a sweep
   * marks every fridge due at once), in slices of {@link PASS_SLICE_MS}, each slice one transaction
   * (one synced append, one message to central), so timers that expire together or a sweep over
   * every fridge never hold PUBACKs (I/O) for the whole burst. Bounded by the venue's fridges.
   */
  private readonly passes: DirtyScheduler<FridgeId, null>;
  private sweepTimer: NodeJS.Timeout | undefined;
  private off: (() => void) | undefined;
  /** Set by {@link stop}. */
  private stopped = false;
  /** Removes the replica listeners set up in the constructor. */
  private unlisten: (() => void) | undefined;
  private recallsDue = false;
  private readonly now: () => number;
  /** Writes started and not yet durable (tests and shutdown wait for them). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly opts: ReconcileLoopOptions) {
    this.now = opts.now ?? Date.now;
    this.passes = new DirtyScheduler<FridgeId, null>({
      sliceMs: opts.sliceMs ?? PASS_SLICE_MS,
      debounceMs: opts.debounceMs,
      run: (slice) => this.runSlice(slice),
    });
  }

  start(): void {
    const subscribe = () => {
      const doc = this.opts.replica.doc;
      return doc.onChange((summary, origin) => {
        if (isOrigin(origin, 'reconciler')) return; // our own corrections do not retrigger us
        this.recallsDue = true;
        // The fold's reconciler changes with config, retirements and a replica's first entries (a new
        // epoch): checked only then, so the ingest path pays one size comparison.
        const replicas = doc.index.replicaEntryCount.size;
        if (summary.config || summary.lifecycle || replicas !== this.replicasSeen) {
          this.replicasSeen = replicas;
          this.checkReconcilership();
        }
        if (summary.config || summary.lifecycle) for (const f of this.assigned()) this.schedule(f);
        for (const f of summary.fridges) this.schedule(f);
      });
    };
    this.off = subscribe();
    // A rebuilt store comes with a new document object.
    const onReset = () => {
      this.off?.();
      this.replicasSeen = -1;
      this.off = subscribe();
    };
    const onState = (s: string) => {
      if (s === 'active') this.sweep();
      // After what the state change writes (an activation declares its reconcilership in the
      // document right after): checked at once, a fresh epoch would read as having lost its fridges.
      setImmediate(() => {
        if (!this.stopped) this.checkReconcilership();
      });
    };
    this.opts.replica.on('reset', onReset);
    this.opts.replica.on('state', onState);
    this.unlisten = () => {
      this.opts.replica.off('reset', onReset);
      this.opts.replica.off('state', onState);
    };
    this.sweepTimer = setInterval(() => this.sweep(), this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
    this.checkReconcilership();
    this.sweep();
  }

  /** Fridges whose current reconciler is this replica. */
  assigned(): FridgeId[] {
    const r = this.opts.replica;
    if (r.replica === undefined) return [];
    return (configIds(r.doc, 'fridge') as FridgeId[]).filter((f) => currentReconciler(r.doc, f) === r.replica);
  }

  /** Replicas with entries when reconcilership was last checked. */
  private replicasSeen = 0;
  /** fridge → the replica that reconciles it instead of this one (see {@link lost}). */
  private readonly lostTo = new Map<string, ReplicaId | undefined>();

  /**
   * Fridges the venue config assigns to this gateway that the fold gives to another replica: a
   * later epoch of the same gateway id took reconcilership (a cloned store, or a stolen token that
   * joined while this replica was offline; docs/sync-protocol.md, "Epoch allocation"). This replica
   * then stops correcting them; an operator must know (warn log, `/status`, metric
   * `fridgesync_gateway_reconciler_lost`).
   */
  lost(): Array<{ fridgeId: string; reconciler: string | null }> {
    return [...this.lostTo].map(([fridgeId, r]) => ({ fridgeId, reconciler: r ?? null })).sort((a, b) => (a.fridgeId < b.fridgeId ? -1 : 1));
  }

  private checkReconcilership(): void {
    const r = this.opts.replica;
    const me = r.replica;
    const now = new Map<string, ReplicaId | undefined>();
    // Only an active replica can lose anything: a joining one has not taken its epoch yet and a
    // retired one handed its fridges on by design.
    if (me !== undefined && r.state === 'active') {
      for (const f of configIds(r.doc, 'fridge') as FridgeId[]) {
        if (configRecord(r.doc, 'fridge', f)?.reconciler !== r.gatewayId) continue;
        const holder = currentReconciler(r.doc, f);
        if (holder !== me) now.set(f, holder);
      }
    }
    for (const [f, holder] of now) {
      if (this.lostTo.has(f) && this.lostTo.get(f) === holder) continue;
      this.opts.logger.warn({ fridge: f, replica: me, reconciler: holder }, `this replica lost reconcilership of fridge ${f} to ${holder ?? 'no replica'}; it no longer corrects its stock (another process with this gateway's id and token?)`);
    }
    for (const f of this.lostTo.keys()) if (!now.has(f)) this.opts.logger.info({ fridge: f, replica: me }, `this replica reconciles fridge ${f} again`);
    this.lostTo.clear();
    for (const [f, h] of now) this.lostTo.set(f, h);
    this.opts.metrics.reconcilerLost.set(now.size);
  }

  /** Reconciles `fridge` after the debounce delay (merging bursts). */
  schedule(fridge: FridgeId): void {
    this.passes.mark(fridge, () => null);
  }

  /** Expires holds and reconciles every assigned fridge (in slices), housekeeps orders, answers recalls. */
  sweep(): void {
    const r = this.opts.replica;
    if (!r.writable) return;
    const assigned = this.assigned();
    for (const f of assigned) this.passes.mark(f, () => null, 0);
    this.track(r.durably(() => this.expireOwnElsewhere(new Set(assigned))));
    this.track(r.durably(() => maintainOrders(r.doc, ORIGINS.reconciler, this.now(), this.opts.orderRetentionMs)));
    this.recallsDue = true;
    this.answer();
  }

  /**
   * Expires this replica's own kiosk orders on fridges another gateway reconciles (an HA standby's
   * kiosk): a hold is decided by the clock of the replica that took the order, so the taker expires
   * its orders itself and the reconciler need not guess this gateway's clock.
   */
  private expireOwnElsewhere(assigned: ReadonlySet<FridgeId>): void {
    const doc = this.opts.replica.doc;
    const others = [...doc.index.ordersByFridge.keys()].filter((f) => !assigned.has(f as FridgeId)) as FridgeId[];
    if (others.length === 0) return;
    const self = this.opts.replica.replica;
    const expired = expireHolds(doc, ORIGINS.reconciler, { ...this.opts.clocks?.(), now: this.now() }, others, (o) => takenBy(o, self));
    if (expired.length > 0) this.opts.logger.info({ orders: expired }, 'holds of own kiosk orders expired');
  }

  /** Waits for the passes started so far (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  stop(): void {
    this.stopped = true;
    this.unlisten?.();
    this.off?.();
    clearInterval(this.sweepTimer);
    this.passes.clear();
  }

  /**
   * Reconciles the fridges of one slice in one transaction; the scheduler hands out as many as the
   * measured cost of a pass fits in the slice.
   */
  private runSlice(slice: Slice<FridgeId, null>): void {
    const r = this.opts.replica;
    if (!r.writable) {
      this.passes.clear(); // activation sweeps every fridge anyway
      return;
    }
    const fridges: FridgeId[] = [];
    for (let e = slice.next(); e !== undefined; e = slice.next()) fridges.push(e[0]);
    if (fridges.length === 0) return;
    try {
      const p = r.durably(() => reconcileFridges(r.doc, ORIGINS.reconciler, fridges, this.opts.policy, this.now(), this.opts.backoff, this.opts.clocks?.()));
      this.track(p.then((reports) => reports.forEach((report) => this.note(report))));
    } catch (e) {
      this.opts.logger.error({ err: e, fridges }, 'reconciliation pass failed');
    }
    this.answer();
  }

  private note(report: ReconcileReport): void {
    const { metrics, logger } = this.opts;
    const fridge = report.fridge;
    if (report.incremented > 0) metrics.reconciled.inc({ action: 'increment' }, report.incremented);
    if (report.decremented > 0) metrics.reconciled.inc({ action: 'decrement' }, report.decremented);
    if (report.granted > 0) metrics.reconciled.inc({ action: 'grant' }, report.granted);
    if (report.recalled > 0) metrics.reconciled.inc({ action: 'recall' }, report.recalled);
    if (report.expired.length > 0) logger.info({ fridge, orders: report.expired }, 'holds expired');
    for (const s of report.shortages) logger.warn({ fridge, meal: s.meal, units: s.units, orders: s.orders }, 'shortage: reserved meals are physically missing');
  }

  private answer(): void {
    const r = this.opts.replica;
    if (!this.recallsDue || !r.writable) return;
    this.recallsDue = false;
    this.track(r.durably(() => answerRecalls(r.doc, ORIGINS.reconciler)));
  }

  private track(p: Promise<unknown>): void {
    const guarded: Promise<unknown> = p
      .catch((e: unknown) => this.opts.logger.error({ err: e }, 'reconciler write failed'))
      .finally(() => this.running.delete(guarded));
    this.running.add(guarded);
  }
}
