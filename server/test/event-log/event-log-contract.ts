/**
 * The contract every {@link DomainEventLog} implementation runs. `make` returns a fresh, opened log
 * with the given limits and retention; `reopen` (when the implementation persists) closes it and
 * opens the same data again.
 */
import { describe, expect, it } from 'vitest';
import type { DomainEventLog, DomainFact, GroupLimits, Retention } from '@fridgesync/server';

/** What a contract case gets. */
export interface Made {
  log: DomainEventLog;
  reopen?: () => Promise<DomainEventLog>;
  cleanup: () => Promise<void>;
}
/** Builds a fresh log. */
export type MakeLog = (o: { limits?: Partial<GroupLimits>; retention?: Partial<Retention>; now?: () => number }) => Promise<Made>;

const LIMITS: GroupLimits = { maxGroups: 4, maxPending: 100, maxAttempts: 3 };
const KEEP: Retention = { maxAgeMs: 0, maxEvents: 0, hardMaxEvents: 1_000_000 };
/** A fact of venue `v` picked up order `n` (ids are what the caller says). */
const fact = (id: string, v = 'v1'): DomainFact => ({ id, venueId: v, fact: { kind: 'order.picked_up', orderId: id, fridgeId: 'f1', lines: [['m1', 1]] } });
const ids = (es: ReadonlyArray<{ id: string }>) => es.map((e) => e.id);

