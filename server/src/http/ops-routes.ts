/**
 * Operations: `/livez` (the process answers), `/readyz` (storage open, initial documents loaded, no
 * fatal storage error, not shutting down), `/metrics` (Prometheus text), and the API documentation:
 * `/documentation/json` (OpenAPI from the zod schemas) and `/documentation`, a small self-contained
 * HTML page that renders it (no CDN, works offline).
 */
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.ts';
import type { Metrics } from '../metrics.ts';

/** Readiness as the app tracks it. */
export interface Readiness {
  ready(): { ok: boolean; reason?: string };
}

const DOC_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fridgesync central API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.6rem 0;padding:.5rem .7rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.2rem;font-weight:600;font-family:monospace}
.get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}.delete{color:#c62828}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:20rem}
details summary{cursor:pointer;color:#555}
</style></head><body>
<h1>fridgesync central API</h1>
<p>Machine-readable spec: <a href="/documentation/json">/documentation/json</a> (OpenAPI 3). Errors are
<code>{statusCode, code, message}</code>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<div id="ops">Loading…</div>
<script>
fetch('/documentation/json').then(r=>r.json()).then(spec=>{
  const byTag={};
  for(const [path,item] of Object.entries(spec.paths||{})) for(const [method,op] of Object.entries(item)){
    const tag=(op.tags&&op.tags[0])||'other';(byTag[tag]=byTag[tag]||[]).push({path,method,op});
  }
  const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  let html='';
  for(const tag of Object.keys(byTag).sort()){
    html+='<h2>'+esc(tag)+'</h2>';
    for(const {path,method,op} of byTag[tag]){
      html+='<div class="op"><span class="m '+method+'">'+method.toUpperCase()+'</span> <code>'+esc(path)+'</code><div>'+esc(op.summary||'')+'</div>';
      const extra={parameters:op.parameters,requestBody:op.requestBody};
      if(op.parameters||op.requestBody) html+='<details><summary>schema</summary><pre>'+esc(JSON.stringify(extra,null,2))+'</pre></details>';
      html+='</div>';
    }
  }
  document.getElementById('ops').innerHTML=html;
}).catch(e=>{document.getElementById('ops').textContent='Could not load the spec: '+e});
</script></body></html>`;

/** Registers health, metrics and documentation routes. */
export function registerOpsRoutes(app: FastifyInstance, metrics: Metrics, readiness: Readiness): void {
  app.get('/livez', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness: storage open, documents loaded' } }, async (_req, reply) => {
    const r = readiness.ready();
    if (r.ok) return { status: 'ready' };
    return reply.status(503).send(errorBody('NOT_READY', r.reason));
  });
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/documentation', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(DOC_PAGE));
  app.get('/documentation/json', { schema: { hide: true } }, async () => (app as unknown as { swagger(): unknown }).swagger());
}
