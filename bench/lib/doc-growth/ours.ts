/**
 * Subject "ours": the production layout, one {@link VenueDoc} per replica writing its keyed log
 * `r:<replica>` through the bounded-counter operations of `@fridgesync/shared`, and a read-only
 * VenueDoc as the hub (central's merged document).
 */
import * as Y from 'yjs';
import {
  ORIGINS,
  ReplicaIdSchema,
  FridgeIdSchema,
  MealIdSchema,
  VenueDoc,
  decrement,
  increment,
  keys,
  type CounterValue,
  type FridgeId,
  type MealId,
  type ReplicaId,
} from '@fridgesync/shared';
import { cellNames, type CounterOp, type WorkloadShape } from './workload.ts';
import { netKey, type Subject } from './subject.ts';

/** Creates the "ours" subject. */
export function createOurs(shape: WorkloadShape): Subject & { hub: VenueDoc; replicaIds: ReplicaId[] } {
  const names = cellNames(shape);
  const fridges: FridgeId[] = names.fridges.map((f) => FridgeIdSchema.parse(f));
  const meals: MealId[] = names.meals.map((m) => MealIdSchema.parse(m));
  const replicaIds: ReplicaId[] = shape.replicas.map((r) => ReplicaIdSchema.parse(r));
  const docs = replicaIds.map((replica) => new VenueDoc({ replica }));
  const outbox: Uint8Array[][] = docs.map(() => []);
  docs.forEach((d, i) =>
    d.ydoc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === ORIGINS.test) outbox[i]!.push(u); // only local writes are sent, never echoes
    }),
  );
  const hub = new VenueDoc();

  return {
    hub,
    replicaIds,
    apply(op: CounterOp) {
      const f = fridges[op.fridge]!;
      const m = meals[op.meal]!;
      const r = docs[op.replica]!.transact(ORIGINS.test, (w) => (op.delta > 0 ? increment(w, f, m, op.delta) : decrement(w, f, m, -op.delta)));
      if (!r.ok) throw new Error(`ours refused ${JSON.stringify(op)}: ${r.code}`);
    },
    sync() {
      const batches = outbox.map((b) => (b.length === 0 ? undefined : Y.mergeUpdates(b.splice(0))));
      batches.forEach((u, i) => {
        if (u === undefined) return;
        hub.applyUpdate(u, { kind: 'upstream', peer: replicaIds[i] });
        docs.forEach((d, j) => {
          if (j !== i) d.applyUpdate(u, { kind: 'upstream', peer: 'hub' });
        });
      });
    },
    encodedBytes: () => Y.encodeStateAsUpdate(hub.ydoc).byteLength,
    loadMs() {
      const u = Y.encodeStateAsUpdate(hub.ydoc);
      const t0 = performance.now();
      const fresh = new VenueDoc();
      fresh.applyUpdate(u, ORIGINS.storageLoad); // the materialiser builds the index in the same call
      const ms = performance.now() - t0;
      if (fresh.index.counters.size !== hub.index.counters.size) throw new Error('ours: reload lost counters');
      return ms;
    },
    netValues() {
      const out = new Map<string, number>();
      for (const r of replicaIds)
        for (const f of fridges)
          for (const m of meals) {
            const v = hub.get(r, keys.counter(f, m)) as CounterValue | undefined;
            if (v !== undefined) out.set(netKey(r, f, m), v[0] - v[1]);
          }
      return out;
    },
  };
}

/** The live counter entries of a VenueDoc, by replica (for {@link liveStateJson}). */
export function liveCounters(doc: VenueDoc, replicas: readonly ReplicaId[]): Map<string, Map<string, [number, number]>> {
  const out = new Map<string, Map<string, [number, number]>>();
  for (const r of replicas) {
    const m = new Map<string, [number, number]>();
    for (const [k, v] of doc.entriesOf(r)) if (k.startsWith('c/')) m.set(k, v as [number, number]);
    out.set(r, m);
  }
  return out;
}
