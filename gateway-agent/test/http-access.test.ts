/**
 * Access to the gateway's HTTP port on a running agent: the kiosk token, the loopback-only kiosk
 * without one (Host and Origin checks), the metrics token, the config rule that a kiosk on a network
 * needs a token, and the OpenAPI description with its access and errors per route.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ERROR_CODES, loadConfig } from '@fridgesync/shared';
import { GatewayConfigSchema } from '../src/config-schema.ts';
import { connectFridge, fridgeHashes, inventory, seedActiveStore, startAgent, testConfig } from './helpers/agent.ts';
import { centralDoc, writeFridgeConfig } from './helpers/venue-config.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const KIOSK = 'kiosk-token-0123456789';
const METRICS = 'metrics-token-0123456789';

/** An active gateway reconciling f1 with 5 × m1, its fridge connected and subscribed to commands. */
async function stocked(http: { kioskToken?: string; metricsToken?: string } = {}) {
  const dir = tempDir();
  const cdoc = centralDoc();
  writeFridgeConfig(cdoc, 'f1', { venueId: 'v1' as never, reconciler: 'gw1' as never });
  await seedActiveStore(dir, 1, 'gw1', 'v1', [Y.encodeStateAsUpdate(cdoc.ydoc)]);
  const agent = await startAgent(testConfig(dir, { fridges: await fridgeHashes(['f1']), http }), defer);
  const fridge = await connectFridge(agent.mqttPort!, 'f1', defer);
  const commands: string[] = [];
  fridge.on('message', (_t, p) => {
    if (p.toString().includes('unlock')) commands.push(p.toString());
  });
  await fridge.subscribeAsync('fridges/f1/commands', { qos: 1 });
  await fridge.publishAsync('fridges/f1/inventory', inventory(1, 1, { m1: 5 }), { qos: 1 });
  await fridge.publishAsync('fridges/f1/status', JSON.stringify({ online: true, ts: new Date().toISOString() }), { qos: 1 });
  await eventually(() => expect(agent.status().rightsHeld).toEqual({ f1: { m1: 5 } }));
  return { agent, commands, port: agent.httpPort };
}

