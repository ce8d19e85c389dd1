/**
 * Load generator for the ingest benchmark: N fridge clients (mqtt.js, MQTT 3.1.1) publishing QoS 1
 * full-total snapshots, each keeping a bounded window of publishes in flight (flooding mqtt.js
 * with unbounded publishes is an order of magnitude slower and measures the client, not the broker).
 */
import mqtt, { type MqttClient } from 'mqtt';

/** One fridge's credentials and broker. */
export interface FridgeLogin {
  fridgeId: string;
  url: string;
  username?: string;
  password?: string;
}

/** Options of a load run. */
export interface LoadOptions {
  fridges: FridgeLogin[];
  /** Run length, ms. */
  durationMs: number;
  /** Publishes in flight per fridge. */
  window: number;
  /** Total target rate, msg/s; `undefined` = as fast as the windows allow. */
  rate?: number;
  /** Meals per snapshot. */
  meals: number;
  /** Topic prefix. */
  prefix?: string;
  /** First sequence number minus one (phases of one run must not reuse sequence numbers). */
  seqOffset?: number;
  /** Called with (fridgeId, seq, publishStartMs) before each publish (for externally observed durability). */
  onPublish?: (fridgeId: string, seq: number, t0: number) => void;
}

/** Result of a load run. */
export interface LoadResult {
  sent: number;
  acked: number;
  /** publish→PUBACK latencies, ms. */
  ackLatencies: number[];
  /** Publishes skipped because a fridge's window was full at its tick (rate mode). */
  behind: number;
  elapsedMs: number;
  errors: number;
  /** The load process's own event-loop delay during the run, ms (set by the load process). */
  loadLoop?: { p99: number; max: number };
}

/** Connects all fridges (in batches, so a broker's connection limiter is not the thing measured). */
export async function connectFridges(logins: FridgeLogin[]): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < logins.length; i += 25) {
    const batch = logins.slice(i, i + 25).map(
      (l) =>
        new Promise<MqttClient>((resolve, reject) => {
          const c = mqtt.connect(l.url, {
            protocolVersion: 4,
            clientId: l.fridgeId,
            username: l.username,
            password: l.password,
            clean: true,
            reconnectPeriod: 0,
            connectTimeout: 10_000,
          });
          c.once('connect', () => resolve(c));
          c.once('error', reject);
        }),
    );
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/** Runs the load; clients must be connected to the brokers named in `fridges`. */
export async function runLoad(clients: MqttClient[], o: LoadOptions): Promise<LoadResult> {
  const res: LoadResult = { sent: 0, acked: 0, ackLatencies: [], behind: 0, elapsedMs: 0, errors: 0 };
  const start = performance.now();
  const end = start + o.durationMs;
  const prefix = o.prefix ?? '';
  const boot = Math.floor(Date.now() / 1000);
  const inFlight = new Array<number>(clients.length).fill(0);
  const seqs = new Array<number>(clients.length).fill(o.seqOffset ?? 0);
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let open = clients.length;

  const publishOne = (i: number): void => {
    const c = clients[i]!;
    const fridgeId = o.fridges[i]!.fridgeId;
    const seq = ++seqs[i]!;
    const items: Record<string, number> = {};
    for (let m = 0; m < o.meals; m++) items[`meal-${m}`] = (seq + m) % 20;
    const payload = JSON.stringify({ boot, seq, ts: new Date().toISOString(), items });
    const t0 = performance.now();
    o.onPublish?.(fridgeId, seq, t0);
    inFlight[i]!++;
    res.sent++;
    c.publish(`${prefix}fridges/${fridgeId}/inventory`, payload, { qos: 1 }, (err) => {
      inFlight[i]!--;
      if (err) res.errors++;
      else {
        res.acked++;
        res.ackLatencies.push(performance.now() - t0);
      }
      if (o.rate === undefined) pump(i);
      else if (performance.now() >= end && inFlight[i] === 0) closeOne();
    });
  };

  const closeOne = () => {
    if (--open === 0) finish();
  };

  const pump = (i: number): void => {
    if (performance.now() >= end) {
      if (inFlight[i] === 0) closeOne();
      return;
    }
    while (inFlight[i]! < o.window) publishOne(i);
  };

  if (o.rate === undefined) {
    for (let i = 0; i < clients.length; i++) pump(i);
  } else {
    // Fixed rate: each fridge ticks at rate/N per second, offset so ticks spread evenly.
    const perFridgeMs = (1000 * clients.length) / o.rate;
    const timers: NodeJS.Timeout[] = [];
    clients.forEach((_, i) => {
      const startTimer = setTimeout(() => {
        const t = setInterval(() => {
          if (performance.now() >= end) {
            clearInterval(t);
            if (inFlight[i] === 0) closeOne();
            return;
          }
          if (inFlight[i]! >= o.window) res.behind++;
          else publishOne(i);
        }, perFridgeMs);
        timers.push(t);
      }, (i * perFridgeMs) / clients.length);
      timers.push(startTimer);
    });
  }
  await done;
  res.elapsedMs = performance.now() - start;
  return res;
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Closes all clients. */
export async function closeAll(clients: MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => new Promise<void>((r) => c.end(true, {}, () => r()))));
}
