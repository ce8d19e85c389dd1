/**
 * Subject "naive Y.Map": the layout docs/design.md "Yjs pitfalls designed around" warns about. One top-level `Y.Map` named
 * `counters`, one key per `<fridge>/<meal>/<replica>` holding `[inc, dec]`, overwritten on every
 * operation. Keys have a single writer, so no value is lost, but every overwrite leaves an item
 * that Yjs must keep (only its content is garbage-collected).
 */
import * as Y from 'yjs';
import { cellNames, type CounterOp, type WorkloadShape } from './workload.ts';
import { netKey, type Subject } from './subject.ts';

const LOCAL = Symbol('local');

/** Creates the naive subject. */
export function createNaiveYMap(shape: WorkloadShape): Subject {
  const { fridges, meals } = cellNames(shape);
  const replicas = shape.replicas;
  const docs = replicas.map(() => new Y.Doc({ gc: true }));
  const maps = docs.map((d) => d.getMap<[number, number]>('counters'));
  const outbox: Uint8Array[][] = docs.map(() => []);
  docs.forEach((d, i) =>
    d.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) outbox[i]!.push(u);
    }),
  );
  const hub = new Y.Doc({ gc: true });
  const key = (r: number, f: number, m: number) => `${fridges[f]}/${meals[m]}/${replicas[r]}`;

  return {
    apply(op: CounterOp) {
      const map = maps[op.replica]!;
      const k = key(op.replica, op.fridge, op.meal);
      docs[op.replica]!.transact(() => {
        const [inc, dec] = map.get(k) ?? [0, 0];
        if (op.delta < 0 && inc - dec < -op.delta) throw new Error(`naive: decrement beyond rights ${JSON.stringify(op)}`);
        map.set(k, op.delta > 0 ? [inc + op.delta, dec] : [inc, dec - op.delta]);
      }, LOCAL);
    },
    sync() {
      const batches = outbox.map((b) => (b.length === 0 ? undefined : Y.mergeUpdates(b.splice(0))));
      batches.forEach((u, i) => {
        if (u === undefined) return;
        Y.applyUpdate(hub, u, 'upstream');
        docs.forEach((d, j) => {
          if (j !== i) Y.applyUpdate(d, u, 'upstream');
        });
      });
    },
    encodedBytes: () => Y.encodeStateAsUpdate(hub).byteLength,
    loadMs() {
      const u = Y.encodeStateAsUpdate(hub);
      const t0 = performance.now();
      const fresh = new Y.Doc({ gc: true });
      Y.applyUpdate(fresh, u);
      // Materialise what a reader needs (the same role as our index): every live value by key.
      const view = new Map(fresh.getMap<[number, number]>('counters').entries());
      const ms = performance.now() - t0;
      if (view.size !== hub.getMap('counters').size) throw new Error('naive: reload lost keys');
      return ms;
    },
    netValues() {
      const out = new Map<string, number>();
      const map = hub.getMap<[number, number]>('counters');
      replicas.forEach((r, ri) =>
        fridges.forEach((f, fi) =>
          meals.forEach((m, mi) => {
            const v = map.get(key(ri, fi, mi));
            if (v !== undefined) out.set(netKey(r, f, m), v[0] - v[1]);
          }),
        ),
      );
      return out;
    },
  };
}