/** A raw HTTP request (node:http lets a test set `Host` as a browser on another name would). */
function call(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          /* text */
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

const order = (orderId: string) => ({ orderId, venueId: 'v1', fridgeId: 'f1', items: [{ mealId: 'm1', qty: 1 }] });

describe('kiosk token', () => {
  it('with http.kioskToken set, every kiosk route needs it: 401 before the body is looked at, nothing reserved or unlocked', async () => {
    const { port, commands, agent } = await stocked({ kioskToken: KIOSK });
    const auth = { authorization: `Bearer ${KIOSK}` };
    expect((await call(port, 'POST', '/v1/orders', auth, order('o1'))).status).toBe(201);
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: KIOSK }] as Array<Record<string, string>>) {
      for (const [method, path, body] of [['POST', '/v1/orders', order('o2')], ['POST', '/v1/orders', { bogus: 1 }], ['GET', '/v1/orders/o1'], ['POST', '/v1/orders/o1/cancel'], ['POST', '/v1/orders/o1/unlock']] as const) {
        const r = await call(port, method, path, headers, body);
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.json.code).toBe('UNAUTHENTICATED');
      }
    }
    expect(agent.status().rightsHeld).toEqual({ f1: { m1: 4 } });
    expect(commands).toEqual([]);
    // Spaces around the token are the same token; health stays open.
    expect((await call(port, 'POST', '/v1/orders/o1/unlock', { authorization: `Bearer  ${KIOSK} ` })).status).toBe(202);
    await eventually(() => expect(commands).toHaveLength(1));
    for (const path of ['/livez', '/readyz', '/status', '/metrics', '/documentation/json']) expect((await call(port, 'GET', path)).status, path).toBe(200);
  });

  it('without a token: only requests from this host, not from a web page on another name or origin', async () => {
    const { port, commands } = await stocked();
    expect((await call(port, 'POST', '/v1/orders', {}, order('o1'))).status).toBe(201);
    expect((await call(port, 'POST', '/v1/orders', { origin: `http://127.0.0.1:${port}` }, order('o2'))).status).toBe(201);
    expect((await call(port, 'GET', '/v1/orders/o1', { host: `localhost:${port}` })).status).toBe(200);
    const refused: Array<Record<string, string>> = [
      { origin: 'http://evil.example' }, // a cross-site page: its no-cors POST would otherwise open the fridge
      { origin: 'null' },
      { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, // DNS rebinding: same-origin to the browser
      { host: `evil.example:${port}` },
    ];
    for (const headers of refused) {
      const r = await call(port, 'POST', '/v1/orders/o1/unlock', headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.json.code).toBe('FORBIDDEN');
      expect((await call(port, 'POST', '/v1/orders', headers, order('o3'))).status).toBe(403);
    }
    expect(commands).toEqual([]);
    expect((await call(port, 'GET', '/v1/orders/o3')).status).toBe(404);
  });

  it('the config refuses a kiosk API on a network address without a token, and reads the token from a _FILE', () => {
    const base = { gatewayId: 'g', venueId: 'v' };
    const r = GatewayConfigSchema.safeParse({ ...base, http: { host: '0.0.0.0' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['http.kioskToken']);
    expect(GatewayConfigSchema.safeParse({ ...base, http: { host: '0.0.0.0', kioskToken: 'short' } }).success).toBe(false);
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(GatewayConfigSchema.safeParse({ ...base, http: { host } }).success, host).toBe(true);
    const files: Record<string, string> = { '/run/secrets/kiosk': `${KIOSK}\n`, '/run/secrets/metrics': METRICS };
    const c = loadConfig(GatewayConfigSchema, {
      file: { ...base, http: { host: '0.0.0.0' } },
      env: { FRIDGESYNC_HTTP__KIOSK_TOKEN_FILE: '/run/secrets/kiosk', FRIDGESYNC_HTTP__METRICS_TOKEN_FILE: '/run/secrets/metrics' },
      readFile: (p) => files[p]!,
    });
    expect(c.http).toMatchObject({ kioskToken: KIOSK, metricsToken: METRICS });
  });
});

describe('metrics token', () => {
  it('with http.metricsToken set, /metrics and /status need it (scheme in any case); without, they are open', async () => {
    const { port } = await stocked({ metricsToken: METRICS });
    for (const path of ['/metrics', '/status']) {
      for (const headers of [{}, { authorization: 'Bearer nope' }] as Array<Record<string, string>>) expect((await call(port, 'GET', path, headers)).json, path).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    }
    const ok = await call(port, 'GET', '/metrics', { authorization: `Bearer ${METRICS}` });
    expect(ok.status).toBe(200);
    expect(String(ok.json)).toContain('fridgesync_gateway_');
    const status = await call(port, 'GET', '/status', { authorization: `bearer ${METRICS}` });
    expect(status.status).toBe(200);
    expect(status.json.rightsHeld).toEqual({ f1: { m1: 5 } });
    // The kiosk token is not the metrics token, and the other way round.
    expect((await call(port, 'GET', '/v1/orders/x', { authorization: `Bearer ${METRICS}` })).status).toBe(404);
  });
});

describe('OpenAPI and health', () => {
  it('serves its OpenAPI description with access and every error per route, and the same /livez body as central', async () => {
    const { port } = await stocked({ kioskToken: KIOSK });
    expect((await call(port, 'GET', '/livez')).json).toEqual({ status: 'ok' });
    expect((await call(port, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
    const spec = (await call(port, 'GET', '/documentation/json')).json;
    expect(spec.openapi).toMatch(/^3\./);
    const expected: Record<string, Record<string, string[]>> = {
      '/v1/orders': { post: ['UNAUTHENTICATED', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNKNOWN_VENUE', 'UNKNOWN_FRIDGE', 'UNKNOWN_MEAL', 'SOLD_OUT', 'ORDER_CONFLICT', 'NOT_READY', 'STORAGE_FAILED'] },
      '/v1/orders/{id}': { get: ['UNAUTHENTICATED', 'UNKNOWN_ORDER'] },
      '/v1/orders/{id}/cancel': { post: ['UNAUTHENTICATED', 'UNKNOWN_ORDER', 'ORDER_SETTLED', 'NOT_READY', 'STORAGE_FAILED'] },
      '/v1/orders/{id}/unlock': { post: ['UNAUTHENTICATED', 'UNKNOWN_ORDER', 'ORDER_SETTLED', 'FRIDGE_OFFLINE'] },
    };
    for (const [path, ops] of Object.entries(expected)) {
      for (const [method, codes] of Object.entries(ops)) {
        const op = spec.paths[path][method];
        expect(op.security, path).toEqual([{ bearer: [] }]);
        expect(op.description, path).toContain('http.kioskToken');
        for (const code of codes) expect(op.responses[String(ERROR_CODES[code as keyof typeof ERROR_CODES].statusCode)].content['application/json'].schema.properties.code.enum, `${method} ${path} ${code}`).toContain(code);
      }
    }
    expect(spec.paths['/v1/orders'].post.requestBody).toBeDefined();
    for (const path of ['/livez', '/readyz', '/status', '/metrics']) expect(spec.paths[path].get.security, path).toEqual([]);
    const page = await call(port, 'GET', '/documentation');
    expect(String(page.json)).toContain('/documentation/page.js');
  });
});
