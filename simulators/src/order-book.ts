/**
 * What the simulated customers know about their orders: every order they placed, how the system
 * answered, and what happened next (picked up, cancelled, let expire). The client-side checks
 * read it; nothing here is the system's truth, only what a client can observe.
 */
import type { Items } from './fridge-model.ts';

/** The client's view of an order. */
export type OrderState =
  /** Request sent, no answer yet: the system may already hold the reservation. */
  | 'pending'
  /** 201/200: reserved for this customer. */
  | 'confirmed'
  | 'sold-out'
  /** Refused for another reason (4xx/5xx other than SOLD_OUT). */
  | 'rejected'
  /** No answer even after retries; cancelled at the end to be safe. */
  | 'unknown'
  | 'cancelled'
  /** The hold ran out (by the client's clock, which starts before the server's). */
  | 'expired'
  | 'picked-up';

/** One order as the client saw it. */
export interface OrderRecord {
  orderId: string;
  venueId: string;
  fridgeId: string;
  lines: Items;
  via: 'central' | 'kiosk';
  state: OrderState;
  /** When the request was sent (ms, `Date.now()` clock). */
  sentAt: number;
  /** `sentAt + hold`: the server's hold cannot end before this. */
  expiresAt: number;
  /** Units actually taken at pickup (may be fewer than `lines` after a shortage). */
  taken?: Items;
}

/** States in which the client must assume the system may hold a reservation. */
const MAYBE_HELD: ReadonlySet<OrderState> = new Set(['pending', 'confirmed', 'unknown']);

/** Every order the simulated customers placed, by id and by fridge. */
export class OrderBook {
  private readonly orders = new Map<string, OrderRecord>();
  /** Open orders per fridge, to keep lookups cheap in large fleets. */
  private readonly byFridge = new Map<string, Set<OrderRecord>>();

  /** Orders by `expiresAt`, ascending (appends in the common case: every order asks the same hold). */
  private readonly byExpiry: OrderRecord[] = [];
  /** Entries of {@link byExpiry} before this index are past their expiry already. */
  private expiredUpTo = 0;

  add(o: OrderRecord): void {
    this.orders.set(o.orderId, o);
    let i = this.byExpiry.length;
    while (i > this.expiredUpTo && this.byExpiry[i - 1]!.expiresAt > o.expiresAt) i--;
    this.byExpiry.splice(i, 0, o);
    let s = this.byFridge.get(o.fridgeId);
    if (!s) this.byFridge.set(o.fridgeId, (s = new Set()));
    s.add(o);
  }

  get(orderId: string): OrderRecord | undefined {
    return this.orders.get(orderId);
  }

  all(): IterableIterator<OrderRecord> {
    return this.orders.values();
  }

  forFridge(fridgeId: string): Iterable<OrderRecord> {
    return this.byFridge.get(fridgeId) ?? [];
  }

  /**
   * Moves confirmed orders whose hold ran out (by `now`) to `expired`; returns them. Cheap enough
   * to call at every confirmation: it only looks at orders that expired since the last call.
   */
  expire(now: number): OrderRecord[] {
    const out: OrderRecord[] = [];
    while (this.expiredUpTo < this.byExpiry.length && this.byExpiry[this.expiredUpTo]!.expiresAt <= now) {
      const o = this.byExpiry[this.expiredUpTo++]!;
      if (o.state === 'confirmed') {
        o.state = 'expired';
        out.push(o);
      }
    }
    // Keep the array short in long runs.
    if (this.expiredUpTo > 1_024) {
      this.byExpiry.splice(0, this.expiredUpTo);
      this.expiredUpTo = 0;
    }
    return out;
  }

  /** Units of `meal` in `fridge` that the system may be holding for customers now. */
  maybeHeld(fridgeId: string, meal: string): number {
    let n = 0;
    for (const o of this.forFridge(fridgeId)) if (MAYBE_HELD.has(o.state)) n += o.lines[meal] ?? 0;
    return n;
  }

  /**
   * Net confirmed units of `meal` in `fridge`: confirmed orders still open, plus the units picked
   * up. Each counts a distinct physical unit, so it can never exceed what the fridge ever held. A
   * pickup that found fewer units than ordered counts what it took: the rest went to a walk-in
   * (a shortage), and that walk-in is already counted in what left the fridge.
   */
  netConfirmed(fridgeId: string, meal: string): number {
    let n = 0;
    for (const o of this.forFridge(fridgeId)) {
      if (o.state === 'confirmed') n += o.lines[meal] ?? 0;
      else if (o.state === 'picked-up') n += (o.taken ?? o.lines)[meal] ?? 0;
    }
    return n;
  }

  /** Counts by state. */
  countByState(): Record<OrderState, number> {
    const c: Record<OrderState, number> = { pending: 0, confirmed: 0, 'sold-out': 0, rejected: 0, unknown: 0, cancelled: 0, expired: 0, 'picked-up': 0 };
    for (const o of this.orders.values()) c[o.state]++;
    return c;
  }
}
