/**
 * Typed transaction origins. Every Yjs transaction in fridgesync is tagged with one, so observers
 * can tell where a change came from: persistence skips what it loaded itself, the sync client does
 * not echo what central sent, and metrics count writes by source.
 */

/** Every kind of origin, with what it covers. */
const ORIGIN_KINDS = {
  mqtt: 'a fridge message ingested by a gateway',
  upstream: 'an update received from a sync peer (central, or a gateway at central)',
  'storage-load': 'state loaded from the local store',
  api: 'an HTTP request (order, admin, kitchen)',
  kiosk: "a gateway's local order API",
  reconciler: 'the reconciler or the rights policy',
  lifecycle: "epochs, retirement, taker declarations, central's housekeeping",
  test: 'tests',
} as const;

/** Where a transaction came from. */
export type OriginKind = keyof typeof ORIGIN_KINDS;

/** A transaction origin. `peer` names the remote end for `upstream` (a replica id or connection id). */
export interface TxOrigin {
  readonly kind: OriginKind;
  readonly peer?: string;
}

/** Shared origin constants for the common cases (compare with `===` or by `.kind`). */
export const ORIGINS = {
  mqtt: { kind: 'mqtt' },
  upstream: { kind: 'upstream' },
  storageLoad: { kind: 'storage-load' },
  api: { kind: 'api' },
  kiosk: { kind: 'kiosk' },
  reconciler: { kind: 'reconciler' },
  lifecycle: { kind: 'lifecycle' },
  test: { kind: 'test' },
} as const satisfies Record<string, TxOrigin>;

/**
 * True when `o` (a Yjs transaction's origin, typed `unknown` by Yjs) is a fridgesync origin: an
 * object with a known `kind` and, if any, a string `peer`.
 */
export function isTxOrigin(o: unknown): o is TxOrigin {
  if (typeof o !== 'object' || o === null || !('kind' in o) || typeof o.kind !== 'string' || !Object.hasOwn(ORIGIN_KINDS, o.kind)) return false;
  return !('peer' in o) || o.peer === undefined || typeof o.peer === 'string';
}

/** True when `o` is a fridgesync origin of the given kind (and then typed as one). */
export function isOrigin<K extends OriginKind>(o: unknown, kind: K): o is TxOrigin & { readonly kind: K } {
  return isTxOrigin(o) && o.kind === kind;
}