/** Runs the event log contract. */
export function eventLogContract(name: string, make: MakeLog): void {
  const withLog = (o: Parameters<MakeLog>[0], f: (m: Made) => Promise<void>) => async () => {
    const m = await make({ limits: LIMITS, retention: KEEP, ...o });
    try {
      await f(m);
    } finally {
      await m.cleanup();
    }
  };

  describe(`${name} event log contract`, () => {
    it('appends a fact once, by id, in call order', withLog({}, async ({ log }) => {
      const first = await log.append([fact('a'), fact('b'), fact('a')]);
      expect(first.map((e) => [e.id, e.position])).toEqual([['a', 1], ['b', 2]]);
      const again = await log.append([fact('b'), fact('c')]);
      expect(again.map((e) => [e.id, e.position])).toEqual([['c', 3]]);
      const concurrent = await Promise.all([log.append([fact('d')]), log.append([fact('d'), fact('e')])]);
      expect(concurrent.map(ids)).toEqual([['d'], ['e']]);
      expect(ids((await log.read(0, 100)).events)).toEqual(['a', 'b', 'c', 'd', 'e']);
    }));

    it('pages after a position, per venue in log order', withLog({}, async ({ log }) => {
      await log.append([fact('a', 'v1'), fact('b', 'v2'), fact('c', 'v1'), fact('d', 'v2'), fact('e', 'v1')]);
      const p1 = await log.read(0, 2);
      expect(ids(p1.events)).toEqual(['a', 'b']);
      const p2 = await log.read(p1.events.at(-1)!.position, 2);
      expect(ids(p2.events)).toEqual(['c', 'd']);
      expect((await log.read(5, 2)).events).toEqual([]);
      const v1 = await log.read(0, 10, 'v1');
      expect(ids(v1.events)).toEqual(['a', 'c', 'e']);
      expect(ids((await log.read(v1.events[0]!.position, 10, 'v1')).events)).toEqual(['c', 'e']);
      expect(p1).toMatchObject({ oldest: 1, latest: 5, gap: false });
    }));

    it('redelivers what a group did not acknowledge after the timeout, not what it did', withLog({}, async ({ log }) => {
      await log.append([fact('a'), fact('b'), fact('c')]);
      const c1 = await log.claim('g', 2, 1000, 10_000);
      expect(c1.map((e) => [e.id, e.attempts])).toEqual([['a', 1], ['b', 1]]);
      expect(await log.ack('g', ['a', 'zz'])).toEqual({ acked: ['a'], notPending: ['zz'] });
      // Before the timeout only new events; after it, `b` again.
      expect(ids(await log.claim('g', 10, 1000, 10_500))).toEqual(['c']);
      const c3 = await log.claim('g', 10, 1000, 11_001);
      expect(c3.map((e) => [e.id, e.attempts])).toEqual([['b', 2]]);
      expect(await log.ack('g', ['b', 'c', 'a'])).toEqual({ acked: ['b', 'c'], notPending: ['a'] });
      expect(await log.claim('g', 10, 1000, 99_000)).toEqual([]);
      expect((await log.groups()).find((g) => g.name === 'g')).toMatchObject({ pending: 0, lag: 0, dead: 0 });
      // Another group reads the same log at its own pace, from the oldest event.
      expect(ids(await log.claim('h', 10, 1000, 99_000))).toEqual(['a', 'b', 'c']);
    }));

    it('dead-letters an event after maxAttempts deliveries', withLog({}, async ({ log }) => {
      await log.append([fact('a'), fact('b')]);
      let t = 1_000;
      for (let i = 1; i <= 3; i++) {
        const c = await log.claim('g', 1, 100, t);
        expect(c.map((e) => [e.id, e.attempts])).toEqual([['a', i]]);
        t += 101;
      }
      // The third delivery timed out: `a` is dead, `b` comes next.
      expect(ids(await log.claim('g', 1, 100, t))).toEqual(['b']);
      const dead = await log.dead('g', 10);
      expect(dead.map((e) => [e.id, e.attempts, e.deadAt])).toEqual([['a', 3, t]]);
      expect(await log.ack('g', ['a'])).toEqual({ acked: [], notPending: ['a'] });
    }));

    it('bounds groups and pending events, and names unknown groups', withLog({ limits: { maxGroups: 2, maxPending: 2 } }, async ({ log }) => {
      await log.append([fact('a'), fact('b'), fact('c')]);
      expect(ids(await log.claim('g1', 10, 1000, 0))).toEqual(['a', 'b']);
      expect(await log.claim('g1', 10, 1000, 1)).toEqual([]);
      await log.claim('g2', 1, 1000, 0);
      await expect(log.claim('g3', 1, 1000, 0)).rejects.toMatchObject({ code: 'TOO_MANY_GROUPS' });
      await expect(log.ack('nope', ['a'])).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
      await expect(log.dead('nope', 1)).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
      expect((await log.groups()).map((g) => g.name).sort()).toEqual(['g1', 'g2']);
      await log.deleteGroup('g2');
      expect(ids(await log.claim('g3', 1, 1000, 0))).toEqual(['a']);
    }));

    it('retains what a group has not acknowledged, up to the hard cap', withLog({ retention: { maxEvents: 2, hardMaxEvents: 1_000 } }, async ({ log }) => {
      await log.append(['a', 'b', 'c', 'd', 'e'].map((id) => fact(id)));
      expect(ids(await log.claim('g', 2, 1000, 0))).toEqual(['a', 'b']);
      await log.ack('g', ['a']);
      // `b` is pending: only `a` may go.
      expect(await log.prune(0)).toEqual({ dropped: 1, droppedUnacked: 0 });
      // `c` was never claimed by the group: kept too.
      await log.ack('g', ['b']);
      expect(await log.prune(0)).toEqual({ dropped: 1, droppedUnacked: 0 });
      expect(ids(await log.claim('g', 10, 1000, 0))).toEqual(['c', 'd', 'e']);
      await log.ack('g', ['c']);
      expect(await log.prune(0)).toEqual({ dropped: 1, droppedUnacked: 0 });
      const page = await log.read(0, 10);
      expect(ids(page.events)).toEqual(['d', 'e']);
      expect(page).toMatchObject({ oldest: 4, latest: 5, gap: true });
      expect((await log.read(3, 10)).gap).toBe(false);
      expect((await log.claim('g', 10, 1000, 2_000)).map((e) => [e.id, e.attempts])).toEqual([['d', 2], ['e', 2]]);
    }));

    it('drops unacknowledged events past the hard cap and by age', withLog({ retention: { maxAgeMs: 1000, hardMaxEvents: 1_000 } }, async ({ log }) => {
      await log.append(Array.from({ length: 1_003 }, (_, i) => fact(`x${i}`)));
      await log.claim('g', 1, 1000, 0);
      await log.claim('h', 2, 1000, 0);
      // Age says all may go, both groups hold them, the hard cap drops the 3 beyond 1 000 (each counted once).
      expect(await log.prune(Date.now() + 10_000)).toEqual({ dropped: 3, droppedUnacked: 3 });
      expect((await log.groups()).map((g) => [g.name, g.cursor, g.pending]).sort()).toEqual([['g', 3, 0], ['h', 3, 0]]);
      expect((await log.read(0, 1)).events[0]!.id).toBe('x3');
      expect(ids(await log.claim('g', 1, 1000, 0))).toEqual(['x3']);
    }));

    it('keeps the open incidents per venue: opened by one fact, closed by another', withLog({}, async ({ log }) => {
      const open = (id: string, key: string, v = 'v1'): DomainFact => ({ ...fact(id, v), incident: { key, open: true } });
      const close = (id: string, key: string, v = 'v1'): DomainFact => ({ ...fact(id, v), incident: { key, open: false } });
      await log.append([open('r1', 'shortage:f1/m1'), open('r2', 'shortage:f1/m2'), open('r3', 'shortage:f1/m1', 'v2')]);
      await log.append([close('c1', 'shortage:f1/m1')]);
      // Opened and closed in one append: closed.
      await log.append([open('r4', 'shortage:f2/m1'), close('c4', 'shortage:f2/m1')]);
      // A fact logged before changes nothing, incident included.
      await log.append([open('r1', 'shortage:f1/m1')]);
      expect([...(await log.openIncidents('v1'))]).toEqual([['shortage:f1/m2', 'r2']]);
      expect([...(await log.openIncidents('v2'))]).toEqual([['shortage:f1/m1', 'r3']]);
      expect((await log.openIncidents('v3')).size).toBe(0);
    }));

    it('keeps the log and group state across a reopen', async () => {
      const m = await make({ limits: LIMITS, retention: KEEP });
      if (m.reopen === undefined) return m.cleanup();
      try {
        await m.log.append([fact('a'), fact('b')]);
        await m.log.claim('g', 1, 1000, 0);
        await m.log.append([{ ...fact('r'), incident: { key: 'k', open: true } }]);
        const log = await m.reopen();
        expect([...(await log.openIncidents('v1'))]).toEqual([['k', 'r']]);
        expect(await log.append([fact('a'), fact('c')])).toMatchObject([{ id: 'c', position: 4 }]);
        expect((await log.claim('g', 10, 1000, 2_000)).map((e) => [e.id, e.attempts])).toEqual([['a', 2], ['b', 1], ['r', 1], ['c', 1]]);
      } finally {
        await m.cleanup();
      }
    });

    it('never reuses a position once retention dropped every event', async () => {
      const m = await make({ limits: LIMITS, retention: { ...KEEP, maxAgeMs: 1 } });
      try {
        await m.log.append([fact('a'), fact('b')]);
        expect(await m.log.prune(Date.now() + 10_000)).toEqual({ dropped: 2, droppedUnacked: 0 });
        // Everything is gone; a reader at 0 is told it missed events, one at the head is not.
        expect(await m.log.read(0, 10)).toEqual({ events: [], oldest: 0, latest: 2, gap: true });
        expect((await m.log.read(2, 10)).gap).toBe(false);
        const log = m.reopen === undefined ? m.log : await m.reopen();
        expect(await log.append([fact('c')])).toMatchObject([{ id: 'c', position: 3 }]);
        expect(ids(await log.claim('g', 10, 1000, 0))).toEqual(['c']);
      } finally {
        await m.cleanup();
      }
    });
  });
}
