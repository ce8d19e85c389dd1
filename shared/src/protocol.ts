/**
 * The y-websocket message codec used by gateways and central: pure `encode…`/`decode…` pairs over
 * lib0 encoding with y-protocols' constants, plus fridgesync's application messages.
 * Decoding never applies anything to a document: the receiver validates first. Grammar:
 *
 * ```
 * message      = varUint(type) body
 * type 0 sync  = varUint(0) varUint8Array(stateVector)      ; sync step 1
 *              | varUint(1) varUint8Array(update)           ; sync step 2
 *              | varUint(2) varUint8Array(update)           ; update
 * type 1       = varUint8Array(awarenessUpdate)             ; awareness
 * type 2       = varUint(0) varString(reason)               ; auth: permission denied
 * type 3       =                                            ; query awareness
 * type 100 app = varUint(0) varUint8Array(stateVector)      ; durable-ack: central stored all up to this
 *              | varUint(1) varString(json Hello)           ; hello: replica id, client ids, version
 *              | varUint(2) varString(json Welcome)         ; welcome: the hello was accepted
 * ```
 * Type 100 is sent only to peers that said hello, so stock y-websocket clients never see it.
 */
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { z } from 'zod';
import { ReplicaIdSchema } from './ids.ts';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
export const MESSAGE_APP = 100;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

export const APP_DURABLE_ACK = 0;
export const APP_HELLO = 1;
export const APP_WELCOME = 2;

/**
 * Longest JSON text of a hello or welcome, in UTF-16 code units (the lengths zod and `varString`
 * count). Unknown keys are dropped, not refused (below), so this bound is what keeps a peer from
 * sending a megabyte of them; a real hello is under 300.
 */
export const MAX_HANDSHAKE_JSON = 2_048;

/**
 * What a fridgesync peer says first: who writes on this connection. Keys this version does not know
 * are stripped, so a later version may add optional fields without breaking this one
 * (docs/sync-protocol.md "Compatibility").
 */
export const HelloSchema = z.object({
  replica: ReplicaIdSchema.optional(),
  /** Yjs client ids this connection writes with (the current process's; at most a few). */
  clientIds: z.array(z.number().int().min(0).max(0xffffffff)).max(16),
  version: z.string().max(64),
  /** True while the replica has not completed its first full sync (it writes nothing yet). */
  joining: z.boolean().optional(),
  /** The sender's wall clock when it sent the hello, ms since the epoch (central measures the gateway's skew; docs/sync-protocol.md). */
  now: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type Hello = z.infer<typeof HelloSchema>;

/** Central's answer to a hello. Unknown keys are stripped, as in {@link HelloSchema}. */
export const WelcomeSchema = z.object({
  venueId: z.string().max(64),
  instance: z.string().max(96),
  version: z.string().max(64),
  /** Central's wall clock when it sent the welcome, ms since the epoch (the gateway measures its offset; docs/sync-protocol.md). */
  now: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});
export type Welcome = z.infer<typeof WelcomeSchema>;

/** A decoded message. */
export type SyncMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth-denied'; reason: string }
  | { type: 'query-awareness' }
  | { type: 'durable-ack'; stateVector: Uint8Array }
  | { type: 'hello'; hello: Hello }
  | { type: 'welcome'; welcome: Welcome };

const build = (f: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder();
  f(e);
  return encoding.toUint8Array(e);
};

export const encodeSyncStep1 = (stateVector: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_STEP1);
    encoding.writeVarUint8Array(e, stateVector);
  });
export const encodeSyncStep2 = (update: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_STEP2);
    encoding.writeVarUint8Array(e, update);
  });
export const encodeUpdate = (update: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_UPDATE);
    encoding.writeVarUint8Array(e, update);
  });
export const encodeAwareness = (update: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, update);
  });
export const encodeAuthDenied = (reason: string) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_AUTH);
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, reason);
  });
export const encodeQueryAwareness = () => build((e) => encoding.writeVarUint(e, MESSAGE_QUERY_AWARENESS));
export const encodeDurableAck = (stateVector: Uint8Array) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_APP);
    encoding.writeVarUint(e, APP_DURABLE_ACK);
    encoding.writeVarUint8Array(e, stateVector);
  });
export const encodeHello = (hello: Hello) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_APP);
    encoding.writeVarUint(e, APP_HELLO);
    encoding.writeVarString(e, JSON.stringify(hello));
  });
export const encodeWelcome = (welcome: Welcome) =>
  build((e) => {
    encoding.writeVarUint(e, MESSAGE_APP);
    encoding.writeVarUint(e, APP_WELCOME);
    encoding.writeVarString(e, JSON.stringify(welcome));
  });

/** Thrown for bytes that are not a message of the grammar. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

function parseJson<T>(s: string, schema: z.ZodType<T>, what: string): T {
  if (s.length > MAX_HANDSHAKE_JSON) throw new ProtocolError(`${what}: longer than ${MAX_HANDSHAKE_JSON} characters`);
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    throw new ProtocolError(`${what}: not JSON`);
  }
  const r = schema.safeParse(v);
  if (!r.success) throw new ProtocolError(`${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** Decodes one message; throws {@link ProtocolError} on anything outside the grammar. */
export function decodeMessage(bytes: Uint8Array): SyncMessage {
  try {
    const d = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(d);
    let msg: SyncMessage;
    switch (type) {
      case MESSAGE_SYNC: {
        const sub = decoding.readVarUint(d);
        const payload = decoding.readVarUint8Array(d);
        if (sub === SYNC_STEP1) msg = { type: 'sync-step1', stateVector: payload };
        else if (sub === SYNC_STEP2) msg = { type: 'sync-step2', update: payload };
        else if (sub === SYNC_UPDATE) msg = { type: 'update', update: payload };
        else throw new ProtocolError(`unknown sync message ${sub}`);
        break;
      }
      case MESSAGE_AWARENESS:
        msg = { type: 'awareness', update: decoding.readVarUint8Array(d) };
        break;
      case MESSAGE_AUTH:
        decoding.readVarUint(d);
        msg = { type: 'auth-denied', reason: decoding.readVarString(d) };
        break;
      case MESSAGE_QUERY_AWARENESS:
        msg = { type: 'query-awareness' };
        break;
      case MESSAGE_APP: {
        const sub = decoding.readVarUint(d);
        if (sub === APP_DURABLE_ACK) msg = { type: 'durable-ack', stateVector: decoding.readVarUint8Array(d) };
        else if (sub === APP_HELLO) msg = { type: 'hello', hello: parseJson(decoding.readVarString(d), HelloSchema, 'hello') };
        else if (sub === APP_WELCOME) msg = { type: 'welcome', welcome: parseJson(decoding.readVarString(d), WelcomeSchema, 'welcome') };
        else throw new ProtocolError(`unknown app message ${sub}`);
        break;
      }
      default:
        throw new ProtocolError(`unknown message type ${type}`);
    }
    if (decoding.hasContent(d)) throw new ProtocolError('trailing bytes');
    return msg;
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(`truncated or malformed message: ${(e as Error).message}`);
  }
}

/**
 * HTTP header of the sync upgrade in which a gateway names the gateway id it runs as (`?gateway=`
 * for clients that cannot set headers). Central refuses a gateway token bound to another id with
 * HTTP 403 before the upgrade (docs/sync-protocol.md, Authentication).
 */
export const GATEWAY_ID_HEADER = 'x-fridgesync-gateway';
