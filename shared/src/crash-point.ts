/**
 * Crash points: named places in the durable paths where a test can have the process die as if
 * `kill -9`ed, to prove that what was acknowledged survives (docs/reliability.md "Process faults").
 * Armed only by the environment variable {@link CRASH_AT_VARIABLE}, read once by each process's
 * `main.ts` and handed to {@link armCrashPoint}; unarmed, {@link crashPoint} is one comparison with
 * `undefined`.
 *
 * Spec: `<point>[:<n>]` — the process sends itself SIGKILL the `n`-th time (default 1) it reaches
 * `<point>`. SIGKILL, not `process.exit`: no exit handler, flush or close may run, as with a power
 * cut or an OOM kill.
 */

/** The environment variable that arms a crash point (`FRIDGESYNC_CRASH_AT=after-puback:17`). */
export const CRASH_AT_VARIABLE = 'FRIDGESYNC_CRASH_AT';

/** Every crash point there is, with where it sits. */
export const CRASH_POINTS = {
  /** Gateway: a fridge message is durable in the store, its PUBACK not yet written. */
  'before-puback': 'gateway: store write synced, PUBACK not yet sent',
  /** Gateway: a PUBACK was handed to the socket (the fridge will see it), nothing after it ran. */
  'after-puback': 'gateway: PUBACK written to the socket',
  /** Gateway: an update was sent to central, its durable-ack not yet received. */
  'mid-sync': 'gateway: update sent to central, durable-ack outstanding',
  /** Gateway: a compaction's batch (new state, the updates it covers deleted) handed to LevelDB, not yet synced. */
  'mid-compaction': 'gateway: compaction batch written to LevelDB, not yet synced (level-store.ts)',
  /** Gateway: a rebuild gave up the old epoch on disk (meta retired, kept entries recorded), the old document not yet wiped. */
  'mid-retirement': 'gateway: rebuild recorded the old epoch retired, store not yet wiped (local-replica.ts)',
  /** Central: a gateway's update is durable at central, the durable-ack not yet sent. */
  'central-before-durable-ack': 'central: update appended durably, durable-ack not yet sent',
  /** Central: an order is durable at central, the HTTP answer not yet sent. */
  'central-before-order-reply': 'central: order stored, 201 not yet sent',
} as const;

/** A crash point's name. */
export type CrashPointName = keyof typeof CRASH_POINTS;

interface Armed {
  point: CrashPointName;
  remaining: number;
}

/**
 * The one armed point of this process. A process-wide fault switch set once at start by `main.ts`
 * (the points sit deep in code that has no configuration of its own to carry it).
 */
let armed: Armed | undefined;

/** Parses a spec; throws naming the known points when it is not one. */
export function parseCrashSpec(spec: string): Armed {
  const m = /^([a-z-]+)(?::(\d+))?$/.exec(spec.trim());
  const point = m?.[1];
  if (m === null || point === undefined || !(point in CRASH_POINTS)) {
    throw new Error(`${CRASH_AT_VARIABLE}=${spec}: expected <point>[:<n>], point one of ${Object.keys(CRASH_POINTS).join(', ')}`);
  }
  const n = m[2] === undefined ? 1 : Number(m[2]);
  if (n < 1) throw new Error(`${CRASH_AT_VARIABLE}=${spec}: n must be at least 1`);
  return { point: point as CrashPointName, remaining: n };
}

/** Arms the point named by `spec` (undefined or empty: nothing armed). */
export function armCrashPoint(spec: string | undefined): void {
  armed = spec === undefined || spec === '' ? undefined : parseCrashSpec(spec);
}

/** True when `point` is the armed one (to skip work that only serves a crash point). */
export function crashPointArmed(point: CrashPointName): boolean {
  return armed !== undefined && armed.point === point;
}

/** Dies here (SIGKILL to itself) when this point is armed and its count is reached. */
export function crashPoint(point: CrashPointName): void {
  if (armed === undefined || armed.point !== point) return;
  if (--armed.remaining > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
