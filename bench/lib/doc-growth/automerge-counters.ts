/**
 * Subject "Automerge": Automerge 3 Counter documents. Each replica has its own document (a fork of
 * one empty base, so they merge) with its own top-level map `<replica>` and one `Counter` per
 * `<fridge>/<meal>` holding the replica's net `inc − dec` (its rights in this transfer-free
 * workload; a decrement is checked against it first). Changes are made with `Automerge.change`,
 * one per operation, and relayed through a hub document exactly like the Yjs subjects.
 */
import * as A from '@automerge/automerge';
import { cellNames, type CounterOp, type WorkloadShape } from './workload.ts';
import { netKey, type Subject } from './subject.ts';

type Cells = Record<string, A.Counter>;
type Root = Record<string, Cells>;

/** A fixed, distinct actor id (hex) per replica so runs are reproducible. */
function actorOf(i: number): string {
  return (i + 1).toString(16).padStart(32, '0');
}

/** Creates the Automerge subject. */
export function createAutomerge(shape: WorkloadShape): Subject {
  const { fridges, meals } = cellNames(shape);
  const replicas = shape.replicas;
  const base = A.init<Root>({ actor: 'ff'.repeat(16) });
  let hub = A.clone(base, { actor: 'fe'.repeat(16) });
  const docs = replicas.map((r, i) => A.change(A.clone(base, { actor: actorOf(i) }), (d) => void (d[r] = {})));
  const outbox: A.Change[][] = docs.map((d) => [A.getLastLocalChange(d)!]);

  return {
    apply(op: CounterOp) {
      const r = replicas[op.replica]!;
      const cell = `${fridges[op.fridge]}/${meals[op.meal]}`;
      const next = A.change(docs[op.replica]!, (d) => {
        const cells = d[r]!;
        const c = cells[cell];
        if (c === undefined) {
          if (op.delta < 0) throw new Error(`automerge: decrement beyond rights ${JSON.stringify(op)}`);
          cells[cell] = new A.Counter(op.delta);
        } else {
          if (op.delta < 0 && c.value < -op.delta) throw new Error(`automerge: decrement beyond rights ${JSON.stringify(op)}`);
          c.increment(op.delta);
        }
      });
      docs[op.replica] = next;
      outbox[op.replica]!.push(A.getLastLocalChange(next)!);
    },
    sync() {
      const batches = outbox.map((b) => b.splice(0));
      batches.forEach((changes, i) => {
        if (changes.length === 0) return;
        [hub] = A.applyChanges(hub, changes);
        docs.forEach((d, j) => {
          if (j !== i) [docs[j]] = A.applyChanges(d, changes);
        });
      });
    },
    encodedBytes: () => A.save(hub).byteLength,
    loadMs() {
      const bytes = A.save(hub);
      const t0 = performance.now();
      const fresh = A.load<Root>(bytes);
      const n = Object.keys(fresh).length; // the full-fat API materialises the JS object on load
      const ms = performance.now() - t0;
      if (n !== Object.keys(hub).length) throw new Error('automerge: reload lost replicas');
      return ms;
    },
    netValues() {
      const out = new Map<string, number>();
      for (const r of replicas) {
        const cells = hub[r] ?? {};
        for (const [cell, c] of Object.entries(cells)) {
          const [f, m] = cell.split('/');
          out.set(netKey(r, f!, m!), c.value);
        }
      }
      return out;
    },
  };
}
