/**
 * Customers who reserve through central's app API (or a venue kiosk), then pick up, cancel, or
 * never come. Every confirmation goes through the client-side {@link OversellCheck}. Requests
 * without an answer are retried with the same order id (the idempotency key), so a lost answer
 * cannot create a second reservation; the `duplicate` fault also replays confirmed orders on
 * purpose and checks that the replay is answered as the same order (200), not a new one.
 */
import type { CreateOrderBody } from '@fridgesync/shared';
import type { Items } from './fridge-model.ts';
import type { HttpApi, OrderOutcome } from './http-api.ts';
import type { OrderBook, OrderRecord } from './order-book.ts';
import type { OversellCheck } from './oversell-check.ts';
import type { SimFridge } from './sim-fridge.ts';
import type { RunStats } from './stats.ts';

/** What the customer will do after a confirmation. */
export type Fate = { kind: 'pickup'; afterMs: number } | { kind: 'cancel'; afterMs: number } | { kind: 'no-show' };

/** Options of {@link Customers}. */
export interface CustomersOptions {
  book: OrderBook;
  oversell: OversellCheck;
  stats: RunStats;
  /** Central's app API (undefined: only kiosks). */
  central: HttpApi | undefined;
  /** Kiosk API per venue. */
  kiosks: Map<string, HttpApi>;
  /** Hold asked for, seconds. */
  holdSeconds: number;
  /** Retries of an unanswered order request (default 2). */
  retries?: number;
  /** Probability that a confirmed order is replayed on purpose (the `duplicate` fault). */
  replay: number;
  /** Draws for replays (kept apart from the customer stream). */
  chance: (p: number) => boolean;
  /** Called when the fate of an order is due; lets the fleet track and clear timers. */
  schedule: (ms: number, fn: () => void) => void;
}

/** The customer population: places orders and carries out each one's fate. */
export class Customers {
  private readonly inflight = new Set<Promise<unknown>>();
  constructor(private readonly opts: CustomersOptions) {}

  /** Order requests still waiting for an answer. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Waits until no order request is in flight. */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Runs a timer-started task; a throw is recorded, never an unhandled rejection. */
  private background(p: Promise<unknown>, what: string): void {
    p.catch((e: Error) => this.opts.stats.error(`${what}: ${e.message}`));
  }

  private api(rec: OrderRecord): HttpApi | undefined {
    return rec.via === 'kiosk' ? this.opts.kiosks.get(rec.venueId) : this.opts.central;
  }

  /** Places an order and, once confirmed, arranges its fate. Resolves with the record. */
  order(fridge: SimFridge, orderId: string, lines: Items, via: 'central' | 'kiosk', fate: Fate): Promise<OrderRecord> {
    return this.track(this.doOrder(fridge, orderId, lines, via, fate));
  }

  private async doOrder(fridge: SimFridge, orderId: string, lines: Items, via: 'central' | 'kiosk', fate: Fate): Promise<OrderRecord> {
    const o = this.opts;
    const sentAt = Date.now();
    const rec: OrderRecord = { orderId, venueId: fridge.venueId, fridgeId: fridge.fridgeId, lines, via, state: 'pending', sentAt, expiresAt: sentAt + o.holdSeconds * 1_000 };
    o.book.add(rec);
    o.stats.inc('ordersAttempted');
    if (via === 'kiosk') o.stats.inc('kioskOrders');
    const api = this.api(rec);
    if (!api) {
      rec.state = 'rejected';
      o.stats.inc('ordersFailed');
      return rec;
    }
    const body = {
      orderId, venueId: rec.venueId, fridgeId: rec.fridgeId, holdSeconds: o.holdSeconds,
      items: Object.entries(lines).map(([mealId, qty]) => ({ mealId, qty })),
    } as CreateOrderBody;
    let outcome: OrderOutcome | undefined;
    for (let attempt = 0; attempt <= (o.retries ?? 2); attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      outcome = await api.createOrder(body);
      o.stats.recordOrder(outcome.ms);
      // No answer, a server error, or rate limited (429): the same order id makes a retry safe.
      const retryable = outcome.kind === 'unreachable' || (outcome.kind === 'rejected' && (outcome.status >= 500 || outcome.status === 429));
      if (!retryable) break;
    }
    const now = Date.now();
    switch (outcome!.kind) {
      case 'confirmed':
        rec.state = 'confirmed';
        o.stats.inc('ordersConfirmed');
        if (outcome!.status === 200) o.stats.inc('ordersReplayed');
        for (const v of o.oversell.confirmed(orderId, now)) o.stats.error(`OVERSELL ${v.fridgeId}/${v.mealId}: ${v.netConfirmed} confirmed > ${v.bound} held (order ${v.orderId})`);
        if (o.replay > 0 && o.chance(o.replay)) await this.replay(api, body);
        this.arrange(fridge, rec, fate);
        break;
      case 'sold-out':
        rec.state = 'sold-out';
        o.stats.inc('ordersSoldOut');
        break;
      case 'rejected':
        // A 5xx may have reserved before failing: treat it as unknown (cancelled at the end).
        rec.state = outcome!.status >= 500 ? 'unknown' : 'rejected';
        if (rec.state === 'unknown') o.stats.inc('ordersUnknown');
        o.stats.inc('ordersFailed');
        o.stats.error(`order ${orderId} at ${api.baseUrl}: ${outcome!.status} ${outcome!.code}`);
        break;
      case 'unreachable':
        rec.state = 'unknown';
        o.stats.inc('ordersUnknown');
        o.stats.inc('ordersFailed');
        o.stats.error(`order ${orderId} at ${api.baseUrl}: ${outcome!.error}`);
        break;
    }
    return rec;
  }

