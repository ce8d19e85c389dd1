/**
 * The steps of a random venue history and their fast-check arbitraries (see history.ts for how they
 * are played and checked). Weights favour what moves stock and the network.
 */
import fc from 'fast-check';
import type { NodeName } from './sim-network.ts';

export type Taker = 'c1' | 'c2' | 'g1' | 'g2';
export type Step =
  | { t: 'delivery'; meal: number; n: number }
  | { t: 'walkin'; meal: number; n: number }
  | { t: 'snapshot' }
  | { t: 'reboot'; forget: boolean }
  | { t: 'mqtt'; op: 'deliver' | 'dup' | 'drop'; i: number }
  /** `other`: a retry (`retry` not null) carries the step's own lines, not the order's (a contents conflict if another taker took the id). */
  | { t: 'reserve'; at: Taker; lines: Array<[number, number]>; hold: number; retry: number | null; other: boolean }
  | { t: 'pickup'; i: number }
  | { t: 'cancel'; at: Taker; i: number }
  | { t: 'tick'; ms: number }
  | { t: 'request'; at: 'c1' | 'c2'; meal: number; want: number }
  | { t: 'reconcile' }
  | { t: 'answer'; at: 'c1' | 'c2' | 'g2' }
  | { t: 'maintain'; at: NodeName }
  | { t: 'net'; op: 'deliver' | 'dup' | 'drop' | 'sync' | 'flush'; i: number }
  | { t: 'epoch'; by: 'self' | 'successor' | 'central' };

const meal = fc.integer({ min: 0, max: 1 });
const taker = fc.constantFrom<Taker>('c1', 'c2', 'g1', 'g2');
const small = fc.nat({ max: 63 });

/** One step; weights favour what moves stock and the network. */
export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('delivery' as const), meal, n: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('walkin' as const), meal, n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reboot' as const), forget: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('mqtt' as const), op: fc.constantFrom('deliver' as const, 'deliver' as const, 'dup' as const, 'drop' as const), i: small }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('reserve' as const),
      at: taker,
      lines: fc.array(fc.tuple(meal, fc.integer({ min: 1, max: 2 })), { minLength: 1, maxLength: 2 }),
      hold: fc.integer({ min: 0, max: 1 }),
      retry: fc.option(small, { freq: 3 }),
      other: fc.constantFrom(false, false, true),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('pickup' as const), i: small }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), at: taker, i: small }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.constantFrom(1_000, 40_000, 200_000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('request' as const), at: fc.constantFrom('c1' as const, 'c2' as const), meal, want: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.constant({ t: 'reconcile' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('answer' as const), at: fc.constantFrom('c1' as const, 'c2' as const, 'g2' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('maintain' as const), at: fc.constantFrom<NodeName>('c1', 'c2', 'g1', 'g2') }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('net' as const), op: fc.constantFrom('deliver' as const, 'deliver' as const, 'dup' as const, 'drop' as const, 'sync' as const, 'flush' as const), i: small }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('epoch' as const), by: fc.constantFrom('self' as const, 'successor' as const, 'central' as const) }) },
);

/** A history: its steps, whether the Automerge oracle runs on it, and whether the reconciler pauses top-ups after recalls. */
export interface History {
  steps: Step[];
  oracle: boolean;
  pauses?: boolean;
}

export function historyArb(maxSteps: number, oracleEvery: number): fc.Arbitrary<History> {
  return fc.record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: maxSteps }),
    oracle: oracleEvery <= 0 ? fc.constant(false) : fc.noBias(fc.nat({ max: oracleEvery - 1 })).map((n) => n === 0),
    pauses: fc.boolean(),
  });
}
