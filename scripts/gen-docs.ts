/**
 * Generates reference docs from the code so they cannot drift: `docs/errors.md` from the error
 * catalog and close codes. `--check` exits 1 when a committed file differs from what would be
 * generated (CI runs the equivalent test in test/docs.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLOSE_CODES, ERROR_CODES } from '@fridgesync/shared';

const root = resolve(import.meta.dirname, '..');

/** The text of docs/errors.md. */
export function errorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.statusCode} | ${e.message} |`);
  const close = Object.entries(CLOSE_CODES).map(([name, n]) => `| ${n} | \`${name}\` |`);
  return [
    '# Error codes',
    '',
    'Generated from `shared/src/errors.ts` by `npx tsx scripts/gen-docs.ts`; a test fails when this file and the catalog differ.',
    '',
    'Every HTTP error body is `{"statusCode": <status>, "code": "<CODE>", "message": "<text>"}`.',
    '',
    '| code | HTTP status | default message |',
    '|---|---|---|',
    ...rows,
    '',
    '## Websocket close codes (`/sync/{venueId}`)',
    '',
    '| code | name |',
    '|---|---|',
    ...close,
    '',
  ].join('\n');
}

/** Every generated document: path relative to the repo → content. */
export function generatedDocs(): Record<string, string> {
  return { 'docs/errors.md': errorsDoc() };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of Object.entries(generatedDocs())) {
    const path = join(root, rel);
    let cur = '';
    try {
      cur = readFileSync(path, 'utf8');
    } catch {
      /* missing */
    }
    if (cur === text) continue;
    if (check) {
      console.error(`${rel} is out of date: run npx tsx scripts/gen-docs.ts`);
      stale++;
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${rel}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
