/**
 * aedes' callback hooks adapted once into async functions (a hook
 * that throws, or calls back twice or never, wedges or crashes the broker). Each adapter
 * calls aedes' callback exactly once: with the async function's result, or with its error when
 * it throws or rejects, synchronously or not. `authorizePublish`, which runs for every message,
 * may also return at once (no promise): aedes is then called back in the same call.
 */
import type { AuthenticateError, AuthErrorCode, Client, PublishPacket, Subscription } from 'aedes';

/** Wraps a callback so only its first call has an effect. */
function once<A extends unknown[]>(cb: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args: A) => {
    if (called) return;
    called = true;
    cb(...args);
  };
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Runs `fn` and hands its outcome to `ok` or `fail`, exactly one of them once (at once when `fn` returns no promise). */
function run<T>(fn: () => T | Promise<T>, ok: (v: T) => void, fail: (e: Error) => void): void {
  let r: T | Promise<T>;
  try {
    r = fn();
  } catch (e) {
    fail(toError(e));
    return;
  }
  if (r instanceof Promise) r.then(ok, (e: unknown) => fail(toError(e)));
  else ok(r);
}

/** A CONNACK refusal: `returnCode` 2 (identifier rejected), 3 (server unavailable), 4 (bad credentials), 5 (not authorized). */
export class ConnectRefused extends Error {
  constructor(
    readonly returnCode: 2 | 3 | 4 | 5,
    message: string,
  ) {
    super(message);
  }
}

/** `authenticate`: resolve to accept, throw {@link ConnectRefused} to refuse with its return code. */
export function toAuthenticate(fn: (client: Client, username: string | undefined, password: Buffer | undefined) => Promise<void>) {
  return (client: Client, username: Readonly<string | undefined>, password: Readonly<Buffer | undefined>, done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    const cb = once(done);
    run(
      () => fn(client, username, password),
      () => cb(null, true),
      (e) => {
        const err = Object.assign(new Error(e.message), { returnCode: (e instanceof ConnectRefused ? e.returnCode : 3) as AuthErrorCode });
        cb(err, false);
      },
    );
  };
}

/**
 * `authorizePublish`: return or resolve to let aedes acknowledge and route the packet, throw or
 * reject to refuse (aedes then closes the connection without PUBACK, MQTT-3.3.5-2). For QoS 1 aedes
 * sends the PUBACK only after this resolves, which is what makes "acknowledged means durable" possible.
 */
export function toAuthorizePublish(fn: (client: Client | null, packet: PublishPacket) => void | Promise<void>) {
  // `run` and `once` unrolled: this runs for every message, and a hook that returns at once needs
  // no closures (each path below calls `done` exactly once).
  return (client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void => {
    let r: void | Promise<void>;
    try {
      r = fn(client, packet);
    } catch (e) {
      done(toError(e));
      return;
    }
    if (r instanceof Promise) r.then(() => done(null), (e: unknown) => done(toError(e)));
    else done(null);
  };
}

/** `authorizeSubscribe`: resolve to grant, resolve `null` to deny this subscription (SUBACK 0x80), throw to disconnect. */
export function toAuthorizeSubscribe(fn: (client: Client, sub: Subscription) => Promise<Subscription | null>) {
  return (client: Client, sub: Subscription, done: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const cb = once(done);
    run(
      () => fn(client, sub),
      (s) => cb(null, s),
      (e) => cb(e),
    );
  };
}
