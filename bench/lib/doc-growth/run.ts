/**
 * Drives one subject through a workload: pre-generated operations (generation is not timed), local
 * writes timed in batches, a sync round after every batch (timed separately), a time budget after
 * which the run stops early and says so, then the measures of the merged document and a cross-check
 * of every counter against the workload's own model.
 */
import { generateOps, cellNames, type WorkloadShape } from './workload.ts';
import { liveStateJson, netKey, type SubjectFactory } from './subject.ts';

/** Operations packed 4 ints each (replica, fridge, meal, delta), so 10^6 ops take 16 MB. */
export interface OpTape {
  readonly count: number;
  readonly data: Int32Array;
}

/** Generates the operations once; every subject replays a prefix of the same tape. */
export function recordOps(shape: WorkloadShape, count: number, seed: number): OpTape {
  const data = new Int32Array(count * 4);
  let i = 0;
  for (const op of generateOps(shape, count, seed)) {
    data[i++] = op.replica;
    data[i++] = op.fridge;
    data[i++] = op.meal;
    data[i++] = op.delta;
  }
  return { count, data };
}

/** Options of one run. */
export interface RunOptions {
  /** Operations to apply (a prefix of the tape). */
  ops: number;
  /** Sync round after this many operations (all replicas together). */
  syncEvery: number;
  /** Stop applying operations after this much wall time (ms); the run reports itself capped. */
  budgetMs: number;
}

/** Measures of one run. */
export interface RunResult {
  /** Operations actually applied (less than asked when capped). */
  ops: number;
  capped: boolean;
  /** Time in local write transactions only (ms). */
  writeMs: number;
  /** Time in sync rounds: hub and relays (ms). */
  syncMs: number;
  /** Encoded size of the merged document (bytes). */
  encodedBytes: number;
  /** UTF-8 bytes of the compact JSON of the live counter entries (see `liveStateJson`). */
  liveBytes: number;
  /** Time to load the merged document's encoding into a fresh, materialised instance (ms, median of 3). */
  loadMs: number;
}

/** Runs one subject; throws if the merged document disagrees with the workload model. */
export function runSubject(factory: SubjectFactory, shape: WorkloadShape, tape: OpTape, o: RunOptions): RunResult {
  const subject = factory(shape);
  const n = Math.min(o.ops, tape.count);
  const d = tape.data;
  const op = { replica: 0, fridge: 0, meal: 0, delta: 0 };
  let writeMs = 0;
  let syncMs = 0;
  let done = 0;
  let capped = false;
  const start = performance.now();
  while (done < n) {
    const end = Math.min(n, done + o.syncEvery);
    const t0 = performance.now();
    for (let i = done; i < end; i++) {
      op.replica = d[i * 4]!;
      op.fridge = d[i * 4 + 1]!;
      op.meal = d[i * 4 + 2]!;
      op.delta = d[i * 4 + 3]!;
      subject.apply(op);
    }
    const t1 = performance.now();
    subject.sync();
    const t2 = performance.now();
    writeMs += t1 - t0;
    syncMs += t2 - t1;
    done = end;
    if (done < n && t2 - start > o.budgetMs) {
      capped = true;
      break;
    }
  }
  // The model: inc/dec per replica and cell from the tape prefix actually applied.
  const { fridges, meals } = cellNames(shape);
  const live = new Map<string, Map<string, [number, number]>>();
  const expected = new Map<string, number>();
  for (let i = 0; i < done; i++) {
    const r = shape.replicas[d[i * 4]!]!;
    const f = fridges[d[i * 4 + 1]!]!;
    const m = meals[d[i * 4 + 2]!]!;
    const delta = d[i * 4 + 3]!;
    let cells = live.get(r);
    if (cells === undefined) live.set(r, (cells = new Map()));
    const k = `c/${f}/${m}`;
    const v = cells.get(k) ?? [0, 0];
    cells.set(k, delta > 0 ? [v[0] + delta, v[1]] : [v[0], v[1] - delta]);
    const nk = netKey(r, f, m);
    expected.set(nk, (expected.get(nk) ?? 0) + delta);
  }
  const got = subject.netValues();
  if (got.size !== expected.size) throw new Error(`merged document has ${got.size} counters, model ${expected.size}`);
  for (const [k, v] of expected) if (got.get(k) !== v) throw new Error(`counter ${k}: merged ${got.get(k)}, model ${v}`);
  const loads = [subject.loadMs(), subject.loadMs(), subject.loadMs()].sort((a, b) => a - b);
  return {
    ops: done,
    capped,
    writeMs,
    syncMs,
    encodedBytes: subject.encodedBytes(),
    liveBytes: Buffer.byteLength(liveStateJson(live)),
    loadMs: loads[1]!,
  };
}
