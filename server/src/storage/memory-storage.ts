/**
 * In-memory {@link DocStorage}: for tests and demos. Nothing survives the process. Copies bytes in
 * and out so callers cannot mutate stored state.
 */
import type { VenueId } from '@fridgesync/shared';
import type { DocStorage, StoredVenue } from './storage-port.ts';

interface Log {
  /** position → update */
  entries: Map<number, Uint8Array>;
  next: number;
}

/** Creates an in-memory store. */
export function createMemoryStorage(): DocStorage {
  const logs = new Map<string, Log>();
  const meta = new Map<string, Uint8Array>();
  let closed = false;
  const live = () => {
    if (closed) throw new Error('storage closed');
  };
  const log = (v: VenueId): Log => {
    let l = logs.get(v);
    if (l === undefined) logs.set(v, (l = { entries: new Map(), next: 1 }));
    return l;
  };
  return {
    async open() {},
    async append(venue, update) {
      live();
      const l = log(venue);
      const pos = l.next++;
      l.entries.set(pos, update.slice());
      return pos;
    },
    async load(venue): Promise<StoredVenue> {
      live();
      const l = logs.get(venue);
      if (l === undefined) return { updates: [], position: 0 };
      const ps = [...l.entries.keys()].sort((a, b) => a - b);
      return { updates: ps.map((p) => l.entries.get(p)!.slice()), position: ps[ps.length - 1] ?? 0 };
    },
    async compact(venue, merged, position) {
      live();
      const l = log(venue);
      for (const p of [...l.entries.keys()]) if (p <= position) l.entries.delete(p);
      l.entries.set(position, merged.slice());
      if (l.next <= position) l.next = position + 1;
    },
    async getMeta(name) {
      live();
      return meta.get(name)?.slice();
    },
    async putMeta(name, value) {
      live();
      meta.set(name, value.slice());
    },
    async listVenues() {
      live();
      return [...logs.entries()].filter(([, l]) => l.entries.size > 0).map(([v]) => v as VenueId).sort();
    },
    async close() {
      closed = true;
    },
  };
}
