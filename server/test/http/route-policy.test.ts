/**
 * The route policy over every registered route of a real central: authentication comes before body
 * and parameter validation, each route's roles and error responses are in the OpenAPI description,
 * and the write rate limit counts per authenticated token, however its header is spelled.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '@fridgesync/shared';
import { hashToken } from '@fridgesync/server';
import { installRoutePolicy } from '../../src/http/route-policy.ts';
import { Authenticator } from '../../src/auth.ts';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';

let t: TestCentral;
beforeAll(async () => {
  // These tests send hundreds of requests without a token from one address: the failed-auth bound
  // is tested on a central of its own below.
  t = await startCentral({ over: { http: { maxAuthFailuresPerAddress: 1_000_000, host: '127.0.0.1', port: 0 } } });
});
afterAll(async () => t.close());

const TOKEN_OF = { app: TOKENS.app, kitchen: TOKENS.kitchen, admin: TOKENS.admin, viewer: TOKENS.viewer, gateway: TOKENS.gw1 } as const;
/** A concrete URL for a route pattern; `bad` puts an invalid value in every parameter. */
const concrete = (url: string, bad: boolean) => url.replace(/:[A-Za-z]+/g, bad ? '%20bad%20id%20' : 'x').replace('*', 'x');
const openapiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}');

/**
 * Every `METHOD url` fastify itself serves (HEAD aside), parsed from `printRoutes`, whose tree
 * prints each node's path below its parent's, e.g. `│   └── /:orderId (GET, HEAD)`. A wildcard
 * child prints as `*` without its slash, so both sides are compared with `/*` written `*`.
 */
function servedRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (m[3] ?? '').split(', ').filter((x) => x !== '' && x !== 'HEAD')) out.push(`${method} ${path}`);
  }
  return out.sort();
}
const wild = (url: string) => url.replace(/\/\*$/, '*');

describe('the route table', () => {
  it('holds every route fastify serves, so none escapes the policy', () => {
    const served = servedRoutes(t.central.app.printRoutes({ commonPrefix: false }));
    expect(served.length).toBeGreaterThan(25);
    expect(served).toContain('POST /v1/orders/:orderId/cancel');
    const table = t.central.routes.map((r) => `${r.method} ${wild(r.url)}`).sort();
    expect(served).toEqual(table);
  });
});

describe('authentication before validation', () => {
  it('every route that needs a token answers 401 to a request without one, whatever its body and parameters', async () => {
    const guarded = t.central.routes.filter((r) => 'roles' in r.access);
    expect(guarded.length).toBeGreaterThan(15);
    for (const r of guarded) {
      for (const payload of [undefined, '{"bogus":', JSON.stringify({ bogus: 'x'.repeat(64) }), 'x'.repeat(2 * 1024 * 1024)]) {
        const res = await t.central.app.inject({
          method: r.method as 'GET',
          url: concrete(r.url, true) + '?venueId=%20&city=%20&dryRun=maybe',
          ...(payload === undefined || r.method === 'GET' ? {} : { payload, headers: { 'content-type': 'application/json' } }),
        });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
        expect(res.json(), `${r.method} ${r.url}`).toEqual({ statusCode: 401, code: 'UNAUTHENTICATED', message: ERROR_CODES.UNAUTHENTICATED.message });
      }
    }
  });

  it('a token of another role gets 403 before its body is looked at', async () => {
    for (const r of t.central.routes.filter((x) => 'roles' in x.access && x.method !== 'GET')) {
      const allowed = 'roles' in r.access ? r.access.roles : [];
      const other = (Object.keys(TOKEN_OF) as Array<keyof typeof TOKEN_OF>).find((role) => !allowed.includes(role))!;
      const res = await t.central.app.inject({ method: r.method as 'POST', url: concrete(r.url, true), headers: { ...bearer(TOKEN_OF[other]), 'content-type': 'application/json' }, payload: '{"bogus":1}' });
      expect(res.statusCode, `${r.method} ${r.url} as ${other}`).toBe(403);
      expect(res.json().code).toBe('FORBIDDEN');
    }
  });

  it('a route that declares no access cannot be registered', async () => {
    const app = Fastify();
    installRoutePolicy(app, { auth: new Authenticator([]), metricsTokenHash: undefined, maxAuthFailuresPerAddress: 10, authFailureWindowMs: 60_000 });
    expect(() => app.post('/v1/new-thing', async () => ({}))).toThrow(/declares no config.access/);
    await app.close();
  });
});

