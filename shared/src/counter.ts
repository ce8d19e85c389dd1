/**
 * The bounded counter (escrow PN-counter; docs/design.md "The bounded counter"; Balegas et al. SRDS 2015). Each replica only
 * grows its own `[inc, dec]` and `xfer[i→j]` entries; a decrement or transfer is checked against the
 * replica's rights as this replica knows them. Rights another replica grants can only add to that
 * view, so a local check is a safe lower bound and `S ≥ 0` holds under any partition.
 */
import type { FridgeId, MealId, ReplicaId } from './ids.ts';
import { keys, type CounterValue, type XferValue } from './entries.ts';
import { rightsOf } from './fold.ts';
import type { EntryWriter } from './venue-doc.ts';

/** Why an operation was refused. Nothing was written. */
export type Refusal =
  | { ok: false; code: 'INSUFFICIENT_RIGHTS'; fridge: FridgeId; meal: MealId; requested: number; available: number }
  | { ok: false; code: 'INVALID_AMOUNT'; amount: number }
  | { ok: false; code: 'SELF_TRANSFER' };

/** Result of a counter operation. */
export type OpResult = { ok: true } | Refusal;

const OK: OpResult = { ok: true };

function validAmount(n: number): Refusal | undefined {
  return Number.isSafeInteger(n) && n > 0 ? undefined : { ok: false, code: 'INVALID_AMOUNT', amount: n };
}

/** The writer's own `[inc, dec]`, including writes earlier in this transaction. */
export function ownCounter(w: EntryWriter, fridge: FridgeId, meal: MealId): CounterValue {
  return (w.get(keys.counter(fridge, meal)) as CounterValue | undefined) ?? [0, 0];
}

/** The writer's transfer to `to`, including writes earlier in this transaction. */
export function ownXfer(w: EntryWriter, fridge: FridgeId, meal: MealId, to: ReplicaId): XferValue {
  return (w.get(keys.xfer(fridge, meal, to)) as XferValue | undefined) ?? [0, 0];
}

/** The writer's current rights for one fridge and meal. */
export function localRights(w: EntryWriter, fridge: FridgeId, meal: MealId): number {
  const [inc, dec] = ownCounter(w, fridge, meal);
  let own = inc - dec;
  const targets = new Set<string>(w.doc.index.xfers.get(fridge)?.get(meal)?.get(w.replica)?.keys() ?? []);
  const prefix = `x/${fridge}/${meal}/`;
  for (const k of w.pendingUnder(prefix)) targets.add(k.slice(prefix.length));
  for (const to of targets) own -= ownXfer(w, fridge, meal, to as ReplicaId)[0];
  return rightsOf(w.doc, w.replica, fridge, meal, own);
}

/** Adds `n` units: creates `n` rights at this replica. */
export function increment(w: EntryWriter, fridge: FridgeId, meal: MealId, n: number): OpResult {
  const bad = validAmount(n);
  if (bad) return bad;
  const [inc, dec] = ownCounter(w, fridge, meal);
  w.set(keys.counter(fridge, meal), [inc + n, dec]);
  return OK;
}

/** Removes `n` units within this replica's rights; refused (nothing written) beyond them. */
export function decrement(w: EntryWriter, fridge: FridgeId, meal: MealId, n: number): OpResult {
  const bad = validAmount(n);
  if (bad) return bad;
  const available = localRights(w, fridge, meal);
  if (n > available) return { ok: false, code: 'INSUFFICIENT_RIGHTS', fridge, meal, requested: n, available };
  const [inc, dec] = ownCounter(w, fridge, meal);
  w.set(keys.counter(fridge, meal), [inc, dec + n]);
  return OK;
}

/**
 * Moves `n` rights to replica `to` within this replica's rights. `ack` records which request or
 * recall sequence number this transfer answers (it only grows).
 */
export function transfer(w: EntryWriter, fridge: FridgeId, meal: MealId, to: ReplicaId, n: number, ack?: number): OpResult {
  if (to === w.replica) return { ok: false, code: 'SELF_TRANSFER' };
  if (n === 0 && ack !== undefined) {
    const [m, a] = ownXfer(w, fridge, meal, to);
    if (ack > a) w.set(keys.xfer(fridge, meal, to), [m, ack]);
    return OK;
  }
  const bad = validAmount(n);
  if (bad) return bad;
  const available = localRights(w, fridge, meal);
  if (n > available) return { ok: false, code: 'INSUFFICIENT_RIGHTS', fridge, meal, requested: n, available };
  const [m, a] = ownXfer(w, fridge, meal, to);
  w.set(keys.xfer(fridge, meal, to), [m + n, Math.max(a, ack ?? 0)]);
  return OK;
}
