import { describe, expect, it } from 'vitest';
import type { Client, PublishPacket, Subscription } from 'aedes';
import { ConnectRefused, toAuthenticate, toAuthorizePublish, toAuthorizeSubscribe } from '../src/aedes-hooks.ts';

const client = { id: 'f1' } as Client;
const packet = { topic: 'fridges/f1/inventory' } as PublishPacket;

/** Collects every callback invocation; waits a few ticks so late second calls would show. */
async function calls<T extends unknown[]>(hook: (done: (...a: T) => void) => void): Promise<T[]> {
  const seen: T[] = [];
  hook((...a) => seen.push(a));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return seen;
}

describe('aedes hook adapters', () => {
  it('authorizePublish calls back exactly once: on success, on rejection and on a synchronous throw', async () => {
    const ok = toAuthorizePublish(async () => undefined);
    expect(await calls((d) => ok(client, packet, d))).toEqual([[null]]);
    const rejects = toAuthorizePublish(async () => {
      throw new Error('nope');
    });
    const r = await calls((d) => rejects(client, packet, d));
    expect(r).toHaveLength(1);
    expect((r[0]![0] as Error).message).toBe('nope');
    const throwsSync = toAuthorizePublish(((): Promise<void> => {
      throw new Error('sync');
    }) as never);
    const s = await calls((d) => throwsSync(client, packet, d));
    expect(s).toHaveLength(1);
    expect((s[0]![0] as Error).message).toBe('sync');
    // A hook that returns at once calls back within the same call.
    const seen: unknown[][] = [];
    toAuthorizePublish(() => undefined)(client, packet, (...a) => seen.push(a));
    expect(seen).toEqual([[null]]);
  });

  it('authenticate maps refusals to CONNACK return codes, and unexpected errors to "server unavailable"', async () => {
    const refuse = toAuthenticate(async () => {
      throw new ConnectRefused(4, 'bad secret');
    });
    const r = await calls<[unknown, unknown]>((d) => refuse(client, 'f1', Buffer.from('x'), d as never));
    expect(r).toHaveLength(1);
    expect(r[0]![0]).toMatchObject({ returnCode: 4, message: 'bad secret' });
    expect(r[0]![1]).toBe(false);
    const crash = toAuthenticate(async () => {
      throw new TypeError('bug');
    });
    expect((await calls<[unknown, unknown]>((d) => crash(client, 'f1', undefined, d as never)))[0]![0]).toMatchObject({ returnCode: 3 });
    const ok = toAuthenticate(async () => undefined);
    expect(await calls((d) => ok(client, 'f1', undefined, d as never))).toEqual([[null, true]]);
  });

  it('authorizeSubscribe grants, denies with null, or fails once', async () => {
    const sub = { topic: 'fridges/f1/commands', qos: 1 } as Subscription;
    const grant = toAuthorizeSubscribe(async (_c, s) => s);
    expect(await calls((d) => grant(client, sub, d))).toEqual([[null, sub]]);
    const deny = toAuthorizeSubscribe(async () => null);
    expect(await calls((d) => deny(client, sub, d))).toEqual([[null, null]]);
  });
});
