/**
 * The checker of a recorded history (history.ts) against the state every replica reports after
 * the faults healed (docs/reliability.md "Checker"). Each check returns violations, never throws,
 * so a run reports all of them at once.
 *
 * - `snapshot-bounds`: fridges send full totals, so the Jepsen bounds
 *   `acked increments − attempted decrements ≤ read ≤ attempted increments − acked decrements`
 *   become: the totals a replica reads for a fridge are those of one snapshot no older than the
 *   newest acknowledged one (an unacknowledged later one may have landed too; a refused one may
 *   not). Reading an older snapshot's totals is an acknowledged snapshot lost.
 * - `order-lost`: every confirmed order is known to every replica with the contents confirmed.
 * - `order-phantom`: an id whose every attempt was refused exists nowhere (refused input changes nothing).
 * - `contents-conflict`: an id confirmed with different contents reads with `conflicts` holding
 *   `contents` and every confirmed variant, never one silently replacing the other.
 * - `oversell`: the units of the orders that read as reserved or picked up never exceed the most
 *   stock the fridge ever reported (scenarios without walk-ins: the counter cannot have allowed more).
 * - `diverged`: after healing every replica folds the same cells and order states.
 */
import type { History, Op, OrderOp, ReplicaRead, SnapshotOp } from './history.ts';

/** One broken property, with enough detail to find it in the history. */
export interface Violation {
  check: 'snapshot-bounds' | 'order-lost' | 'order-phantom' | 'contents-conflict' | 'oversell' | 'diverged';
  detail: string;
}

const sameItems = (a: Record<string, number>, b: Record<string, number>, meals: Iterable<string>) => [...meals].every((m) => (a[m] ?? 0) === (b[m] ?? 0));
const itemsKey = (items: Record<string, number>) => JSON.stringify(Object.entries(items).filter(([, q]) => q > 0).sort(([a], [b]) => a.localeCompare(b)));
const byTag = (a: SnapshotOp, b: SnapshotOp) => a.boot - b.boot || a.seq - b.seq;

/** Runs every check; an empty list means the history is consistent with what the replicas read. */
export function check(history: History | readonly Op[], reads: readonly ReplicaRead[]): Violation[] {
  const ops = Array.isArray(history) ? (history as readonly Op[]) : (history as History).ops;
  const snapshots = ops.filter((o): o is SnapshotOp => o.kind === 'snapshot');
  const orders = ops.filter((o): o is OrderOp => o.kind === 'order');
  return [...checkSnapshots(snapshots, reads), ...checkOrders(orders, reads), ...checkOversell(snapshots, orders, reads), ...checkConverged(snapshots, orders, reads)];
}

/** The acknowledged-snapshot bound per fridge and replica. */
export function checkSnapshots(snapshots: readonly SnapshotOp[], reads: readonly ReplicaRead[]): Violation[] {
  const out: Violation[] = [];
  for (const fridge of new Set(snapshots.map((s) => s.fridge))) {
    const mine = snapshots.filter((s) => s.fridge === fridge).sort(byTag);
    const meals = new Set(mine.flatMap((s) => Object.keys(s.items)));
    const newestAcked = mine.findLastIndex((s) => s.outcome === 'ok');
    // Candidates: the newest acknowledged snapshot and every later one that may have landed.
    const candidates = mine.slice(Math.max(newestAcked, 0)).filter((s) => s.outcome !== 'fail');
    for (const read of reads) {
      const cells = read.cells[fridge] ?? {};
      const seen: Record<string, number> = Object.fromEntries([...meals].map((m) => [m, cells[m]?.T ?? 0]));
      if (newestAcked < 0 && [...meals].every((m) => seen[m] === 0)) continue; // nothing acknowledged, nothing landed
      if (candidates.some((c) => sameItems(c.items, seen, meals))) continue;
      const older = mine.slice(0, Math.max(newestAcked, 0)).findLast((s) => sameItems(s.items, seen, meals));
      const acked = mine[newestAcked];
      out.push({
        check: 'snapshot-bounds',
        detail:
          `${read.replica} reads ${fridge} as ${JSON.stringify(seen)}` +
          (acked === undefined ? '' : `; the newest acknowledged snapshot is (${acked.boot},${acked.seq}) ${JSON.stringify(acked.items)}`) +
          (older === undefined ? ', which no snapshot sent' : `: that is the older (${older.boot},${older.seq}), an acknowledged snapshot was lost`),
      });
    }
  }
  return out;
}

