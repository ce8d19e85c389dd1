/**
 * Serves the dashboard's static files (server/dashboard) for the fake central. Read-only, no
 * directory listing, paths confined to the dashboard folder.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

/** Absolute path of the dashboard folder in this repository. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../server/dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Serves `rel` (a path under `/dashboard/`) or answers 404. */
export async function serveDashboardFile(rel: string, res: ServerResponse): Promise<void> {
  const clean = normalize(decodeURIComponent(rel || 'index.html')).replace(/^([/\\])+/, '');
  const file = join(DASHBOARD_DIR, clean === '' ? 'index.html' : clean);
  if (!file.startsWith(DASHBOARD_DIR.endsWith(sep) ? DASHBOARD_DIR : DASHBOARD_DIR + sep)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, code: 'NOT_FOUND', message: 'not found' }));
  }
}
