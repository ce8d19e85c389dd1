/**
 * Shared test fixtures: parsed ids, venue documents with deterministic Yjs client ids, fridge
 * configuration written the way central writes it, and fridge payload builders.
 */
import * as Y from 'yjs';
import {
  FridgeIdSchema,
  GatewayIdSchema,
  MealIdSchema,
  OrderIdSchema,
  ReplicaIdSchema,
  VenueDoc,
  keys,
  ORIGINS,
  type FridgeId,
  type InventoryPayload,
  type MealId,
  type OrderId,
  type PickupPayload,
  type ReplicaId,
  type TxOrigin,
} from '@fridgesync/shared';

export const F1: FridgeId = FridgeIdSchema.parse('f1');
export const F2: FridgeId = FridgeIdSchema.parse('f2');
export const M1: MealId = MealIdSchema.parse('m1');
export const M2: MealId = MealIdSchema.parse('m2');
export const G1 = GatewayIdSchema.parse('g1');
export const G2 = GatewayIdSchema.parse('g2');
export const C1: ReplicaId = ReplicaIdSchema.parse('central:c1');
export const C2: ReplicaId = ReplicaIdSchema.parse('central:c2');
export const GW1: ReplicaId = ReplicaIdSchema.parse('gw:g1:1');
export const GW1B: ReplicaId = ReplicaIdSchema.parse('gw:g1:2');
export const GW2: ReplicaId = ReplicaIdSchema.parse('gw:g2:1');
export const T: TxOrigin = ORIGINS.test;
/** Origin of updates applied by the simulated network. */
export const NET: TxOrigin = { kind: 'upstream', peer: 'sim' };

export const oid = (s: string): OrderId => OrderIdSchema.parse(s);

/**
 * A venue document for `replica` whose Yjs client id is fixed (deterministic runs), loaded with
 * `state` first (the id is set after loading: Yjs renames a client that sees its own id arrive).
 */
export function newDoc(replica: ReplicaId | undefined, clientID?: number, state?: Uint8Array): VenueDoc {
  const ydoc = new Y.Doc({ gc: true, guid: 'venue' }); // a fixed guid: uuidv4 per document is costly in tight loops
  const doc = new VenueDoc(replica === undefined ? { ydoc } : { replica, ydoc });
  if (state !== undefined) doc.applyUpdate(state, { kind: 'storage-load' });
  if (clientID !== undefined) ydoc.clientID = clientID;
  return doc;
}

/** An HLC timestamp string for wall time `ms` on `node`. */
export function hlc(ms: number, node = 'c1', logical = 0): string {
  return `${String(ms).padStart(13, '0')}.${String(logical).padStart(6, '0')}.${node}`;
}

/** Writes central's fridge record naming `gateway` as reconciler (must be a central doc). */
export function configureFridge(doc: VenueDoc, fridge: FridgeId, gateway: string, ms = 1): void {
  doc.transact(T, (w) => w.set(keys.config('fridge', fridge), { h: hlc(ms, doc.replica ?? 'x'), v: { venueId: 'v1', reconciler: gateway } }));
}

/** Copies every struct of `from` into `to` (a full one-way sync). */
export function syncInto(to: VenueDoc, from: VenueDoc, origin: TxOrigin = NET): void {
  to.applyUpdate(Y.encodeStateAsUpdate(from.ydoc, Y.encodeStateVector(to.ydoc)), origin);
}

/** Full two-way sync of all given documents. */
export function syncAll(...docs: VenueDoc[]): void {
  for (let round = 0; round < 2; round++) for (const a of docs) for (const b of docs) if (a !== b) syncInto(a, b);
}

/** ISO time of `ms`. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** An inventory payload. */
export function inv(boot: number, seq: number, ms: number, items: Record<string, number>): InventoryPayload {
  return { boot, seq, ts: iso(ms), items: items as InventoryPayload['items'] };
}

/** A pickup payload. */
export function pick(boot: number, seq: number, ms: number, order: string, items: Record<string, number>): PickupPayload {
  return { boot, seq, ts: iso(ms), orderId: oid(order), items: items as PickupPayload['items'] };
}

/** Captures the updates a document emits (for validator tests). */
export function captureUpdates(doc: VenueDoc): Uint8Array[] {
  const out: Uint8Array[] = [];
  doc.ydoc.on('update', (u: Uint8Array) => out.push(u));
  return out;
}
