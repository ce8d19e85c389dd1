/**
 * What every layout under test implements, so the benchmark drives them identically: local writes
 * at one replica, a sync round through a hub (the merged document), and the measures of the merged
 * document. Sync is a star relay, as y-websocket does through central: each replica's updates since
 * the last round go to the hub, and the hub relays them to every other replica.
 */
import type { CounterOp, WorkloadShape } from './workload.ts';

/** A layout under test (one instance per run; holds one document per replica plus the hub). */
export interface Subject {
  /** Applies one operation as a local transaction of `op.replica`'s own document. */
  apply(op: CounterOp): void;
  /** One sync round: every replica's pending updates to the hub, relayed to the others. */
  sync(): void;
  /** Encoded size of the merged (hub) document, in bytes. */
  encodedBytes(): number;
  /** Loads the merged document's encoding into a fresh instance (materialised); returns ms. */
  loadMs(): number;
  /** Net value `inc − dec` per `replica/fridge/meal` in the merged document, for the cross-check. */
  netValues(): Map<string, number>;
}

/** Factory of a subject for a shape. */
export type SubjectFactory = (shape: WorkloadShape) => Subject;

/** Key of the cross-check map. */
export function netKey(replica: string, fridge: string, meal: string): string {
  return `${replica}/${fridge}/${meal}`;
}

/**
 * The live state of the counters as a compact JSON text: `{"<replica>":{"c/<f>/<m>":[inc,dec],…},…}`,
 * exactly the information every replica must keep (inc and dec only grow; rights and `S` are folds
 * of them). Its UTF-8 length is the "live state" the encoded sizes are compared with.
 */
export function liveStateJson(live: ReadonlyMap<string, ReadonlyMap<string, readonly [number, number]>>): string {
  const out: Record<string, Record<string, readonly [number, number]>> = {};
  for (const [replica, cells] of [...live].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const o: Record<string, readonly [number, number]> = {};
    for (const [k, v] of [...cells].sort(([a], [b]) => (a < b ? -1 : 1))) o[k] = v;
    out[replica] = o;
  }
  return JSON.stringify(out);
}
