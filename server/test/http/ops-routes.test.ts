/** Health, metrics, documentation, error format, body limits, rate limits, dashboard files. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, startCentral, stockViaGateway, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral;
afterEach(async () => t.close());

describe('health and metrics', () => {
  it('/livez and /readyz answer; readiness fails while shutting down', async () => {
    t = await startCentral();
    expect((await t.central.app.inject({ url: '/livez' })).json()).toEqual({ status: 'ok' });
    expect((await t.central.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('/metrics exposes fridgesync_ metrics in base units without ids in labels', async () => {
    t = await startCentral();
    stockViaGateway(t.central, 'v1', 'f1', { m1: 3 });
    await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: 'secret-order-id', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
    await t.central.app.inject({ url: '/v1/venues/v1', headers: bearer(TOKENS.viewer) });
    const r = await t.central.app.inject({ url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    for (const name of ['fridgesync_http_requests_total', 'fridgesync_http_request_duration_seconds', 'fridgesync_storage_append_duration_seconds', 'fridgesync_orders_total', 'fridgesync_documents_loaded', 'fridgesync_storage_pending_updates 0', 'fridgesync_events_total{type="fridge"}']) {
      expect(r.body).toContain(name);
    }
    expect(r.body).toContain('route="/v1/venues/:venueId"');
    expect(r.body).not.toContain('secret-order-id');
    const names = r.body.split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]!);
    expect(names.every((n) => n.startsWith('fridgesync_'))).toBe(true);
  });
});

describe('documentation', () => {
  it('serves OpenAPI JSON with the routes and a self-contained HTML page', async () => {
    t = await startCentral();
    const spec = (await t.central.app.inject({ url: '/documentation/json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    for (const p of ['/v1/orders', '/v1/orders/{orderId}', '/v1/venues/{venueId}', '/v1/catalog', '/v1/kitchen/deliveries', '/v1/promotions', '/v1/events']) expect(spec.paths[p]).toBeDefined();
    expect(spec.paths['/v1/orders'].post.requestBody).toBeDefined();
    // The read views are documented response schemas, the live feed a union discriminated by `type`.
    const json = (path: string) => spec.paths[path].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(json('/v1/venues/{venueId}').properties)).toEqual(expect.arrayContaining(['totals', 'fridges', 'gateways', 'deliveries', 'orders']));
    expect(Object.keys(json('/v1/venues/{venueId}').properties.fridges.items.properties.cells.items.properties)).toEqual(expect.arrayContaining(['mealId', 'Teff', 'drift', 'shortage', 'unassignedRights', 'centralRights']));
    expect(json('/v1/venues').properties.venues).toBeDefined();
    expect(json('/v1/catalog').properties.venues).toBeDefined();
    const feed = spec.paths['/v1/events'].get.responses['200'].content['text/event-stream'].schema;
    const members: Array<{ properties: { type: { const?: string; enum?: string[] } } }> = feed.oneOf ?? feed.anyOf;
    expect(members.map((m) => m.properties.type.const ?? m.properties.type.enum?.[0])).toEqual(['fridge', 'venue', 'order', 'delivery', 'gateway', 'refetch']);
    // Field descriptions come from the schemas.
    expect(json('/v1/venues/{venueId}').properties.fridges.items.properties.cells.items.properties.drift.description).toMatch(/reconciler/);
    const html = await t.central.app.inject({ url: '/documentation' });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toContain('/documentation/json');
    // Everything from central itself, nothing inline (the CSP allows neither a CDN nor inline code).
    expect(html.body).not.toMatch(/<script[^>]+src="(https?:)?\/\/|<link[^>]+href="(https?:)?\/\/|<script>|<style|style=/);
    expect((await t.central.app.inject({ url: '/documentation/page.js' })).headers['content-type']).toMatch(/text\/javascript/);
    expect((await t.central.app.inject({ url: '/documentation/page.css' })).headers['content-type']).toMatch(/text\/css/);
  });
});

describe('errors and limits', () => {
  it('unknown routes answer NOT_FOUND in the catalog format; bad JSON answers VALIDATION_FAILED', async () => {
    t = await startCentral();
    expect((await t.central.app.inject({ url: '/nope' })).json()).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: 'No such resource.' });
    const bad = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...bearer(TOKENS.app), 'content-type': 'application/json' }, payload: '{"x":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
  });

  it('bodies above the limit answer PAYLOAD_TOO_LARGE', async () => {
    t = await startCentral({ over: { http: { bodyLimitBytes: 2048, host: '127.0.0.1', port: 0 } } });
    const r = await t.central.app.inject({ method: 'POST', url: '/v1/promotions', headers: { ...bearer(TOKENS.admin), 'content-type': 'text/csv' }, payload: 'x'.repeat(5000) });
    expect(r.statusCode).toBe(413);
    expect(r.json().code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('write routes are rate limited per token', async () => {
    t = await startCentral({ over: { http: { writeRateLimitPerMinute: 3, host: '127.0.0.1', port: 0 } } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.app), payload: { orderId: `rl-${i}`, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
      codes.push(r.statusCode);
      if (r.statusCode === 429) expect(r.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    }
    expect(codes).toEqual([409, 409, 409, 429, 429]);
    // Another token has its own budget; reads are not limited.
    expect((await t.central.app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(TOKENS.admin), payload: { orderId: 'rl-x', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } })).statusCode).toBe(409);
    for (let i = 0; i < 5; i++) expect((await t.central.app.inject({ url: '/v1/catalog', headers: bearer(TOKENS.app) })).statusCode).toBe(200);
  });
});

describe('dashboard files', () => {
  const dir = resolve(import.meta.dirname, '../fixtures/dashboard');

  it('serves index.html and assets with content types, refuses traversal', async () => {
    t = await startCentral({ deps: { dashboardDir: dir } });
    const idx = await t.central.app.inject({ url: '/dashboard/' });
    expect(idx.statusCode).toBe(200);
    expect(idx.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(idx.body).toContain('dash');
    expect((await t.central.app.inject({ url: '/dashboard' })).statusCode).toBe(302);
    expect((await t.central.app.inject({ url: '/dashboard/assets/app.js' })).headers['content-type']).toMatch(/text\/javascript/);
    expect((await t.central.app.inject({ url: '/dashboard/assets/app.css' })).headers['content-type']).toMatch(/text\/css/);
    for (const url of ['/dashboard/../outside.txt', '/dashboard/%2e%2e/outside.txt', '/dashboard/assets/%2e%2e%2f%2e%2e%2foutside.txt', '/dashboard/nope.js', '/dashboard/assets']) {
      const r = await t.central.app.inject({ url });
      expect(r.statusCode, url).toBe(404);
      expect(r.body).not.toContain('secret');
    }
  });

  it('sends the security headers on the dashboard, the API and errors: CSP with frame-ancestors, no framing, no referrer, nosniff', async () => {
    t = await startCentral({ deps: { dashboardDir: dir } });
    for (const req of [{ url: '/dashboard/' }, { url: '/dashboard/assets/app.js' }, { url: '/v1/venues', headers: bearer(TOKENS.viewer) }, { url: '/v1/venues' }, { url: '/nope' }, { url: '/documentation' }]) {
      const r = await t.central.app.inject(req);
      const where = `${req.url} (${r.statusCode})`;
      const csp = String(r.headers['content-security-policy']);
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) expect(csp, where).toContain(directive);
      expect(r.headers['x-frame-options'], where).toBe('DENY');
      expect(r.headers['referrer-policy'], where).toBe('no-referrer');
      expect(r.headers['x-content-type-options'], where).toBe('nosniff');
      expect(r.headers['strict-transport-security'], where).toBeUndefined();
    }
  });

  it('serves no symlink leading outside, no dotfile, no type declaration; HTML is revalidated, assets cached', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'dash-'));
    try {
      await mkdir(join(tmp, 'page'));
      await writeFile(join(tmp, 'secret.txt'), 'secret');
      await writeFile(join(tmp, 'page', 'index.html'), '<p>dash</p>');
      await writeFile(join(tmp, 'page', 'app.js'), 'export {};');
      await writeFile(join(tmp, 'page', 'types.d.ts'), 'export type X = 1;');
      await writeFile(join(tmp, 'page', 'tsconfig.json'), '{}');
      await writeFile(join(tmp, 'page', '.env'), 'secret');
      await symlink(join(tmp, 'secret.txt'), join(tmp, 'page', 'link.txt'));
      t = await startCentral({ deps: { dashboardDir: join(tmp, 'page') } });
      const index = await t.central.app.inject({ url: '/dashboard/' });
      expect(index.headers['cache-control']).toBe('no-cache');
      const js = await t.central.app.inject({ url: '/dashboard/app.js' });
      expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(js.headers['cache-control']).toBe('public, max-age=300');
      expect(js.headers.etag).toBeDefined();
      for (const url of ['/dashboard/link.txt', '/dashboard/.env', '/dashboard/types.d.ts', '/dashboard/tsconfig.json']) {
        const r = await t.central.app.inject({ url });
        expect(r.statusCode, url).toBe(404);
        expect(r.json(), url).toMatchObject({ code: 'NOT_FOUND' });
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('a missing directory gives 404', async () => {
    t = await startCentral({ deps: { dashboardDir: resolve(dir, 'does-not-exist') } });
    expect((await t.central.app.inject({ url: '/dashboard/' })).statusCode).toBe(404);
  });
});
