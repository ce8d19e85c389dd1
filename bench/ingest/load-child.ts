/**
 * The ingest benchmark's fridges run in their own process, as real fridges do, so the system under
 * test never shares its event loop with the load. Reads a JSON job from argv[2]; sends the results
 * back over IPC. Timestamps are wall-clock ms (`performance.timeOrigin + performance.now()`) so the
 * parent can match them with durability it observes itself.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { closeAll, connectFridges, runLoad, type FridgeLogin, type LoadResult } from './load.ts';

interface Job {
  logins: FridgeLogin[];
  durationMs: number;
  window: number;
  meals: number;
  rates: Array<number | null>;
  warmupMs: number;
  recordStarts: boolean;
}

const job = JSON.parse(process.argv[2]!) as Job;
const clients = await connectFridges(job.logins);
const results: Array<LoadResult & { starts?: Array<[string, number]> }> = [];
// Warm-up at the first phase's rate, not measured: the first seconds after 200 fridges connect
// carry one-off work in every system (JIT compilation, first stock of every fridge).
if (job.warmupMs > 0) await runLoad(clients, { fridges: job.logins, durationMs: job.warmupMs, window: job.window, meals: job.meals, rate: job.rates[0] ?? undefined, seqOffset: 0 });
for (const [phase, rate] of job.rates.entries()) {
  const starts: Array<[string, number]> = [];
  // The parent measures its own event loop per phase; this process measures its own (a fridge's
  // wait for its PUBACK includes this process's pauses).
  process.send!({ phase, state: 'start' });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const r = await runLoad(clients, {
    fridges: job.logins,
    durationMs: job.durationMs,
    window: job.window,
    meals: job.meals,
    rate: rate ?? undefined,
    seqOffset: (phase + 1) * 10_000_000,
    onPublish: job.recordStarts ? (f, seq, t0) => starts.push([`${f}#${seq}`, performance.timeOrigin + t0]) : undefined,
  });
  loop.disable();
  process.send!({ phase, state: 'end' });
  const loadLoop = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  results.push(job.recordStarts ? { ...r, loadLoop, starts } : { ...r, loadLoop });
}
await closeAll(clients);
process.send!({ results }, () => process.exit(0));
