/**
 * A load generator for benchmarks (e.g. `bench/gateway-ingest`): many fridges publishing
 * inventory snapshots at a target total rate, each through its bounded in-flight window, and the
 * publish → PUBACK latency (PUBACK = durable at the gateway, README "Contracts"). No HTTP, no checks.
 */
import { FridgeClient } from './fridge-client.ts';
import { FridgeModel } from './fridge-model.ts';
import { Prng } from './prng.ts';
import { RunStats, type LatencySummary } from './stats.ts';

/** Options of {@link runSnapshotLoad}. */
export interface SnapshotLoadOptions {
  /** Broker URL. */
  url: string;
  /** The fridges to play (ids and secrets, e.g. from a fleet file). */
  fridges: ReadonlyArray<{ fridgeId: string; secret: string }>;
  topicPrefix?: string;
  /** Snapshots per second across all fridges; 0 = as fast as the windows allow. */
  ratePerSecond: number;
  durationMs: number;
  /** In-flight QoS 1 publishes per fridge (default 32). */
  window?: number;
  qos?: 0 | 1;
  /** Meals per snapshot (default 12). */
  meals?: number;
  seed?: string | number;
  /** Time limit for connecting every fridge (default 15,000). */
  connectTimeoutMs?: number;
}

/** What a load run measured. */
export interface SnapshotLoadResult {
  /** Snapshots handed to the clients. */
  sent: number;
  /** Snapshots acknowledged (PUBACK for QoS 1). */
  acked: number;
  errors: number;
  /** Times the pacer found every window full (the system is slower than the target rate). */
  behind: number;
  elapsedMs: number;
  ackedPerSecond: number;
  /** Publish → PUBACK. */
  latencyMs: LatencySummary;
  windowPeak: number;
}

/** Connects the fridges, publishes for `durationMs`, waits for outstanding PUBACKs, disconnects. */
export async function runSnapshotLoad(o: SnapshotLoadOptions): Promise<SnapshotLoadResult> {
  const stats = new RunStats();
  const prng = new Prng(o.seed ?? 1);
  const meals = Array.from({ length: o.meals ?? 12 }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
  const players = o.fridges.map((f) => ({
    client: new FridgeClient({ url: o.url, fridgeId: f.fridgeId, secret: f.secret, stats, window: o.window ?? 32, qos: o.qos ?? 1, ...(o.topicPrefix ? { topicPrefix: o.topicPrefix } : {}) }),
    model: new FridgeModel({ initial: Object.fromEntries(meals.map((m) => [m, 10])), boot: Math.floor(Date.now() / 1_000) }),
  }));
  try {
    for (let i = 0; i < players.length; i += 50) await Promise.all(players.slice(i, i + 50).map((p) => p.client.start(o.connectTimeoutMs ?? 15_000)));
    // Measure the load, not the connection handshakes (each fridge's online status).
    stats.publishAck.reset();
    let sent = 0;
    let acked = 0;
    let behind = 0;
    let next = 0;
    const pending = new Set<Promise<void>>();
    const t0 = performance.now();
    const errorsAtStart = stats.counters.publishErrors;
    const publish = (): boolean => {
      // Round-robin over fridges with a free slot; a full window means the system is behind.
      for (let tries = 0; tries < players.length; tries++) {
        const p = players[next++ % players.length]!;
        if (p.client.window.inFlight >= p.client.window.size) continue;
        const meal = meals[prng.int(0, meals.length - 1)]!;
        if (prng.chance(0.5)) p.model.take(meal, 1);
        else p.model.restock({ [meal]: 1 });
        const done = p.client.publishInventory(p.model.snapshot(new Date()), { coalesce: false }).then(() => {
          acked++;
        });
        pending.add(done);
        void done.finally(() => pending.delete(done));
        sent++;
        return true;
      }
      behind++;
      return false;
    };
    while (performance.now() - t0 < o.durationMs) {
      const elapsed = performance.now() - t0;
      // Unlimited: at most one round of every window per turn of the event loop.
      const due = o.ratePerSecond > 0 ? Math.floor((elapsed / 1_000) * o.ratePerSecond) - sent : players.length * (o.window ?? 32);
      for (let i = 0; i < due; i++) if (!publish()) break;
      await new Promise((r) => setTimeout(r, o.ratePerSecond > 0 ? 5 : 0));
    }
    await Promise.all([...pending]);
    const elapsedMs = performance.now() - t0;
    const errors = stats.counters.publishErrors - errorsAtStart;
    return {
      sent, acked: acked - errors, errors, behind, elapsedMs,
      ackedPerSecond: ((acked - errors) / elapsedMs) * 1_000,
      latencyMs: stats.publishAck.summary(),
      windowPeak: Math.max(0, ...players.map((p) => p.client.window.peak)),
    };
  } finally {
    await Promise.all(players.map((p) => p.client.stop(1_000)));
  }
}
