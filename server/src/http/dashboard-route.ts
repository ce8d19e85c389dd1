/**
 * Serves the static dashboard directory (`server/dashboard/`, written separately) at `/dashboard/`.
 * Only regular files inside the directory are served (resolved paths are checked against the root,
 * so `..` and encoded variants cannot escape); content types come from a fixed table; a missing
 * directory or file is a 404 in the catalog format.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '@fridgesync/shared';
import { PUBLIC } from './route-policy.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Registers `/dashboard` and `/dashboard/*` serving files from `dir`. */
export function registerDashboardRoute(app: FastifyInstance, dir: string): void {
  const root = resolve(dir);
  app.get('/dashboard', { config: { access: PUBLIC }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard/*', { config: { access: PUBLIC }, schema: { hide: true } }, async (req, reply) => {
    const notFound = () => reply.status(404).send(errorBody('NOT_FOUND'));
    let rel = (req.params as { '*': string })['*'] ?? '';
    try {
      rel = decodeURIComponent(rel);
    } catch {
      return notFound();
    }
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    if (rel.includes('\0')) return notFound();
    const candidate = resolve(join(root, rel));
    if (candidate !== root && !candidate.startsWith(root + sep)) return notFound();
    try {
      // realpath: a symlink inside the directory must not lead outside it either.
      const realRoot = await realpath(root);
      const real = await realpath(candidate);
      if (!real.startsWith(realRoot + sep)) return notFound();
      const st = await stat(real);
      if (!st.isFile()) return notFound();
      const body = await readFile(real);
      return reply
        .type(TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream')
        .header('cache-control', extname(real) === '.html' ? 'no-cache' : 'public, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    } catch {
      return notFound();
    }
  });
}