describe('OpenAPI: roles and errors per route', () => {
  it('every documented route names its roles and declares every error response it answers, from the catalog', async () => {
    const spec = (await t.central.app.inject({ url: '/documentation/json' })).json();
    const documented = t.central.routes.filter((r) => spec.paths[openapiPath(r.url)]?.[r.method.toLowerCase()] !== undefined);
    expect(documented.length).toBeGreaterThan(15);
    for (const r of documented) {
      const op = spec.paths[openapiPath(r.url)][r.method.toLowerCase()];
      const where = `${r.method} ${r.url}`;
      expect(op['x-roles'], where).toEqual('roles' in r.access ? [...r.access.roles] : []);
      expect(op.security, where).toEqual('roles' in r.access ? [{ bearer: [] }] : []);
      if ('roles' in r.access) expect(r.errors, where).toEqual(expect.arrayContaining(['UNAUTHENTICATED', 'FORBIDDEN']));
      if (r.hasBody) expect(r.errors, where).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE']));
      if (r.rateLimited) expect(r.errors, where).toContain('RATE_LIMITED');
      for (const code of r.errors) {
        const res = op.responses[String(ERROR_CODES[code].statusCode)];
        expect(res, `${where} documents ${code}`).toBeDefined();
        expect(res.content['application/json'].schema.properties.code.enum, `${where} ${code}`).toContain(code);
        expect(res.description).toContain(ERROR_CODES[code].message);
      }
    }
    for (const [status] of Object.entries(spec.paths['/v1/orders'].post.responses)) expect(['200', '201', '400', '401', '403', '404', '409', '413', '429', '503']).toContain(status);
  });

  it('the errors routes answer are among those they document (every role, valid and invalid input)', async () => {
    const seen = new Set<string>();
    for (const r of t.central.routes.filter((x) => 'roles' in x.access && !x.url.startsWith('/sync') && x.url !== '/v1/events')) {
      for (const role of Object.keys(TOKEN_OF) as Array<keyof typeof TOKEN_OF>) {
        for (const bad of [false, true]) {
          const res = await t.central.app.inject({ method: r.method as 'POST', url: concrete(r.url, bad), headers: bearer(TOKEN_OF[role]), ...(r.method === 'GET' ? {} : { payload: bad ? { bogus: 1 } : {} }) });
          if (res.statusCode < 400) continue;
          const code = res.json().code as ErrorCode;
          seen.add(code);
          expect(r.errors, `${r.method} ${r.url} as ${role} answered ${code}`).toContain(code);
        }
      }
    }
    expect([...seen]).toEqual(expect.arrayContaining(['FORBIDDEN', 'VALIDATION_FAILED', 'UNKNOWN_ORDER', 'UNKNOWN_VENUE']));
  });
});

describe('write rate limit', () => {
  it('counts per token: spaces around the token in the header do not buy a new budget', async () => {
    const c = await startCentral({ over: { http: { writeRateLimitPerMinute: 3, host: '127.0.0.1', port: 0 } } });
    try {
      const spellings = [`Bearer ${TOKENS.app}`, `Bearer  ${TOKENS.app}`, `Bearer ${TOKENS.app} `, `Bearer   ${TOKENS.app}  `, `Bearer \t${TOKENS.app}`];
      const codes: number[] = [];
      for (const [i, authorization] of spellings.entries()) {
        const r = await c.central.app.inject({ method: 'POST', url: '/v1/orders', headers: { authorization }, payload: { orderId: `rl-${i}`, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } });
        codes.push(r.statusCode);
      }
      expect(codes).toEqual([409, 409, 409, 429, 429]);
      // Another token keeps its own budget.
      expect((await c.central.app.inject({ method: 'POST', url: '/v1/orders/x/cancel', headers: bearer(TOKENS.admin) })).statusCode).toBe(404);
    } finally {
      await c.close();
    }
  });
});

