/**
 * The doc-growth workload: a seeded, interleaved stream of bounded-counter operations over
 * `meals × fridges × replicas`, as real traffic arrives (each op picks a random cell and a random
 * replica). Decrements are generated within the replica's rights as a plain model tracks them, so
 * every layout under test receives exactly the same concrete operations and none is refused.
 */

/** One concrete counter operation. `delta > 0` is an increment, `delta < 0` a decrement. */
export interface CounterOp {
  /** Index into {@link Workload.replicas}. */
  replica: number;
  /** Index into {@link Workload.fridges}. */
  fridge: number;
  /** Index into {@link Workload.meals}. */
  meal: number;
  delta: number;
}

/** Shape of the workload. */
export interface WorkloadShape {
  fridges: number;
  meals: number;
  /** Replica ids, as strings (`gw:<g>:<epoch>` / `central:<i>`). */
  replicas: readonly string[];
}

/** The default shape (docs/benchmarks.md): 50 meals × 5 fridges × 4 replicas (two gateways, two central processes). */
export const DEFAULT_SHAPE: WorkloadShape = {
  fridges: 5,
  meals: 50,
  replicas: ['gw:g1:1', 'gw:g2:1', 'central:c1', 'central:c2'],
};

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). Good enough for a workload. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names of fridges and meals, as ids (`f1`…, `m01`…). */
export function cellNames(shape: WorkloadShape): { fridges: string[]; meals: string[] } {
  const fridges = Array.from({ length: shape.fridges }, (_, i) => `f${i + 1}`);
  const meals = Array.from({ length: shape.meals }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
  return { fridges, meals };
}

/**
 * Generates `count` operations with `seed`. Mix: 30% increments of 1–12 units (deliveries and
 * rights arriving), 70% decrements of 1–2 units (sales) clamped to the replica's rights; a
 * decrement with no rights left becomes an increment (the taker would first get more rights).
 * The stream of a given seed is a prefix of every longer stream of that seed, so a run at 10^4 ops
 * and a run at 10^6 ops share their first 10^4 operations.
 */
export function* generateOps(shape: WorkloadShape, count: number, seed: number): Generator<CounterOp> {
  const rnd = mulberry32(seed);
  const nr = shape.replicas.length;
  const cells = shape.fridges * shape.meals;
  // rights[replica * cells + cell]: what the replica holds (no transfers in this workload).
  const rights = new Float64Array(nr * cells);
  for (let i = 0; i < count; i++) {
    const replica = Math.floor(rnd() * nr);
    const cell = Math.floor(rnd() * cells);
    const fridge = Math.floor(cell / shape.meals);
    const meal = cell % shape.meals;
    const slot = replica * cells + cell;
    const held = rights[slot]!;
    let delta: number;
    if (rnd() < 0.3 || held === 0) delta = 1 + Math.floor(rnd() * 12);
    else delta = -Math.min(held, 1 + Math.floor(rnd() * 2));
    rights[slot] = held + delta;
    yield { replica, fridge, meal, delta };
  }
}
