/** Admin registry API: changes land in central-owned config entries and reach gateways. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { configRecord, gatewayReplicaId, type GatewayId, type VenueId } from '@fridgesync/shared';
import { CentralConfigSchema, hashToken } from '@fridgesync/server';
import { GatewayClient } from '../helpers/gateway-client.ts';
import { bearer, startCentral, stockViaGateway, testConfig, keepOpen, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral;
beforeEach(async () => {
  t = await startCentral();
});
afterEach(async () => t.close());

const put = (url: string, payload: object, token: string = TOKENS.admin) => t.central.app.inject({ method: 'PUT', url, headers: bearer(token), payload });

describe('admin registry', () => {
  it('refuses a venue whose time zone is not an IANA zone: 400 naming the field, nothing written', async () => {
    const doc = t.central.registry.peek('v1' as VenueId)!.doc;
    const before = configRecord(doc, 'venue', 'v1');
    for (const timezone of ['Not/AZone', '+01:00', '']) {
      const r = await put('/v1/admin/venues/v1', { name: 'Berlin HQ', city: 'Berlin', timezone });
      expect(r.statusCode, timezone).toBe(400);
      expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/timezone/) });
    }
    expect(configRecord(doc, 'venue', 'v1')).toEqual(before);
    // A new venue with a bad zone is not created either.
    expect((await put('/v1/admin/venues/v9', { name: 'Nowhere', city: 'Berlin', timezone: 'Not/AZone' })).statusCode).toBe(400);
    expect((await t.central.app.inject({ url: '/v1/venues/v9', headers: bearer(TOKENS.viewer) })).statusCode).toBe(404);
    // Real zones, UTC included, are accepted.
    for (const timezone of ['Europe/Lisbon', 'UTC']) expect((await put('/v1/admin/venues/v1', { name: 'Berlin HQ', city: 'Berlin', timezone })).statusCode, timezone).toBe(200);
    expect(configRecord(doc, 'venue', 'v1')).toMatchObject({ timezone: 'UTC' });
  });

  it('refuses a seed venue with a bad time zone at config check', () => {
    const input = testConfig();
    input.registry!.venues![0]!.timezone = 'Not/AZone';
    const r = CentralConfigSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['registry.venues.0.timezone']);
  });

  it('changes a fridge (par, reconciler) as an HLC-versioned config entry', async () => {
    const r = await put('/v1/admin/venues/v1/fridges/f1', { reconciler: 'g2', par: { m1: 12 } });
    expect(r.statusCode).toBe(200);
    const doc = t.central.registry.peek('v1' as VenueId)!.doc;
    expect(configRecord(doc, 'fridge', 'f1')).toMatchObject({ venueId: 'v1', reconciler: 'g2', par: { m1: 12 } });
    const versions = [...doc.index.configVersions('fridge', 'f1')!.values()];
    expect(versions[0]!.h).toMatch(/^\d{13}\.\d{6}\.central:c1$/);
    const detail = (await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json();
    expect(detail.fridges.find((f: { fridgeId: string }) => f.fridgeId === 'f1')).toMatchObject({ reconcilerGateway: 'g2', par: { m1: 12 } });
  });

  it('creates a venue with the meal catalog, then fridges and gateways in it; deletes a fridge', async () => {
    expect((await put('/v1/admin/venues/v3', { name: 'Munich Campus', city: 'Munich', timezone: 'Europe/Berlin' })).statusCode).toBe(200);
    expect((await put('/v1/admin/venues/v3/gateways/m-g1', { name: 'Hall' })).statusCode).toBe(200);
    expect((await put('/v1/admin/venues/v3/fridges/m-f1', { reconciler: 'm-g1' })).statusCode).toBe(200);
    const doc = t.central.registry.peek('v3' as VenueId)!.doc;
    expect(configRecord(doc, 'meal', 'm1')?.name).toBe('Falafel bowl');
    const cat = (await t.central.app.inject({ url: '/v1/catalog?city=Munich', headers: bearer(TOKENS.app) })).json();
    expect(cat.venues[0].fridges.map((f: { fridgeId: string }) => f.fridgeId)).toEqual(['m-f1']);
    // The new venue accepts sync connections.
    expect(t.central.registry.peek('v3' as VenueId)).toBeDefined();
    const del = await t.central.app.inject({ method: 'DELETE', url: '/v1/admin/venues/v3/fridges/m-f1', headers: bearer(TOKENS.admin) });
    expect(del.statusCode).toBe(200);
    expect(configRecord(doc, 'fridge', 'm-f1')).toBeUndefined();
    expect((await t.central.app.inject({ method: 'DELETE', url: '/v1/admin/venues/v3/fridges/m-f1', headers: bearer(TOKENS.admin) })).json().code).toBe('UNKNOWN_FRIDGE');
  });

  it('moving a venue to another city moves it in the catalog', async () => {
    const city = async (c: string) => (await t.central.app.inject({ url: `/v1/catalog?city=${c}`, headers: bearer(TOKENS.app) })).json().venues.map((v: { venueId: string }) => v.venueId);
    expect(await city('Hamburg')).toEqual(['v2']);
    await put('/v1/admin/venues/v1', { name: 'Berlin HQ', city: 'Hamburg', timezone: 'Europe/Berlin' });
    expect(await city('Hamburg')).toEqual(['v1', 'v2']);
    expect(await city('Berlin')).toEqual([]);
  });

  it('changes a meal in every venue', async () => {
    const r = await put('/v1/admin/meals/m3', { name: 'Soup', priceCents: 450, allergens: ['celery'] });
    expect(r.json()).toMatchObject({ mealId: 'm3', venues: 2 });
    for (const v of ['v1', 'v2']) expect(configRecord(t.central.registry.peek(v as VenueId)!.doc, 'meal', 'm3')?.priceCents).toBe(450);
  });

  it('retires a gateway replica: its rights flow to the reconciler', async () => {
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 });
    // The gateway restarts from a restored store under epoch 2 (a snapshot, nothing to correct).
    stockViaGateway(t.central, 'v1', 'f1', { m1: 10 }, { epoch: 2, seq: 2 });
    const rights = async () => (await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) })).json().fridges[0].cells[0].rights;
    expect(await rights()).toEqual({ 'central:c1': 8, 'gw:g1:1': 2 });
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/admin/venues/v1/replicas/gw:g1:1/retire', headers: bearer(TOKENS.admin) });
    expect(r.statusCode).toBe(200);
    expect(await rights()).toEqual({ 'central:c1': 8, 'gw:g1:2': 2 });
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/admin/venues/v1/replicas/central:c1/retire', headers: bearer(TOKENS.admin) })).json().code).toBe('FORBIDDEN');
  });

  it('validates bodies and requires the admin role', async () => {
    expect((await put('/v1/admin/venues/v1/fridges/f1', { reconciler: 'g1', par: { m1: -1 } })).json().code).toBe('VALIDATION_FAILED');
    expect((await put('/v1/admin/venues/nope/fridges/f1', { reconciler: 'g1' })).json().code).toBe('UNKNOWN_VENUE');
    expect((await put('/v1/admin/meals/m1', { name: 'x', priceCents: 1 }, TOKENS.viewer)).json().code).toBe('FORBIDDEN');
    expect((await t.central.app.inject({ method: 'PUT', url: '/v1/admin/meals/m1', payload: { name: 'x', priceCents: 1 } })).statusCode).toBe(401);
  });

  /** An admin edit of f1's par levels, then a restart on the same storage with `over`; f1's par after it. */
  async function parAfterRestart(over?: NonNullable<Parameters<typeof startCentral>[0]>['over']) {
    const { createMemoryStorage } = await import('@fridgesync/server');
    const storage = keepOpen(createMemoryStorage());
    await storage.open();
    await t.close();
    t = await startCentral({ deps: { storage } });
    await put('/v1/admin/venues/v1/fridges/f1', { reconciler: 'g1', par: { m1: 99 } });
    await t.close();
    t = await startCentral({ deps: { storage }, ...(over ? { over } : {}) });
    return configRecord(t.central.registry.peek('v1' as VenueId)!.doc, 'fridge', 'f1')?.par;
  }

  it('seed mode "missing" keeps admin edits across a restart', async () => {
    expect(await parAfterRestart()).toEqual({ m1: 99 });
  });

  it('seed mode "overwrite" makes the config file authoritative again at start', async () => {
    expect(await parAfterRestart({ registry: { ...testConfig().registry, seedMode: 'overwrite' } })).toEqual({ m1: 8, m2: 5 });
  });

  it('registers a gateway token (central-private, durable) that opens the sync endpoint', async () => {
    await t.close();
    t = await startCentral({ level: true, listen: true });
    const dir = t.dir!;
    const hash = hashToken('fresh-gateway-token');
    const r = await put('/v1/admin/venues/v1/gateways/g7', { name: 'New', tokenHash: hash });
    expect(r.json()).toMatchObject({ gatewayId: 'g7', tokenRegistered: true });
    const doc = t.central.registry.peek('v1' as VenueId)!.doc;
    expect(JSON.stringify([...doc.index.config.get('gateway')!])).not.toContain(hash.slice(7));
    const c = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: 'fresh-gateway-token', replica: gatewayReplicaId('g7' as GatewayId, 1) }).ready();
    await c.close();
    await t.central.close();
    t = await startCentral({ level: true, listen: true, dir });
    const again = await new GatewayClient({ wsUrl: t.wsUrl, venue: 'v1', token: 'fresh-gateway-token', replica: gatewayReplicaId('g7' as GatewayId, 1) }).ready();
    expect(again.welcome).toBeDefined();
    await again.close();
    await t.close();
    await rm(dir, { recursive: true, force: true });
    t = await startCentral();
  });
});