describe('/metrics token', () => {
  it('with http.metricsTokenHash set, /metrics needs that bearer token; other tokens and none get 401', async () => {
    const c = await startCentral({ over: { http: { metricsTokenHash: hashToken('scrape-me'), host: '127.0.0.1', port: 0 } } });
    try {
      for (const headers of [{}, bearer('wrong'), bearer(TOKENS.admin), { authorization: 'scrape-me' }]) {
        const r = await c.central.app.inject({ url: '/metrics', headers });
        expect(r.statusCode).toBe(401);
        expect(r.json().code).toBe('UNAUTHENTICATED');
        expect(r.body).not.toContain('fridgesync_');
      }
      const ok = await c.central.app.inject({ url: '/metrics', headers: bearer('scrape-me') });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('fridgesync_http_requests_total');
      const spec = (await c.central.app.inject({ url: '/documentation/json' })).json();
      expect(spec.paths['/metrics'].get.security).toEqual([{ bearer: [] }]);
      expect(spec.paths['/metrics'].get.responses['401']).toBeDefined();
    } finally {
      await c.close();
    }
  });

  it('without it, /metrics stays open (the documented default)', async () => {
    expect((await t.central.app.inject({ url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('failed authentications', () => {
  it('past http.maxAuthFailuresPerAddress 401s an address gets 429 on every guarded route until the window ends; other addresses are unaffected', async () => {
    const c = await startCentral({ over: { http: { maxAuthFailuresPerAddress: 3, host: '127.0.0.1', port: 0 } } });
    try {
      const from = (remoteAddress: string, headers: Record<string, string>) => c.central.app.inject({ url: '/v1/venues', headers, remoteAddress });
      for (let i = 0; i < 3; i++) expect((await from('10.0.0.1', bearer(`guess-${i}`))).statusCode).toBe(401);
      const refused = await from('10.0.0.1', bearer(TOKENS.viewer));
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
      expect((await from('10.0.0.1', {})).statusCode).toBe(429);
      // Public routes stay open to it; another address keeps its own count.
      expect((await c.central.app.inject({ url: '/livez', remoteAddress: '10.0.0.1' })).statusCode).toBe(200);
      expect((await from('10.0.0.2', bearer(TOKENS.viewer))).statusCode).toBe(200);
      // A token of the wrong role is authenticated: 403 counts as no failure.
      for (let i = 0; i < 5; i++) expect((await c.central.app.inject({ method: 'PUT', url: '/v1/admin/meals/m9', headers: bearer(TOKENS.viewer), remoteAddress: '10.0.0.3' })).statusCode).toBe(403);
      expect((await from('10.0.0.3', bearer(TOKENS.viewer))).statusCode).toBe(200);
    } finally {
      await c.close();
    }
  });

  it('accepts the Bearer scheme in any case (RFC 7235), for role tokens and the metrics token', async () => {
    const c = await startCentral({ over: { http: { metricsTokenHash: hashToken('scrape-me'), host: '127.0.0.1', port: 0 } } });
    try {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        expect((await c.central.app.inject({ url: '/v1/venues', headers: { authorization: `${scheme} ${TOKENS.viewer}` } })).statusCode, scheme).toBe(200);
        expect((await c.central.app.inject({ url: '/metrics', headers: { authorization: `${scheme} scrape-me` } })).statusCode, scheme).toBe(200);
      }
      expect((await c.central.app.inject({ url: '/v1/venues', headers: { authorization: `Bearer${TOKENS.viewer}` } })).statusCode).toBe(401);
    } finally {
      await c.close();
    }
  });
});
