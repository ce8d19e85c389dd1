/**
 * Replica lifecycle (docs/design.md "Replica lifecycle"). A gateway whose store is new, restored or repaired takes a new
 * epoch and writes nothing before its first full sync with central; a replica id is never reused;
 * a retired replica's rights flow to the reconciler by the fold rule in fold.ts.
 */
import * as Y from 'yjs';
import { replicaParts, type GatewayId, type ReplicaId } from './ids.ts';
import { keys, type RetireValue } from './entries.ts';
import type { EntryWriter, VenueDoc } from './venue-doc.ts';
import type { FoldSource } from './fold.ts';

/**
 * The next unused epoch of a gateway: one more than any epoch of it the document mentions (as a
 * writer, a retirement target, a transfer target, or an epoch central allocated). Call only after a
 * full sync, when the document has everything central has.
 */
export function nextEpoch(src: FoldSource, gatewayId: GatewayId): number {
  let max = 0;
  const consider = (r: string) => {
    if (!r.startsWith(`gw:${gatewayId}:`)) return;
    const p = replicaParts(r as ReplicaId);
    if (p.kind === 'gateway') max = Math.max(max, p.epoch);
  };
  for (const r of src.index.replicaEntryCount.keys()) consider(r);
  for (const r of src.index.retirements.keys()) consider(r);
  for (const meals of src.index.xfers.values()) for (const froms of meals.values()) for (const tos of froms.values()) for (const to of tos.keys()) consider(to);
  for (const e of src.index.epochs.get(gatewayId)?.keys() ?? []) max = Math.max(max, Number(e));
  return max + 1;
}

/** True when a central replica recorded the allocation of `epoch` to `gatewayId` (an `ep/…` entry). */
export function epochAllocated(src: FoldSource, gatewayId: GatewayId, epoch: number): boolean {
  for (const r of src.index.epochs.get(gatewayId)?.get(String(epoch))?.keys() ?? []) if (r.startsWith('central:')) return true;
  return false;
}

/** Records that central allocated `epoch` to `gatewayId` (written by central only; the validator refuses it from gateways). */
export function allocateEpoch(w: EntryWriter, gatewayId: GatewayId, epoch: number, now: number): void {
  w.set(keys.epoch(gatewayId, epoch), { at: now });
}

/**
 * Writes a retirement of `replica` (itself, a predecessor epoch, or — from central — any replica).
 * The state vector covers every client id the replica wrote with, so readers wait until they hold
 * all its writes before folding its rights away.
 */
export function retire(w: EntryWriter, replica: ReplicaId, now: number): void {
  const store = w.doc.ydoc.store;
  const clients = new Set(w.doc.clientsOf(replica));
  if (replica === w.replica) clients.add(w.doc.ydoc.clientID);
  const sv: Array<[number, number]> = [...clients].sort((a, b) => a - b).map((c) => [c, Y.getState(store, c)]);
  const value: RetireValue = { at: now, sv };
  w.set(keys.retire(replica), value);
}

/** Declares (or withdraws) this replica as an order taker that wants rights granted. */
export function declareTaker(w: EntryWriter, on: boolean, now: number): void {
  w.set(keys.taker(), { on, at: now });
}

/** Records this replica's software version. */
export function writeMeta(w: EntryWriter, version: string, now: number): void {
  w.set(keys.meta(), { v: version.slice(0, 64), at: now });
}

/** Where a replica is in its life. */
export type LifecycleState = 'awaiting-first-sync' | 'active' | 'retired';

/**
 * The "no writes before first full sync" guard. A replica created for a new, restored or repaired
 * store starts in `awaiting-first-sync`; a replica continuing an intact store starts `active`.
 */
export class ReplicaLifecycle {
  private currentState: LifecycleState;
  constructor(
    readonly replica: ReplicaId,
    fresh: boolean,
  ) {
    this.currentState = fresh ? 'awaiting-first-sync' : 'active';
  }
  get state(): LifecycleState {
    return this.currentState;
  }
  /** True when the replica may write. */
  get writable(): boolean {
    return this.currentState === 'active';
  }
  /** The first full sync with central completed. */
  synced(): void {
    if (this.currentState === 'awaiting-first-sync') this.currentState = 'active';
  }
  /** The replica retired; it never writes again. */
  retired(): void {
    this.currentState = 'retired';
  }
}

/** True when `doc` already holds a retirement of `replica` by any valid author. */
export function hasRetirement(doc: VenueDoc, replica: ReplicaId): boolean {
  return (doc.index.retirements.get(replica)?.size ?? 0) > 0;
}
