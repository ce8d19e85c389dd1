import { describe, expect, it } from 'vitest';
import { OrderBook, type OrderRecord } from '../src/order-book.ts';
import { OversellCheck } from '../src/oversell-check.ts';

const T0 = 1_000_000;

function setup(graceMs = 1_000) {
  const book = new OrderBook();
  const check = new OversellCheck(book, { graceMs });
  check.stocked('f1', { m1: 3 });
  let n = 0;
  const confirm = (qty: number, at: number): { rec: OrderRecord; violations: number } => {
    const rec: OrderRecord = { orderId: `o${++n}`, venueId: 'v1', fridgeId: 'f1', lines: { m1: qty }, via: 'central', state: 'confirmed', sentAt: at, expiresAt: at + 60_000 };
    book.add(rec);
    return { rec, violations: check.confirmed(rec.orderId, at).length };
  };
  return { book, check, confirm };
}

describe('OversellCheck', () => {
  it('fails as soon as confirmations exceed what the fridge ever held', () => {
    const { check, confirm } = setup();
    expect(confirm(2, T0).violations).toBe(0);
    expect(confirm(1, T0).violations).toBe(0);
    expect(confirm(1, T0).violations).toBe(1);
    expect(check.violations[0]).toMatchObject({ fridgeId: 'f1', mealId: 'm1', netConfirmed: 4, bound: 3 });
  });

  it('gives units back on cancel and expiry, and counts deliveries', () => {
    const { check, confirm } = setup();
    const a = confirm(3, T0);
    a.rec.state = 'cancelled';
    const b = confirm(3, T0);
    b.rec.state = 'expired';
    expect(confirm(3, T0).violations).toBe(0);
    expect(confirm(1, T0).violations).toBe(1);
    check.stocked('f1', { m1: 2 });
    expect(confirm(1, T0).violations).toBe(0);
  });

  it('counts a free walk-in only once the system had time to learn about it', () => {
    const { check, confirm } = setup(1_000);
    check.walkIn('f1', 'm1', 1, 3, T0); // 3 inside, none reserved: a free unit left
    expect(confirm(3, T0 + 500).violations).toBe(0); // too early to blame central
    expect(confirm(0, T0 + 1_500).violations).toBe(1); // now 3 confirmed > 3 − 1
  });

  it('does not blame the system for walk-ins that took reserved units (a shortage, not an oversell)', () => {
    const { check, confirm } = setup(1_000);
    confirm(3, T0);
    check.walkIn('f1', 'm1', 1, 3, T0 + 10); // all 3 reserved: this walk-in ate a reserved unit
    expect(confirm(0, T0 + 5_000).violations).toBe(0);
    expect(check.bound('v1', 'f1', 'm1', T0 + 5_000).bound).toBe(3);
  });

  it('waits for a venue fault (link cut) to end plus the grace before counting walk-ins', () => {
    const { check } = setup(1_000);
    const end = check.venueFault('v1', T0);
    check.walkIn('f1', 'm1', 1, 3, T0 + 100);
    expect(check.bound('v1', 'f1', 'm1', T0 + 60_000).settledWalkIns).toBe(0); // still cut
    end(T0 + 60_000);
    expect(check.bound('v1', 'f1', 'm1', T0 + 60_500).settledWalkIns).toBe(0);
    expect(check.bound('v1', 'f1', 'm1', T0 + 61_001).settledWalkIns).toBe(1);
  });

  it('does not blame the system when a walk-in during a link cut ate a unit central sold meanwhile', () => {
    const { book, check, confirm } = setup(1_000);
    // 3 inside. The link is cut; a walk-in takes a free unit; central, cut off, sells 3.
    const end = check.venueFault('v1', T0);
    check.walkIn('f1', 'm1', 1, 3, T0 + 10);
    const a = confirm(3, T0 + 20);
    expect(a.violations).toBe(0);
    end(T0 + 5_000);
    // The customer finds only 2 (a shortage) and takes them.
    a.rec.state = 'picked-up';
    a.rec.taken = { m1: 2 };
    // The kitchen brings 3; central, now informed, sells all 3.
    check.stocked('f1', { m1: 3 });
    expect(confirm(3, T0 + 60_000).violations).toBe(0);
    expect(book.netConfirmed('f1', 'm1')).toBe(5);
    // One more would be one beyond what ever was there.
    expect(confirm(1, T0 + 60_000).violations).toBe(1);
  });

  it('gives the units of an expired hold back without anyone calling expire', () => {
    const { confirm } = setup();
    const a = confirm(3, T0); // holds until T0 + 60 s
    const early = confirm(1, T0 + 59_000);
    expect(early.violations).toBe(1);
    early.rec.state = 'cancelled';
    // After the hold, central may sell the units again: not an oversell.
    expect(confirm(3, T0 + 61_000).violations).toBe(0);
    expect(a.rec.state).toBe('expired');
  });
});
