/**
 * Serves the static dashboard directory (`server/dashboard/`) at `/dashboard/` with
 * `@fastify/static` (content types, ETag and Last-Modified, ranges, `..` refused). Only regular
 * files whose real path lies inside the directory are served, so a symlink cannot lead outside it
 * either; dotfiles and the TypeScript files that type-check the page stay private; anything else
 * is a 404 in the catalog format.
 */
import { realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PUBLIC } from './route-policy.ts';

/** Files of the directory that are not part of the page (type declarations and their config). */
const PRIVATE = /(^|\/)\.|\.ts$|(^|\/)tsconfig\.json$/;

/** Registers `/dashboard` and `/dashboard/*` serving files from `dir`. */
export async function registerDashboardRoute(app: FastifyInstance, dir: string): Promise<void> {
  const root = resolve(dir);
  /** The directory's real path, once it exists (it may be created after start). */
  const realRoot = () => {
    try {
      return realpathSync(root);
    } catch {
      return undefined;
    }
  };
  await app.register(fastifyStatic, {
    root,
    // The route below serves the files, so it declares its access like every other route.
    serve: false,
    dotfiles: 'deny',
    index: ['index.html'],
    cacheControl: false,
    allowedPath: (pathname) => {
      if (PRIVATE.test(pathname)) return false;
      const full = resolve(join(root, pathname));
      if (!full.startsWith(root + sep)) return false;
      const base = realRoot();
      if (base === undefined) return false;
      try {
        return realpathSync(full).startsWith(base + sep);
      } catch {
        // Missing inside the directory: @fastify/static answers 404 itself.
        return true;
      }
    },
    setHeaders: (res, path) => res.setHeader('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=300'),
  });
  app.get('/dashboard', { config: { access: PUBLIC }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'));
  app.get(
    '/dashboard/*',
    {
      config: { access: PUBLIC },
      schema: { hide: true },
      // RFC 9239: `text/javascript` is the JavaScript type (the mime table says application/javascript).
      onSend: async (req, reply, payload) => {
        if (reply.statusCode === 200 && /\.m?js$/.test(req.url.split('?')[0]!)) void reply.type('text/javascript; charset=utf-8');
        return payload;
      },
    },
    (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
      return reply.sendFile(rel === '' || rel.endsWith('/') ? `${rel}index.html` : rel);
    },
  );
}
