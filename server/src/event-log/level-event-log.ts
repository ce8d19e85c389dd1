/**
 * LevelDB {@link DomainEventLog} over any abstract-level database: classic-level on disk (its own
 * database under the data directory, docs/operations.md "Event log") or memory-level (the `memory`
 * storage engine). Every write is one synced batch; operations run one at a time, so positions and
 * group state change in a single order.
 *
 * Keys (positions as 16 hex digits, so a range is in position order):
 * - `e!<pos>` the event (JSON `{id, venueId, fact, at}`), `i!<id>` its position (appended once),
 *   `v!<venue>!<pos>` the venue index (`read` of one venue);
 * - `g!<group>` a group's cursor, `p!<group>!<pos>` an event handed out and not acknowledged
 *   (`{attempts, visibleAt}`), `d!<group>!<pos>` a dead-lettered event (`{attempts, deadAt}`);
 * - `o!<venue>!<incident key>` an open incident: the id of the fact that opened it;
 * - `m!latest` the newest position ever appended, so positions are never reused once retention
 *   has dropped every event.
 */
import { FridgesyncError, type DomainFactData } from '@fridgesync/shared';
import type { ClaimedEvent, DeadEvent, DomainEventLog, DomainFact, GroupInfo, GroupLimits, LoggedEvent, LogPage, PruneResult, Retention } from './event-log-port.ts';

/** The part of abstract-level this adapter uses (classic-level and memory-level both provide it). */
export interface LevelLike {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  getMany(keys: string[]): Promise<Array<string | undefined>>;
  batch(ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }>, o?: { sync?: boolean }): Promise<void>;
  iterator(o: { gt?: string; gte?: string; lt?: string; lte?: string; limit?: number; reverse?: boolean }): AsyncIterable<[string, string]>;
}

/**
 * Most events one retention pass drops: a pass is one batch, so a large backlog is pruned over
 * several passes rather than in one write that holds the log for seconds.
 */
export const PRUNE_BATCH = 5_000;

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };
interface Stored {
  id: string;
  venueId: string;
  fact: DomainFactData;
  at: number;
}
interface Pending {
  attempts: number;
  visibleAt: number;
}
interface Group {
  cursor: number;
  pending: number;
  dead: number;
}

const hex = (pos: number) => pos.toString(16).padStart(16, '0');
const eKey = (pos: number) => `e!${hex(pos)}`;
const iKey = (id: string) => `i!${id}`;
const vKey = (venue: string, pos: number) => `v!${venue}!${hex(pos)}`;
const gKey = (g: string) => `g!${g}`;
const pKey = (g: string, pos: number) => `p!${g}!${hex(pos)}`;
const dKey = (g: string, pos: number) => `d!${g}!${hex(pos)}`;
const posOf = (key: string) => parseInt(key.slice(key.lastIndexOf('!') + 1), 16);
const range = (prefix: string) => ({ gt: prefix, lt: `${prefix}~` });
const LATEST = 'm!latest';
const oKey = (venue: string, key: string) => `o!${venue}!${key}`;

/** Options of {@link createLevelEventLog}. */
export interface LevelEventLogOptions {
  db: LevelLike;
  limits: GroupLimits;
  retention: Retention;
  /** Clock of `append` (ms); default `Date.now`. */
  now?: () => number;
}