  /** Sends a confirmed order again: the answer must be 200 (same order), never a new 201. */
  private async replay(api: HttpApi, body: CreateOrderBody): Promise<void> {
    const again = await api.createOrder(body);
    this.opts.stats.inc('duplicatesSent');
    if (again.kind === 'confirmed' && again.status === 200) this.opts.stats.inc('ordersReplayed');
    else if (again.kind === 'confirmed' && again.status === 201) {
      this.opts.stats.inc('replayMismatches');
      this.opts.stats.error(`replayed order ${body.orderId} answered 201 (a new reservation?) instead of 200`);
    }
  }

  private arrange(fridge: SimFridge, rec: OrderRecord, fate: Fate): void {
    if (fate.kind === 'pickup') this.opts.schedule(fate.afterMs, () => this.background(this.pickup(fridge, rec), `pickup ${rec.orderId}`));
    else if (fate.kind === 'cancel') this.opts.schedule(fate.afterMs, () => this.background(this.cancel(rec), `cancel ${rec.orderId}`));
  }

  /**
   * The customer opens the fridge and takes the order: a pickup event, then lower totals. If
   * walk-ins took every reserved unit there is nothing to take; the customer cancels instead.
   */
  async pickup(fridge: SimFridge, rec: OrderRecord): Promise<void> {
    if (rec.state !== 'confirmed') return;
    if (!fridge.available) {
      // The fridge is rebooting: the customer waits a moment at the locked door.
      this.opts.schedule(1_000, () => this.background(this.pickup(fridge, rec), `pickup ${rec.orderId}`));
      return;
    }
    if (rec.via === 'kiosk' && !(await this.unlock(fridge, rec))) return;
    fridge.openDoor();
    const { payload, taken } = fridge.model.pickup(rec.orderId, rec.lines, new Date());
    const short = Object.entries(rec.lines).some(([m, n]) => (taken[m] ?? 0) < n);
    if (short) this.opts.stats.inc('pickupShortages');
    if (!payload) {
      await this.cancel(rec);
      return;
    }
    rec.state = 'picked-up';
    rec.taken = taken;
    this.opts.stats.inc('pickups');
    await fridge.client.publishPickup(payload);
  }

  /**
   * At the fridge with a kiosk order: the kiosk asks the gateway to unlock the fridge for it. True
   * when the door may open; a fridge the gateway does not see connected is tried again in a second
   * (the customer waits, as at a rebooting fridge); any other refusal ends the visit.
   */
  private async unlock(fridge: SimFridge, rec: OrderRecord): Promise<boolean> {
    const r = await this.api(rec)?.unlockOrder(rec.orderId);
    if (r?.ok === true) {
      this.opts.stats.inc('unlocks');
      return true;
    }
    if (r?.code === 'FRIDGE_OFFLINE' || r?.status === 0) {
      this.opts.schedule(1_000, () => this.background(this.pickup(fridge, rec), `pickup ${rec.orderId}`));
      return false;
    }
    this.opts.stats.inc('unlocksRefused');
    this.opts.stats.error(`unlock of ${rec.orderId} at ${this.api(rec)?.baseUrl ?? '?'}: ${r?.status ?? 'no kiosk'} ${r?.code ?? ''}`.trim());
    return false;
  }

  /** Cancels an order (idempotent on the server). */
  async cancel(rec: OrderRecord): Promise<void> {
    if (rec.state !== 'confirmed' && rec.state !== 'unknown' && rec.state !== 'pending') return;
    const api = this.api(rec);
    const r = api ? await api.cancelOrder(rec.orderId) : { ok: false, status: 0, error: 'no API for this order' };
    if (r.ok) {
      rec.state = 'cancelled';
      this.opts.stats.inc('cancels');
    } else if (r.code === 'ORDER_SETTLED' && rec.state === 'confirmed') {
      rec.state = 'expired';
    } else if (r.code === 'UNKNOWN_ORDER' && rec.state === 'unknown') {
      rec.state = 'rejected'; // it never existed
    } else {
      this.opts.stats.inc('cancelErrors');
      this.opts.stats.error(`cancel ${rec.orderId}: ${r.status} ${r.code ?? r.error ?? ''}`);
    }
  }
}
