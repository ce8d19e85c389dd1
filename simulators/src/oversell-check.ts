/**
 * Client-side oversell check: no order may ever be confirmed beyond the physical stock of its
 * fridge. Counted per fridge and meal at every confirmation:
 *
 *   netConfirmed ≤ everHeld − settledFreeWalkIns
 *
 * - `netConfirmed`: units of confirmed orders still open, plus units actually taken at pickups
 *   (cancelled and expired orders gave their units back). Each is a distinct physical unit.
 * - `everHeld`: units that were ever put in the fridge (initial stock + deliveries).
 * - `settledFreeWalkIns`: units walk-ins took that no customer could have held (the fridge had
 *   more than the units possibly reserved), and that the system has had time to learn about: at
 *   least `graceMs` ago, with no link cut, gateway kill or forgotten-boot reboot in between.
 *   Walk-ins taking reserved units make a *shortage*, which the design surfaces, not an oversell.
 *
 * A correct system never violates this; a system that confirms from stale or double-counted stock
 * does, as soon as the confirmations exceed what the fridge held.
 */
import type { OrderBook } from './order-book.ts';

/** One violation, as it goes into the report. */
export interface OversellViolation {
  at: string;
  orderId: string;
  fridgeId: string;
  mealId: string;
  netConfirmed: number;
  bound: number;
  everHeld: number;
  settledWalkIns: number;
}

interface WalkIn {
  at: number;
  units: number;
}

interface Window {
  start: number;
  end: number | undefined;
}

/** Options of {@link OversellCheck}. */
export interface OversellCheckOptions {
  /** Time the system gets to learn about a walk-in, ms (snapshot interval + sync; default 15,000). */
  graceMs?: number;
  /** Longest a forgotten boot counter may blind the gateway, ms (default 4 × graceMs). */
  forgottenBootMs?: number;
}

const key = (fridge: string, meal: string) => `${fridge}\u0000${meal}`;

/** The client-side oversell check (see the module doc for the bound). */
export class OversellCheck {
  private readonly everHeld = new Map<string, number>();
  private readonly walkIns = new Map<string, WalkIn[]>();
  private readonly settledSum = new Map<string, number>();
  private readonly venueFaults = new Map<string, Window[]>();
  private readonly fridgeFaults = new Map<string, Window[]>();
  readonly violations: OversellViolation[] = [];
  /** Confirmations checked so far. */
  checked = 0;
  readonly graceMs: number;
  private readonly forgottenBootMs: number;

  constructor(private readonly book: OrderBook, o: OversellCheckOptions = {}) {
    this.graceMs = o.graceMs ?? 15_000;
    this.forgottenBootMs = o.forgottenBootMs ?? 4 * this.graceMs;
  }

  /** Units placed in a fridge (initial stock or a delivery). */
  stocked(fridgeId: string, items: Record<string, number>): void {
    for (const [meal, n] of Object.entries(items)) this.everHeld.set(key(fridgeId, meal), (this.everHeld.get(key(fridgeId, meal)) ?? 0) + n);
  }

  /**
   * A walk-in took `units` of `meal` at `at`; `stockBefore` is what the fridge held just before.
   * Only units beyond what customers may hold are "free" (see the module doc).
   */
  walkIn(fridgeId: string, meal: string, units: number, stockBefore: number, at: number): void {
    this.book.expire(at);
    const free = Math.min(units, Math.max(0, stockBefore - this.book.maybeHeld(fridgeId, meal)));
    if (free <= 0) return;
    const k = key(fridgeId, meal);
    let list = this.walkIns.get(k);
    if (!list) this.walkIns.set(k, (list = []));
    list.push({ at, units: free });
  }

  /** A venue-wide fault (link cut, gateway kill) began; returns a function that ends it. */
  venueFault(venueId: string, at: number): (endAt: number) => void {
    return this.openWindow(this.venueFaults, venueId, at);
  }

  /** A fridge rebooted; a forgotten boot counter may hide its reports for a while. */
  reboot(fridgeId: string, forgotBoot: boolean, at: number): void {
    const end = this.openWindow(this.fridgeFaults, fridgeId, at);
    end(at + (forgotBoot ? this.forgottenBootMs : this.graceMs));
  }

  private openWindow(map: Map<string, Window[]>, id: string, at: number): (endAt: number) => void {
    let list = map.get(id);
    if (!list) map.set(id, (list = []));
    const w: Window = { start: at, end: undefined };
    list.push(w);
    return (endAt) => {
      w.end = endAt;
    };
  }

  /** When the system can be expected to know about an event at `at` (∞ while a fault is open). */
  private settledAt(venueId: string, fridgeId: string, at: number): number {
    const windows = [...(this.venueFaults.get(venueId) ?? []), ...(this.fridgeFaults.get(fridgeId) ?? [])];
    let settle = at + this.graceMs;
    for (let changed = true; changed; ) {
      changed = false;
      for (const w of windows) {
        const end = w.end ?? Infinity;
        if (w.start <= settle && end >= at && end + this.graceMs > settle) {
          settle = end + this.graceMs;
          changed = true;
        }
      }
    }
    return settle;
  }

  /** Upper bound on net confirmed units of `meal` in `fridge` at `now`. */
  bound(venueId: string, fridgeId: string, meal: string, now: number): { bound: number; everHeld: number; settledWalkIns: number } {
    const k = key(fridgeId, meal);
    const everHeld = this.everHeld.get(k) ?? 0;
    // Once settled a walk-in stays settled (later faults start after it), so fold it into a sum and
    // keep only unsettled ones in the list: the list stays as short as the grace period.
    let settledWalkIns = this.settledSum.get(k) ?? 0;
    const list = this.walkIns.get(k);
    if (list) {
      const pending = list.filter((w) => {
        if (this.settledAt(venueId, fridgeId, w.at) > now) return true;
        settledWalkIns += w.units;
        return false;
      });
      this.walkIns.set(k, pending);
      this.settledSum.set(k, settledWalkIns);
    }
    return { bound: everHeld - settledWalkIns, everHeld, settledWalkIns };
  }

  /** Checks one confirmation (call after the order is marked confirmed in the book). */
  confirmed(orderId: string, now: number): OversellViolation[] {
    // Holds that ran out gave their units back (by the client's clock, which ends holds no later
    // than the server's, so this never counts an order the server has already released).
    this.book.expire(now);
    const o = this.book.get(orderId);
    if (!o) return [];
    this.checked++;
    const found: OversellViolation[] = [];
    for (const meal of Object.keys(o.lines)) {
      const net = this.book.netConfirmed(o.fridgeId, meal);
      const b = this.bound(o.venueId, o.fridgeId, meal, now);
      if (net > b.bound) {
        found.push({ at: new Date(now).toISOString(), orderId, fridgeId: o.fridgeId, mealId: meal, netConfirmed: net, ...b });
      }
    }
    // Keep the report bounded: the first 100 violations tell the story.
    for (const v of found) if (this.violations.length < 100) this.violations.push(v);
    this.violationCount += found.length;
    return found;
  }

  /** All violations seen (the list keeps only the first 100). */
  violationCount = 0;
}