/** Creates the LevelDB event log (call `open` before use). */
export function createLevelEventLog(o: LevelEventLogOptions): DomainEventLog {
  const { db, limits, retention } = o;
  const now = o.now ?? Date.now;
  let oldest = 0;
  let latest = 0;
  const groups = new Map<string, Group>();
  let chain: Promise<unknown> = Promise.resolve();
  let failed: Error | undefined;
  let opened = false;

  /** Runs operations one at a time; a failed synced write is fatal for every later one. */
  function serial<T>(f: () => Promise<T>): Promise<T> {
    const run = chain.then(async () => {
      if (failed !== undefined) throw failed;
      return f();
    });
    chain = run.catch(() => undefined);
    return run;
  }
  async function write(ops: Op[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      await db.batch(ops, { sync: true });
    } catch (e) {
      failed = e as Error;
      throw e;
    }
  }
  const parse = (pos: number, v: string): LoggedEvent => ({ ...(JSON.parse(v) as Stored), position: pos });
  async function events(positions: number[]): Promise<Map<number, LoggedEvent>> {
    const vals = await db.getMany(positions.map(eKey));
    const out = new Map<number, LoggedEvent>();
    positions.forEach((p, i) => vals[i] !== undefined && out.set(p, parse(p, vals[i]!)));
    return out;
  }
  function requireGroup(name: string): Group {
    const g = groups.get(name);
    if (g === undefined) throw new FridgesyncError('UNKNOWN_GROUP', `no consumer group ${name}`);
    return g;
  }
  async function scan(prefix: string, limit?: number): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    for await (const kv of db.iterator({ ...range(prefix), ...(limit === undefined ? {} : { limit }) })) out.push(kv);
    return out;
  }

  return {
    async open() {
      if (opened) return;
      await db.open();
      for await (const [k] of db.iterator({ ...range('e!'), limit: 1 })) oldest = posOf(k);
      for await (const [k] of db.iterator({ ...range('e!'), limit: 1, reverse: true })) latest = posOf(k);
      const head = await db.get(LATEST);
      if (head !== undefined) latest = Math.max(latest, parseInt(head, 16));
      for (const [k, v] of await scan('g!')) groups.set(k.slice(2), { cursor: (JSON.parse(v) as { cursor: number }).cursor, pending: 0, dead: 0 });
      for (const [k] of await scan('p!')) groups.get(k.slice(2, k.lastIndexOf('!')))!.pending++;
      for (const [k] of await scan('d!')) groups.get(k.slice(2, k.lastIndexOf('!')))!.dead++;
      opened = true;
    },

    append(facts) {
      return serial(async () => {
        const fresh = [...new Map(facts.map((f) => [f.id, f])).values()];
        const known = await db.getMany(fresh.map((f) => iKey(f.id)));
        const ops: Op[] = [];
        const out: LoggedEvent[] = [];
        let pos = latest;
        const at = now();
        fresh.forEach((f, i) => {
          if (known[i] !== undefined) return;
          pos++;
          const stored: Stored = { id: f.id, venueId: f.venueId, fact: f.fact, at };
          ops.push({ type: 'put', key: eKey(pos), value: JSON.stringify(stored) }, { type: 'put', key: iKey(f.id), value: hex(pos) }, { type: 'put', key: vKey(f.venueId, pos), value: '' });
          out.push({ ...stored, position: pos });
          // A batch applies in order: an incident opened and closed in one append ends closed.
          if (f.incident !== undefined) ops.push(f.incident.open ? { type: 'put', key: oKey(f.venueId, f.incident.key), value: f.id } : { type: 'del', key: oKey(f.venueId, f.incident.key) });
        });
        if (ops.length > 0) ops.push({ type: 'put', key: LATEST, value: hex(pos) });
        await write(ops);
        // Only a durable append moves the head.
        if (out.length > 0 && oldest === 0) oldest = out[0]!.position;
        latest = pos;
        return out;
      });
    },

    async openIncidents(venueId) {
      const prefix = `o!${venueId}!`;
      return new Map((await scan(prefix)).map(([k, id]) => [k.slice(prefix.length), id]));
    },

    async read(after, limit, venueId) {
      const from = { gt: venueId === undefined ? eKey(after) : vKey(venueId, after), lt: venueId === undefined ? 'e!~' : `v!${venueId}!~` };
      let list: LoggedEvent[] = [];
      if (venueId === undefined) for await (const [k, v] of db.iterator({ ...from, limit })) list.push(parse(posOf(k), v));
      else {
        const positions: number[] = [];
        for await (const [k] of db.iterator({ ...from, limit })) positions.push(posOf(k));
        const found = await events(positions);
        // An event pruned between the two reads is skipped (it is past retention anyway).
        list = positions.flatMap((p) => found.get(p) ?? []);
      }
      // Positions after `after` and before the first retained one were dropped by retention.
      const retainedFrom = oldest > 0 ? oldest : latest + 1;
      return { events: list, oldest, latest, gap: after + 1 < retainedFrom && after < latest };
    },

    claim(name, limit, visibilityMs, at) {
      return serial(async () => {
        const ops: Op[] = [];
        let g = groups.get(name);
        const created = g === undefined;
        if (g === undefined) {
          if (groups.size >= limits.maxGroups) throw new FridgesyncError('TOO_MANY_GROUPS', `the event log keeps at most ${limits.maxGroups} consumer groups`);
          // A new group starts at the oldest retained event (it can rebuild from the log).
          g = { cursor: oldest > 0 ? oldest - 1 : latest, pending: 0, dead: 0 };
        }
        const next = { ...g };
        const out: Array<{ pos: number; attempts: number }> = [];
        const visibleAt = at + visibilityMs;
        for (const [k, v] of await scan(`p!${name}!`)) {
          if (out.length >= limit) break;
          const p = JSON.parse(v) as Pending;
          if (p.visibleAt > at) continue;
          const pos = posOf(k);
          if (p.attempts >= limits.maxAttempts) {
            ops.push({ type: 'del', key: k }, { type: 'put', key: dKey(name, pos), value: JSON.stringify({ attempts: p.attempts, deadAt: at }) });
            next.pending--;
            next.dead++;
            continue;
          }
          ops.push({ type: 'put', key: k, value: JSON.stringify({ attempts: p.attempts + 1, visibleAt }) });
          out.push({ pos, attempts: p.attempts + 1 });
        }
        const room = Math.min(limit - out.length, limits.maxPending - next.pending);
        if (room > 0 && next.cursor < latest) {
          for await (const [k] of db.iterator({ gt: eKey(next.cursor), lt: 'e!~', limit: room })) {
            const pos = posOf(k);
            ops.push({ type: 'put', key: pKey(name, pos), value: JSON.stringify({ attempts: 1, visibleAt }) });
            out.push({ pos, attempts: 1 });
            next.pending++;
            next.cursor = pos;
          }
        }
        if (created || next.cursor !== g.cursor) ops.push({ type: 'put', key: gKey(name), value: JSON.stringify({ cursor: next.cursor }) });
        await write(ops);
        groups.set(name, next);
        const found = await events(out.map((c) => c.pos));
        return out
          .sort((a, b) => a.pos - b.pos)
          .flatMap((c): ClaimedEvent[] => {
            const e = found.get(c.pos);
            return e === undefined ? [] : [{ ...e, attempts: c.attempts }];
          });
      });
    },

    ack(name, ids) {
      return serial(async () => {
        const g = requireGroup(name);
        const uniq = [...new Set(ids)];
        const positions = await db.getMany(uniq.map(iKey));
        const keys = positions.map((p) => (p === undefined ? undefined : pKey(name, parseInt(p, 16))));
        const pending = await db.getMany(keys.map((k) => k ?? 'p!~'));
        const acked: string[] = [];
        const notPending: string[] = [];
        const ops: Op[] = [];
        uniq.forEach((id, i) => {
          if (keys[i] === undefined || pending[i] === undefined) return notPending.push(id);
          ops.push({ type: 'del', key: keys[i]! });
          acked.push(id);
        });
        await write(ops);
        g.pending -= acked.length;
        return { acked, notPending };
      });
    },

    async dead(name, limit) {
      requireGroup(name);
      const entries = await scan(`d!${name}!`, limit);
      const found = await events(entries.map(([k]) => posOf(k)));
      return entries.flatMap(([k, v]): DeadEvent[] => {
        const e = found.get(posOf(k));
        const d = JSON.parse(v) as { attempts: number; deadAt: number };
        return e === undefined ? [] : [{ ...e, attempts: d.attempts, deadAt: d.deadAt }];
      });
    },

    deleteGroup(name) {
      return serial(async () => {
        requireGroup(name);
        const ops: Op[] = [{ type: 'del', key: gKey(name) }];
        for (const prefix of [`p!${name}!`, `d!${name}!`]) for (const [k] of await scan(prefix)) ops.push({ type: 'del', key: k });
        await write(ops);
        groups.delete(name);
      });
    },

    async groups(): Promise<GroupInfo[]> {
      return [...groups].map(([name, g]) => ({ name, cursor: g.cursor, pending: g.pending, dead: g.dead, lag: Math.max(0, latest - g.cursor) + g.pending }));
    },

    prune(at) {
      return serial(async (): Promise<PruneResult> => {
        if (oldest === 0) return { dropped: 0, droppedUnacked: 0 };
        let cut = retention.maxEvents > 0 ? Math.max(0, latest - retention.maxEvents) : 0;
        if (retention.maxAgeMs > 0) {
          for await (const [k, v] of db.iterator({ gt: eKey(cut), lt: 'e!~', limit: PRUNE_BATCH })) {
            if ((JSON.parse(v) as Stored).at >= at - retention.maxAgeMs) break;
            cut = posOf(k);
          }
        }
        // What a group has not acknowledged is kept, up to the hard cap (docs/operations.md "Event log").
        for (const [name, g] of groups) {
          let needed = g.cursor + 1;
          for await (const [k] of db.iterator({ ...range(`p!${name}!`), limit: 1 })) needed = Math.min(needed, posOf(k));
          cut = Math.min(cut, needed - 1);
        }
        cut = Math.max(cut, latest - retention.hardMaxEvents);
        cut = Math.min(cut, oldest - 1 + PRUNE_BATCH, latest);
        if (cut < oldest) return { dropped: 0, droppedUnacked: 0 };
        const ops: Op[] = [];
        let dropped = 0;
        for await (const [k, v] of db.iterator({ gte: eKey(oldest), lte: eKey(cut) })) {
          const s = JSON.parse(v) as Stored;
          const pos = posOf(k);
          ops.push({ type: 'del', key: k }, { type: 'del', key: iKey(s.id) }, { type: 'del', key: vKey(s.venueId, pos) });
          dropped++;
        }
        /** Dropped positions some group had not acknowledged (counted once however many groups owed them). */
        const owed = new Set<number>();
        const after = new Map<string, Group>();
        for (const [name, g] of groups) {
          const n = { ...g };
          for await (const [k] of db.iterator({ gt: `p!${name}!`, lte: pKey(name, cut) })) {
            ops.push({ type: 'del', key: k });
            n.pending--;
            owed.add(posOf(k));
          }
          for await (const [k] of db.iterator({ gt: `d!${name}!`, lte: dKey(name, cut) })) {
            ops.push({ type: 'del', key: k });
            n.dead--;
          }
          if (n.cursor < cut) {
            for (let p = Math.max(n.cursor, oldest - 1) + 1; p <= cut; p++) owed.add(p);
            n.cursor = cut;
            ops.push({ type: 'put', key: gKey(name), value: JSON.stringify({ cursor: cut }) });
          }
          after.set(name, n);
        }
        await write(ops);
        for (const [name, n] of after) groups.set(name, n);
        oldest = cut >= latest ? 0 : cut + 1;
        if (oldest === 0) for await (const [k] of db.iterator({ ...range('e!'), limit: 1 })) oldest = posOf(k);
        return { dropped, droppedUnacked: owed.size };
      });
    },

    async close() {
      await chain;
      if (opened) await db.close();
      opened = false;
    },
  };
}
