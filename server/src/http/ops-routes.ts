/**
 * Operations: `/livez` (the process answers), `/readyz` (storage open, initial documents loaded, no
 * fatal storage error, not shutting down), `/metrics` (Prometheus text; the metrics token when
 * `http.metricsTokenHash` is set), and the API documentation: `/documentation/json` (OpenAPI from
 * the zod schemas) and `/documentation`, a small self-contained HTML page that renders it (no CDN,
 * works offline; its script and style are files beside it, so it runs under the strict CSP).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_DOC_CSS, API_DOC_JS, LIVEZ_BODY, READYZ_BODY, apiDocHtml, errorBody } from '@fridgesync/shared';
import type { Metrics } from '../metrics.ts';
import { PUBLIC } from './route-policy.ts';

/** Readiness as the app tracks it. */
export interface Readiness {
  ready(): { ok: boolean; reason?: string };
}

/** Registers health, metrics and documentation routes. */
export function registerOpsRoutes(app: FastifyInstance, metrics: Metrics, readiness: Readiness): void {
  const open = { config: { access: PUBLIC } };
  app.get('/livez', { ...open, schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => LIVEZ_BODY);
  app.get('/readyz', { config: { access: PUBLIC, errors: ['NOT_READY'] }, schema: { tags: ['ops'], summary: 'Readiness: storage open, documents loaded' } }, async (_req, reply) => {
    const r = readiness.ready();
    if (r.ok) return READYZ_BODY;
    return reply.status(503).send(errorBody('NOT_READY', r.reason));
  });
  app.get('/metrics', { config: { access: { metrics: true } }, schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  const page = apiDocHtml('fridgesync central API');
  app.get('/documentation', { ...open, schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(page));
  app.get('/documentation/page.js', { ...open, schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(API_DOC_JS));
  app.get('/documentation/page.css', { ...open, schema: { hide: true } }, async (_req, reply) => reply.type('text/css; charset=utf-8').send(API_DOC_CSS));
  app.get('/documentation/json', { ...open, schema: { hide: true } }, async () => (app as unknown as { swagger(): unknown }).swagger());
}
