/**
 * Fridge observations into the venue document (docs/design.md "Observed totals"): snapshots of full totals, pickup
 * events and presence. Written by gateways; any number of gateways may hear the same fridge (an HA
 * pair) because the fold takes the greatest tag, never a sum.
 *
 * Forgotten boot counters: firmware that loses its boot counter reboots with the same `boot` and a
 * sequence that restarts low. Rule, against the *folded* snapshot of the same `boot`:
 * - a message whose `seq` is not above the folded `seq` but whose timestamp is later opens a new
 *   era (`era = folded era + 1`): the sequence went back while the fridge's clock went on. (A
 *   duplicate carries the same timestamp; a reordered older message an earlier one.)
 * - a message whose `seq` is above the folded `seq` but whose timestamp is earlier, while the folded
 *   snapshot is already in a later era, belongs to an era before it (`folded era − 1`), so a late
 *   pre-reboot message never overtakes the post-reboot ones.
 * The reference is the newest observation of the fridge in the folded state: the snapshot, or a
 * pending pickup with a newer tag (a gateway may have heard a pre-reboot pickup but not the
 * snapshot before it; comparing with the snapshot alone left that pickup "newer" than every
 * post-reboot snapshot, subtracted from `T_eff` until the new sequence overtook it).
 * The rule reads only the folded document state and the message, so two gateways that have synced
 * decide the same; before they sync, each writes a tag the fold orders deterministically, and the
 * next snapshot settles it. No sequence gap is required: a fridge that forgot its counter while
 * its sequence was still low would otherwise have every report ignored as stale until the new
 * sequence overtook the old one.
 */
import type { FridgeId, OrderId, ReplicaId } from './ids.ts';
import { compareSnapshots, compareTag, keys, STATE_CODE, type OrderValue, type PickupValue, type SnapshotValue, type StatusValue } from './entries.ts';
import { foldOrder, observedSnapshot, pendingPickups, type FoldSource } from './fold.ts';
import { writeTransition } from './orders.ts';
import type { EntryWriter } from './venue-doc.ts';
import type { InventoryPayload, PickupPayload, StatusPayload, TelemetryPayload } from './mqtt-payloads.ts';

/** A tagged observation with the fridge's time: a snapshot, or a pickup that carries `ts`. */
export interface TimedTag {
  b: number;
  e: number;
  q: number;
  ts: number;
}

/** The newest observation of a fridge to judge a new message against: the folded snapshot or a newer pending pickup. */
export function eraReference(doc: FoldSource, fridge: FridgeId, folded = observedSnapshot(doc, fridge)): TimedTag | undefined {
  return newestObservation(folded, pendingPickups(doc, fridge, folded).values());
}

/** `folded`, or the pending pickup with a newer tag that carries a timestamp (the first of equals). */
function newestObservation(folded: TimedTag | undefined, pending: Iterable<PickupValue>): TimedTag | undefined {
  let ref: TimedTag | undefined = folded;
  for (const p of pending) {
    if (p.ts !== undefined && (ref === undefined || compareTag(p, ref) > 0)) ref = { b: p.b, e: p.e, q: p.q, ts: p.ts };
  }
  return ref;
}

/** The era a message with `(boot, seq, ts)` belongs to, given the reference observation (see {@link eraReference}). */
export function eraFor(folded: TimedTag | undefined, boot: number, seq: number, tsMs: number): number {
  if (folded === undefined || boot !== folded.b) return 0;
  if (seq <= folded.q && tsMs > folded.ts) return folded.e + 1;
  if (seq > folded.q && tsMs < folded.ts && folded.e > 0) return folded.e - 1;
  return folded.e;
}

/** Outcome of recording a snapshot. */
export type SnapshotOutcome = 'applied' | 'stale';

/**
 * Records a full-totals snapshot if it is newer than the folded one; prunes this replica's pickup
 * entries it covers. Duplicates, replays and reordered older snapshots are `stale` and change nothing.
 */
export function recordSnapshot(w: EntryWriter, fridge: FridgeId, p: InventoryPayload): SnapshotOutcome {
  return recordSnapshots(w, fridge, [p])[0]!;
}

