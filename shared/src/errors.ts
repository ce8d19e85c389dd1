/**
 * The one catalog of stable error codes. HTTP handlers answer `{statusCode, code, message}` built
 * from here; websocket close codes are listed alongside. `docs/errors.md` is checked against this
 * table by a test, so the two cannot drift.
 */

/** Stable error codes with their HTTP status and default message. */
export const ERROR_CODES = {
  VALIDATION_FAILED: { statusCode: 400, message: 'The request does not match the schema.' },
  PAYLOAD_TOO_LARGE: { statusCode: 413, message: 'The request body is larger than allowed.' },
  UNAUTHENTICATED: { statusCode: 401, message: 'A valid bearer token is required.' },
  FORBIDDEN: { statusCode: 403, message: 'This token may not perform this action.' },
  NOT_FOUND: { statusCode: 404, message: 'No such resource.' },
  UNKNOWN_VENUE: { statusCode: 404, message: 'No such venue.' },
  UNKNOWN_FRIDGE: { statusCode: 404, message: 'No such fridge in this venue.' },
  UNKNOWN_MEAL: { statusCode: 404, message: 'No such meal.' },
  UNKNOWN_ORDER: { statusCode: 404, message: 'No such order.' },
  UNKNOWN_GROUP: { statusCode: 404, message: 'No such consumer group (a group is created by its first claim).' },
  TOO_MANY_GROUPS: { statusCode: 409, message: 'The event log has as many consumer groups as it may (eventLog.maxGroups): delete one or reuse a name.' },
  SOLD_OUT: { statusCode: 409, message: 'Not enough stock can be reserved here right now.' },
  ORDER_CONFLICT: { statusCode: 409, message: 'An order with this id exists with different contents.' },
  ORDER_SETTLED: { statusCode: 409, message: 'The order is already settled.' },
  ORDER_NEEDS_RESOLUTION: {
    statusCode: 409,
    message: 'This order id holds the orders of more than one customer (a contents conflict): staff must resolve it (POST /v1/orders/{orderId}/resolve).',
  },
  NOT_READY: { statusCode: 503, message: 'The replica is not ready to accept writes yet.' },
  FRIDGE_OFFLINE: { statusCode: 503, message: 'The fridge is not connected to this gateway.' },
  RATE_LIMITED: { statusCode: 429, message: 'Too many requests.' },
  STORAGE_FAILED: { statusCode: 503, message: 'Durable storage failed; the write was not acknowledged.' },
  INTERNAL: { statusCode: 500, message: 'Internal error.' },
} as const satisfies Record<string, { statusCode: number; message: string }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
}

/** An error carrying a catalog code; HTTP layers turn it into an {@link ErrorBody}. */
export class FridgesyncError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;
  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'FridgesyncError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].statusCode;
    this.details = details;
  }
  /** The response body for this error. */
  toBody(): ErrorBody {
    return { statusCode: this.statusCode, code: this.code, message: this.message };
  }
}

/**
 * Websocket close codes used on `/sync/{venueId}` (4000–4999 is the application range of RFC 6455).
 */
export const CLOSE_CODES = {
  /** Normal closure (RFC 6455). */
  NORMAL: 1000,
  /** The endpoint is going away (server shutdown, gateway stopping). */
  GOING_AWAY: 1001,
  /** A frame exceeded the configured maximum size. */
  MESSAGE_TOO_BIG: 1009,
  /** The bearer token was missing, unknown, or does not allow this venue. */
  UNAUTHORIZED: 4401,
  /** The peer sent an update outside its own structures, or a malformed message. */
  UPDATE_REJECTED: 4403,
  /** Another live connection already speaks for this replica (cloned gateway). */
  DUPLICATE_REPLICA: 4409,
  /** The replica is retired; it must take a new epoch. */
  REPLICA_RETIRED: 4410,
  /**
   * The hello names a gateway epoch central never allocated (and that the document does not know
   * from before allocation records existed): a gateway takes a new epoch only through the join flow.
   */
  EPOCH_NOT_ALLOCATED: 4411,
  /**
   * A hello named a later epoch of a gateway while another connection speaks for an earlier live
   * replica of it: a second process (or a stolen token) may not take reconcilership from the live one.
   */
  GATEWAY_CONNECTED: 4412,
  /** The peer did not authenticate in time or sent too much before authenticating. */
  HANDSHAKE_TIMEOUT: 4408,
  /** The peer's outgoing buffer exceeded its bound (slow consumer). */
  SLOW_CONSUMER: 4429,
  /** The document could not be loaded from storage; nothing was served. */
  LOAD_FAILED: 4500,
} as const;

/** A named websocket close code. */
export type CloseCodeName = keyof typeof CLOSE_CODES;
