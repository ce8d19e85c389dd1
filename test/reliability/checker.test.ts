/**
 * The checker itself (checker.ts): histories and final reads that must pass, and for every check
 * one that must fail, so a scenario cannot pass because the checker looks at nothing.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { check, type Violation } from './checker.ts';
import type { Op, OrderOp, OrderRead, ReplicaRead, SnapshotOp } from './history.ts';

const snap = (seq: number, items: Record<string, number>, outcome: SnapshotOp['outcome'] = 'ok'): SnapshotOp => ({ kind: 'snapshot', fridge: 'f1', boot: 1, seq, items, outcome, at: seq });
const order = (orderId: string, items: Record<string, number>, outcome: OrderOp['outcome'] = 'ok', taker = 'central'): OrderOp => ({ kind: 'order', orderId, taker, fridge: 'f1', items, outcome, at: 0 });
const reserved = (...variants: Array<Record<string, number>>): OrderRead => ({ state: 'reserved', variants, conflicts: variants.length > 1 ? ['contents'] : [] });
const read = (replica: string, T: Record<string, number>, orders: Record<string, OrderRead> = {}, R: Record<string, number> = {}): ReplicaRead => ({
  replica,
  cells: { f1: Object.fromEntries(Object.entries(T).map(([m, t]) => [m, { T: t, R: R[m] ?? 0, S: t - (R[m] ?? 0) }])) },
  orders,
});
const kinds = (v: Violation[]) => v.map((x) => x.check);

describe('the history checker', () => {
  const ops: Op[] = [snap(1, { a: 5, b: 1 }), snap(2, { a: 7, b: 1 }), snap(3, { a: 9, b: 2 }, 'unknown'), order('o1', { a: 2 }), order('o2', { a: 1 }, 'fail')];

  it('passes a consistent history: the newest acked snapshot or a later unknown one, confirmed orders kept', () => {
    const orders = { o1: reserved({ a: 2 }) };
    expect(check(ops, [read('central', { a: 7, b: 1 }, orders, { a: 2 }), read('gw', { a: 7, b: 1 }, orders, { a: 2 })])).toEqual([]);
    expect(check(ops, [read('central', { a: 9, b: 2 }, orders, { a: 2 })])).toEqual([]);
  });

  it('fails when a replica reads a snapshot older than the newest acknowledged one', () => {
    const v = check(ops, [read('central', { a: 5, b: 1 }, { o1: reserved({ a: 2 }) })]);
    expect(kinds(v)).toEqual(['snapshot-bounds']);
    expect(v[0]!.detail).toContain('an acknowledged snapshot was lost');
  });

  it('fails on totals no snapshot sent, and on a refused snapshot that landed', () => {
    expect(kinds(check([snap(1, { a: 5 })], [read('c', { a: 6 })]))).toEqual(['snapshot-bounds']);
    expect(kinds(check([snap(1, { a: 5 }), snap(2, { a: 6 }, 'fail')], [read('c', { a: 6 })]))).toEqual(['snapshot-bounds']);
  });

  it('fails when a confirmed order is lost, or a refused one exists', () => {
    expect(kinds(check(ops, [read('central', { a: 7, b: 1 })]))).toEqual(['order-lost']);
    expect(kinds(check(ops, [read('central', { a: 7, b: 1 }, { o1: reserved({ a: 2 }), o2: reserved({ a: 1 }) })]))).toEqual(['order-phantom']);
    // The contents changed: a lost confirmation too.
    expect(kinds(check(ops, [read('central', { a: 7, b: 1 }, { o1: reserved({ a: 3 }) })]))).toContain('order-lost');
  });

  it('fails when an id confirmed with different contents is silently replaced', () => {
    const twice: Op[] = [snap(1, { a: 9 }), order('o9', { a: 1 }, 'ok', 'kiosk:gw'), order('o9', { a: 2 })];
    expect(check(twice, [read('c', { a: 9 }, { o9: reserved({ a: 1 }, { a: 2 }) })])).toEqual([]);
    expect(kinds(check(twice, [read('c', { a: 9 }, { o9: reserved({ a: 2 }) })]))).toEqual(['contents-conflict', 'contents-conflict']);
    expect(kinds(check(twice, [read('c', { a: 9 }, { o9: { state: 'reserved', variants: [{ a: 1 }, { a: 2 }], conflicts: [] } })]))).toEqual(['contents-conflict']);
  });

  it('fails when orders hold more units than the fridge ever reported', () => {
    const ops2: Op[] = [snap(1, { a: 2 }), order('x', { a: 1 }), order('y', { a: 1 }), order('z', { a: 1 }, 'unknown')];
    expect(check(ops2, [read('c', { a: 2 }, { x: reserved({ a: 1 }), y: reserved({ a: 1 }) })])).toEqual([]);
    // The unknown one landed too: three units of two.
    expect(kinds(check(ops2, [read('c', { a: 2 }, { x: reserved({ a: 1 }), y: reserved({ a: 1 }), z: reserved({ a: 1 }) })]))).toEqual(['oversell']);
  });

  it('fails when the replicas fold differently after healing', () => {
    const orders = { o1: reserved({ a: 2 }) };
    expect(kinds(check(ops, [read('central', { a: 7, b: 1 }, orders, { a: 2 }), read('gw', { a: 7, b: 1 }, orders, { a: 1 })]))).toEqual(['diverged']);
    expect(kinds(check(ops, [read('central', { a: 7, b: 1 }, orders), read('gw', { a: 7, b: 1 }, { o1: { ...reserved({ a: 2 }), state: 'cancelled' } })]))).toEqual(['diverged']);
  });

  it('property: any read of a snapshot older than the newest acknowledged one fails, any read of a candidate passes', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<SnapshotOp['outcome']>('ok', 'unknown', 'fail'), { minLength: 1, maxLength: 20 }), fc.nat(), (outcomes, pick) => {
        // Totals unique per snapshot, so a read names the snapshot it came from.
        const snaps = outcomes.map((o, i) => snap(i + 1, { a: 100 + i, b: i % 3 }, o));
        const newest = snaps.findLastIndex((s) => s.outcome === 'ok');
        const s = snaps[pick % snaps.length]!;
        const v = check(snaps, [read('c', s.items)]);
        const allowed = s.outcome !== 'fail' && snaps.indexOf(s) >= newest;
        return allowed ? v.length === 0 : kinds(v).join() === 'snapshot-bounds';
      }),
      { seed: Number(process.env.FRIDGESYNC_SEED ?? 20), numRuns: 300 },
    );
  });
});