/** Lost, phantom and silently replaced orders. */
export function checkOrders(orders: readonly OrderOp[], reads: readonly ReplicaRead[]): Violation[] {
  const out: Violation[] = [];
  for (const id of new Set(orders.map((o) => o.orderId))) {
    const attempts = orders.filter((o) => o.orderId === id);
    const confirmed = attempts.filter((o) => o.outcome === 'ok');
    const variants = new Map(confirmed.map((o) => [itemsKey(o.items), o.items]));
    for (const read of reads) {
      const got = read.orders[id];
      if (attempts.every((o) => o.outcome === 'fail')) {
        if (got !== undefined) out.push({ check: 'order-phantom', detail: `${read.replica} holds order ${id} (${got.state}) although every attempt was refused` });
        continue;
      }
      if (confirmed.length === 0) continue;
      if (got === undefined) {
        out.push({ check: 'order-lost', detail: `${read.replica} does not know confirmed order ${id}` });
        continue;
      }
      const readKeys = new Set(got.variants.map(itemsKey));
      for (const [key, items] of variants) {
        if (!readKeys.has(key)) out.push({ check: variants.size > 1 ? 'contents-conflict' : 'order-lost', detail: `${read.replica} reads order ${id} without the confirmed contents ${JSON.stringify(items)} (reads ${JSON.stringify(got.variants)})` });
      }
      if (variants.size > 1 && !got.conflicts.includes('contents')) {
        out.push({ check: 'contents-conflict', detail: `${read.replica}: order ${id} was confirmed with ${variants.size} different contents but reports conflicts ${JSON.stringify(got.conflicts)}` });
      }
    }
  }
  return out;
}

/** Units held by orders never above the most stock the fridge reported. */
export function checkOversell(snapshots: readonly SnapshotOp[], orders: readonly OrderOp[], reads: readonly ReplicaRead[]): Violation[] {
  const out: Violation[] = [];
  const allowance = new Map<string, number>();
  for (const s of snapshots) {
    if (s.outcome === 'fail') continue;
    for (const [m, q] of Object.entries(s.items)) allowance.set(`${s.fridge}/${m}`, Math.max(q, allowance.get(`${s.fridge}/${m}`) ?? 0));
  }
  const fridgeOf = new Map(orders.map((o) => [o.orderId, o.fridge]));
  for (const read of reads) {
    const held = new Map<string, number>();
    for (const [id, o] of Object.entries(read.orders)) {
      if (o.state !== 'reserved' && o.state !== 'picked_up') continue;
      const fridge = fridgeOf.get(id);
      if (fridge === undefined) continue;
      for (const v of o.variants) for (const [m, q] of Object.entries(v)) held.set(`${fridge}/${m}`, (held.get(`${fridge}/${m}`) ?? 0) + q);
    }
    for (const [cell, units] of held) {
      const most = allowance.get(cell) ?? 0;
      if (units > most) out.push({ check: 'oversell', detail: `${read.replica}: ${units} units of ${cell} held by orders, the fridge never reported more than ${most}` });
    }
  }
  return out;
}

/** Every replica folds what the first one folds. */
export function checkConverged(snapshots: readonly SnapshotOp[], orders: readonly OrderOp[], reads: readonly ReplicaRead[]): Violation[] {
  const out: Violation[] = [];
  const [first, ...rest] = reads;
  if (first === undefined) return out;
  const fridges = new Set([...snapshots.map((s) => s.fridge), ...orders.map((o) => o.fridge)]);
  const meals = new Set([...snapshots.flatMap((s) => Object.keys(s.items)), ...orders.flatMap((o) => Object.keys(o.items))]);
  const ids = new Set(orders.map((o) => o.orderId));
  const view = (r: ReplicaRead) => ({
    cells: [...fridges].map((f) => [...meals].map((m) => r.cells[f]?.[m] ?? { T: 0, R: 0, S: 0 }).map((c) => `${c.T}/${c.R}/${c.S}`)),
    orders: [...ids].map((id) => {
      const o = r.orders[id];
      return o === undefined ? '-' : `${o.state}:${[...o.conflicts].sort().join('+')}:${o.variants.map(itemsKey).sort().join('|')}`;
    }),
  });
  const a = view(first);
  for (const r of rest) {
    const b = view(r);
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ check: 'diverged', detail: `${first.replica} ${JSON.stringify(a)} ≠ ${r.replica} ${JSON.stringify(b)}` });
  }
  return out;
}

/** Throws one error listing every violation (with the replay line), or returns. */
export function assertConsistent(violations: readonly Violation[], replay: string): void {
  if (violations.length === 0) return;
  throw new Error(`${violations.length} violation(s):\n${violations.map((v) => `  [${v.check}] ${v.detail}`).join('\n')}\nreplay: ${replay}`);
}
