/**
 * Role matrix: every HTTP route refuses a missing token (401), refuses the roles it does not serve
 * (403 FORBIDDEN) and lets the others through (whatever the route answers next).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startCentral, TOKENS, type TestCentral } from '../helpers/central.ts';

type Role = 'app' | 'kitchen' | 'admin' | 'viewer' | 'gateway';
const TOKEN: Record<Role, string> = { app: TOKENS.app, kitchen: TOKENS.kitchen, admin: TOKENS.admin, viewer: TOKENS.viewer, gateway: TOKENS.gw1 };
const ROLES = Object.keys(TOKEN) as Role[];

const ROUTES: Array<{ method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; allowed: Role[]; payload?: object }> = [
  { method: 'GET', url: '/v1/venues', allowed: ['viewer', 'admin', 'kitchen'] },
  { method: 'GET', url: '/v1/venues/v1', allowed: ['viewer', 'admin', 'kitchen'] },
  { method: 'GET', url: '/v1/catalog', allowed: ['app', 'viewer', 'admin', 'kitchen'] },
  { method: 'POST', url: '/v1/orders', allowed: ['app', 'admin'], payload: { orderId: 'x', venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] } },
  { method: 'GET', url: '/v1/orders/x', allowed: ['app', 'admin', 'kitchen', 'viewer'] },
  { method: 'POST', url: '/v1/orders/x/cancel', allowed: ['app', 'admin'] },
  { method: 'POST', url: '/v1/orders/x/pickup', allowed: ['kitchen', 'admin'] },
  { method: 'POST', url: '/v1/kitchen/deliveries', allowed: ['kitchen', 'admin'], payload: { deliveryId: 'd', venueId: 'v1', fridgeId: 'f1', items: { m1: 1 } } },
  { method: 'GET', url: '/v1/kitchen/deliveries', allowed: ['kitchen', 'admin', 'viewer'] },
  { method: 'GET', url: '/v1/kitchen/refill-plan', allowed: ['kitchen', 'admin', 'viewer'] },
  { method: 'POST', url: '/v1/promotions?dryRun=true', allowed: ['admin'], payload: [] },
  { method: 'GET', url: '/v1/promotions', allowed: ['admin', 'viewer', 'kitchen', 'app'] },
  { method: 'PUT', url: '/v1/admin/venues/v1', allowed: ['admin'], payload: { name: 'Berlin HQ', city: 'Berlin', timezone: 'Europe/Berlin' } },
  { method: 'PUT', url: '/v1/admin/venues/v1/fridges/f9', allowed: ['admin'], payload: { reconciler: 'g1' } },
  { method: 'DELETE', url: '/v1/admin/venues/v1/fridges/f9', allowed: ['admin'] },
  { method: 'PUT', url: '/v1/admin/venues/v1/gateways/g9', allowed: ['admin'], payload: {} },
  { method: 'PUT', url: '/v1/admin/meals/m1', allowed: ['admin'], payload: { name: 'Falafel bowl', priceCents: 890 } },
  { method: 'POST', url: '/v1/admin/venues/v1/replicas/gw:g9:1/retire', allowed: ['admin'] },
];

let t: TestCentral;
beforeAll(async () => {
  t = await startCentral();
});
afterAll(async () => t.close());

describe('role matrix', () => {
  for (const r of ROUTES) {
    it(`${r.method} ${r.url}`, async () => {
      const none = await t.central.app.inject({ method: r.method, url: r.url, ...(r.payload ? { payload: r.payload } : {}) });
      expect(none.statusCode).toBe(401);
      expect(none.json().code).toBe('UNAUTHENTICATED');
      for (const role of ROLES) {
        const res = await t.central.app.inject({ method: r.method, url: r.url, headers: bearer(TOKEN[role]), ...(r.payload ? { payload: r.payload } : {}) });
        if (r.allowed.includes(role)) expect([401, 403], `${role} should pass`).not.toContain(res.statusCode);
        else {
          expect(res.statusCode, `${role} should be refused`).toBe(403);
          expect(res.json().code).toBe('FORBIDDEN');
        }
      }
    });
  }
});