/**
 * Records several snapshots of one fridge, received in this order with no other message of the
 * fridge between them. Each outcome (and era) is what recording them one by one, each in its own
 * transaction, would give; but only the last applied snapshot is written: each applied one
 * replaces the one before, so the others would only be overwritten in the same durable write. The
 * document ends in the same state with one entry written instead of one per snapshot.
 */
export function recordSnapshots(w: EntryWriter, fridge: FridgeId, ps: readonly InventoryPayload[]): SnapshotOutcome[] {
  const folded = observedSnapshot(w.doc, fridge);
  const run = new SnapshotRun(folded, w.get(keys.snapshot(fridge)) as SnapshotValue | undefined, pendingPickups(w.doc, fridge, folded).values());
  const outcomes = ps.map((p) => run.judge(p));
  if (run.newest !== undefined) writeSnapshot(w, fridge, run.newest);
  return outcomes;
}

/**
 * Judges one fridge's snapshots in arrival order as recording each in its own transaction would:
 * each is compared with the newest observation so far (the folded snapshot, this replica's own
 * one, a newer pending pickup), and one judged applied is the folded and own snapshot the next is
 * judged against. Only the newest applied one is kept ({@link newest}), for the caller to write
 * with {@link writeSnapshot}.
 */
export class SnapshotRun {
  /** The newest snapshot judged applied in this run (its items are the payload's, not a copy). */
  newest: SnapshotValue | undefined;
  private readonly pending: PickupValue[];

  /** `pending`: the pickups newer than `folded`, or any superset of them (older ones never count). */
  constructor(
    private folded: SnapshotValue | undefined,
    private own: SnapshotValue | undefined,
    pending: Iterable<PickupValue>,
  ) {
    // After a snapshot is applied it is both the folded snapshot and this replica's own. The
    // pickups it covers stop being pending, but they are older than it, so they could not have
    // been the newest observation anyway: the list is taken once.
    this.pending = [...pending];
  }

  judge(p: InventoryPayload): SnapshotOutcome {
    const ts = Date.parse(p.ts);
    // The items are only read here (compared on a tie); the one written gets its own copy.
    const value: SnapshotValue = { b: p.boot, e: eraFor(newestObservation(this.folded, this.pending), p.boot, p.seq, ts), q: p.seq, ts, i: p.items };
    // A report whose tag is not above the newest one's is not news: the tag is the report's
    // identity, so other totals under a tag already seen are a broken or hostile fridge.
    if (tagNotNewer(value, this.folded) || tagNotNewer(value, this.own)) return 'stale';
    this.folded = this.own = this.newest = value;
    return 'applied';
  }
}

/**
 * A run for a replica that writes the snapshots it judges later, not at once (the gateway's intake,
 * which acknowledges a snapshot once it is logged and writes a fridge's newest one at a bounded
 * rate): judged against the document as it is now, with `unwritten` — the newest snapshot this
 * replica judged applied and may not have written yet — counting as written. Each outcome and era
 * is then what writing every applied snapshot at arrival would have given.
 */
export function snapshotRun(doc: FoldSource, replica: ReplicaId | undefined, fridge: FridgeId, unwritten: SnapshotValue | undefined): SnapshotRun {
  const observed = observedSnapshot(doc, fridge);
  const own = replica === undefined ? undefined : doc.index.snapshots.get(fridge)?.get(replica);
  return new SnapshotRun(newerSnapshot(observed, unwritten), newerSnapshot(own, unwritten), pendingPickups(doc, fridge, observed).values());
}

function newerSnapshot(a: SnapshotValue | undefined, b: SnapshotValue | undefined): SnapshotValue | undefined {
  return a === undefined ? b : b === undefined || compareSnapshots(a, b) >= 0 ? a : b;
}

function tagNotNewer(value: SnapshotValue, than: SnapshotValue | undefined): boolean {
  return than !== undefined && compareTag(value, than) <= 0;
}

function isStale(value: SnapshotValue, folded: SnapshotValue | undefined, own: SnapshotValue | undefined): boolean {
  return (folded !== undefined && compareSnapshots(value, folded) <= 0) || (own !== undefined && compareSnapshots(value, own) <= 0);
}

/**
 * Writes a snapshot judged by a {@link SnapshotRun} as this replica's, unless the document now
 * holds one as new (another replica's, written since it was judged: then it is `stale` and
 * changes nothing); prunes this replica's pickup entries it covers. Its era stays the one it was
 * judged with.
 */
