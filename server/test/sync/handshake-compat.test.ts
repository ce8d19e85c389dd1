/**
 * The hello/welcome handshake across versions and the clock measurement it carries, with real
 * sockets: a gateway that sends no `now` (an older one) gets a welcome an older gateway can parse;
 * keys a later version adds are ignored; only an accepted hello's clock counts, read at its
 * arrival, not after the venue document loaded (docs/sync-protocol.md "Compatibility",
 * docs/operations.md "Clock skew").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { gatewayReplicaId, type GatewayId, type VenueId } from '@fridgesync/shared';
import { createMemoryStorage, type DocStorage } from '@fridgesync/server';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';
import { waitFor } from '@fridgesync/shared/test-harness';
import { GatewayClient } from '../helpers/gateway-client.ts';

let t: TestCentral;
const clients: GatewayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await t.close();
});

const g1 = gatewayReplicaId('g1' as GatewayId, 1);
const HOUR = 3_600_000;

function gateway(opts: Partial<ConstructorParameters<typeof GatewayClient>[0]> = {}): GatewayClient {
  const c = new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: TOKENS.gw1, replica: g1, ...opts });
  clients.push(c);
  return c;
}

/** The welcome as a gateway released before the optional `now` parsed it: unknown keys refused. */
const OldWelcomeSchema = z.strictObject({ venueId: z.string().max(64), instance: z.string().max(96), version: z.string().max(64) });

async function skewOfG1(): Promise<number | null> {
  const r = await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) });
  return (r.json().gateways as Array<{ gatewayId: string; clockSkewMs: number | null }>).find((g) => g.gatewayId === 'g1')!.clockSkewMs;
}

describe('hello and welcome across versions', () => {
  it('a gateway that sends no now gets a welcome without now, which the older strict welcome accepts', async () => {
    t = await startCentral({ listen: true });
    const old = await gateway().ready();
    expect(old.welcome).toBeDefined();
    expect(OldWelcomeSchema.safeParse(old.welcome).success).toBe(true);
    expect(await skewOfG1()).toBeNull();
  });

  it('a gateway that sends now gets central’s now back and its skew measured', async () => {
    t = await startCentral({ listen: true });
    const c = await gateway({ helloExtra: () => ({ now: Date.now() + HOUR }) }).ready();
    expect(typeof c.welcome?.now).toBe('number');
    expect(Math.abs(c.welcome!.now! - Date.now())).toBeLessThan(5_000);
    expect(Math.abs((await skewOfG1())! - HOUR)).toBeLessThan(5_000);
  });

  it('keys a later version adds are ignored, not refused', async () => {
    t = await startCentral({ listen: true });
    const c = await gateway({ helloExtra: () => ({ now: Date.now(), futureField: { anything: [1, 2] } }) }).ready();
    expect(c.closeCode).toBeUndefined();
    expect(c.welcome).toMatchObject({ venueId: 'v1', instance: 'c1' });
  });
});

describe('the clock measurement counts only an accepted hello', () => {
  it('a hello refused with 4409 or 4403 leaves the connected gateway’s skew alone', async () => {
    t = await startCentral({ listen: true });
    await gateway({ helloExtra: () => ({ now: Date.now() }) }).ready();
    expect(Math.abs((await skewOfG1())!)).toBeLessThan(5_000);
    // The same token, the same replica, a clock a day off: refused as a duplicate.
    const dup = gateway({ helloExtra: () => ({ now: Date.now() + 24 * HOUR }) });
    expect(await dup.closed).toBe(4409);
    // The same token, another gateway's replica: refused.
    const foreign = gateway({ replica: gatewayReplicaId('g2' as GatewayId, 1), helloExtra: () => ({ now: Date.now() - 24 * HOUR }) });
    expect(await foreign.closed).toBe(4403);
    expect(Math.abs((await skewOfG1())!)).toBeLessThan(5_000);
    const metrics = await t.central.app.inject({ url: '/metrics' });
    const line = metrics.body.split('\n').find((l) => l.startsWith('fridgesync_gateway_clock_skew_seconds{') && l.includes('gateway="g1"'));
    expect(Math.abs(Number(line?.split(' ').pop()))).toBeLessThan(5);
  });

  it('a hello queued behind a slow document load is timed at its arrival', async () => {
    const LOAD_MS = 1_500;
    const inner = createMemoryStorage();
    let slow = false;
    const storage: DocStorage = Object.assign(Object.create(inner) as DocStorage, {
      async load(venue: VenueId) {
        if (slow) await new Promise((r) => setTimeout(r, LOAD_MS));
        return inner.load(venue);
      },
    });
    t = await startCentral({ listen: true, deps: { storage } });
    await t.central.registry.unload('v1' as VenueId);
    slow = true;
    const c = gateway({ helloExtra: () => ({ now: Date.now() }) });
    await c.ready(10_000);
    // Timed after the load, the gateway would read as LOAD_MS behind.
    const skew = (await waitFor(async () => (await skewOfG1()) ?? undefined, 3_000, 'skew measured').catch(() => skewOfG1()))!;
    expect(Math.abs(skew)).toBeLessThan(LOAD_MS / 2);
  });
});