export function writeSnapshot(w: EntryWriter, fridge: FridgeId, value: SnapshotValue): SnapshotOutcome {
  const key = keys.snapshot(fridge);
  if (isStale(value, observedSnapshot(w.doc, fridge), w.get(key) as SnapshotValue | undefined)) return 'stale';
  w.set(key, { ...value, i: { ...value.i } });
  for (const [order, byReplica] of w.doc.index.pickups.get(fridge) ?? []) {
    const mine = byReplica.get(w.replica);
    if (mine !== undefined && compareTag(mine, value) <= 0) w.delete(keys.pickup(fridge, order as OrderId));
  }
  return 'applied';
}

/** Outcome of recording a pickup. */
export interface PickupOutcome {
  /** `recorded`: subtracted until a snapshot covers it; `covered`: a newer snapshot already shows it. */
  pickup: 'recorded' | 'covered' | 'duplicate';
  /** What happened to the order. */
  order: 'settled' | 'unknown-order' | 'already-settled' | 'already-picked-up';
}

/** Records a pickup event and settles its order as `picked_up` in the same transaction. */
export function recordPickup(w: EntryWriter, fridge: FridgeId, p: PickupPayload, now: number): PickupOutcome {
  const folded = observedSnapshot(w.doc, fridge);
  const ts = Date.parse(p.ts);
  const value: PickupValue = { b: p.boot, e: eraFor(eraReference(w.doc, fridge, folded), p.boot, p.seq, ts), q: p.seq, ts, i: { ...p.items } };
  let pickup: PickupOutcome['pickup'];
  const existing = w.doc.index.pickups.get(fridge)?.get(p.orderId);
  if (existing !== undefined && existing.size > 0 && [...existing.values()].some((e) => compareTag(e, value) >= 0)) pickup = 'duplicate';
  else if (folded !== undefined && compareTag(value, folded) <= 0) pickup = 'covered';
  else {
    w.set(keys.pickup(fridge, p.orderId), value);
    pickup = 'recorded';
  }
  const order = foldOrder(w.doc, p.orderId);
  let outcome: PickupOutcome['order'];
  if (order === undefined) outcome = 'unknown-order';
  else if (order.state === 'picked_up') outcome = 'already-picked-up';
  else if (order.state !== 'reserved') outcome = 'already-settled';
  else outcome = 'settled';
  if (outcome !== 'already-picked-up' && (w.get(keys.order(p.orderId)) as OrderValue | undefined)?.s !== STATE_CODE.picked_up) {
    writeTransition(w, p.orderId, order?.fridge ?? fridge, 'picked_up', now);
  }
  return { pickup, order: outcome };
}

/** Presence from a retained status message or its will. */
export function statusFromPayload(p: StatusPayload): StatusValue {
  const v: StatusValue = { on: p.online, ts: Date.parse(p.ts) };
  if (p.temperatureC !== undefined) v.tc = p.temperatureC;
  if (p.door !== undefined) v.door = p.door;
  if (p.firmware !== undefined) v.fw = p.firmware;
  return v;
}

/** Presence from telemetry: the fridge is online; keeps firmware from the previous value. */
export function statusFromTelemetry(p: TelemetryPayload, prev: StatusValue | undefined): StatusValue {
  const v: StatusValue = { on: true, ts: Date.parse(p.ts), tc: p.temperatureC, door: p.door };
  if (prev?.fw !== undefined) v.fw = prev.fw;
  return v;
}

/**
 * Records presence if it is newer than this replica's value. Callers bound the rate (telemetry
 * arrives often; the document keeps one entry per fridge and replica, so it never grows).
 */
export function recordStatus(w: EntryWriter, fridge: FridgeId, v: StatusValue): boolean {
  const prev = w.get(keys.status(fridge)) as StatusValue | undefined;
  if (prev !== undefined && prev.ts >= v.ts) return false;
  w.set(keys.status(fridge), v);
  return true;
}

/** The replica's own latest status for a fridge. */
export function ownStatus(w: EntryWriter, fridge: FridgeId): StatusValue | undefined {
  return w.get(keys.status(fridge)) as StatusValue | undefined;
}

