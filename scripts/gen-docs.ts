/**
 * Generates reference docs from the code so they cannot drift: `docs/errors.md` from the error
 * catalog and close codes, the configuration and metrics references, and the dashboard's type
 * declarations from the read-view schemas (scripts/dashboard-types.ts). `--check` exits 1 when a committed file differs from what would be
 * generated (CI runs the equivalent test in test/docs.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLOSE_CODES, ERROR_CODES } from '@fridgesync/shared';
import { CentralConfigSchema } from '../server/src/config-schema.ts';
import { GatewayConfigSchema } from '../gateway-agent/src/config-schema.ts';
import { configReference } from './config-reference.ts';
import { createMetrics as centralMetrics } from '../server/src/metrics.ts';
import { createMetrics as gatewayMetrics } from '../gateway-agent/src/metrics.ts';
import type { Registry } from 'prom-client';
import { dashboardTypes } from './dashboard-types.ts';

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
    'Every HTTP error body is `{"statusCode": <status>, "code": "<CODE>", "message": "<text>"}`. Two add a field:',
    '`SOLD_OUT` lists `lacking: [{"mealId", "requested", "sellableHere"}]`, `sellableHere` being the units this order',
    'taker (central, or the kiosk asked) can sell right now; a promotions import that fails lists `errors` per row.',
    'Which routes answer which codes, and which roles each route serves, is in the OpenAPI description at',
    '`/documentation` (central and the gateway kiosk API).',
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

/** The text of docs/configuration.md. */
export function configurationDoc(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from the zod schemas and their comments by `npx tsx scripts/gen-docs.ts`; a test fails when this file and the code differ.',
    '',
    'Each process reads one YAML file (`--config FILE`, or the path in `FRIDGESYNC_CONFIG`), then environment overrides:',
    '`FRIDGESYNC_<PATH>` with path levels joined by `__` in upper snake case (`FRIDGESYNC_HTTP__PORT=8080`), and',
    '`FRIDGESYNC_<PATH>_FILE=/path` to read a secret from a file. Values that look like JSON (numbers, booleans, lists) are parsed as JSON.',
    'Configuration is validated at start and every problem is listed; `fridgesync central config check` and',
    '`fridgesync gateway config check` validate offline and exit non-zero on error.',
    '',
    configReference('Central (`fridgesync central`)', 'Example: [`central.example.yaml`](../central.example.yaml).', CentralConfigSchema, join(root, 'server/src/config-schema.ts'), 'CentralConfigSchema'),
    configReference('Gateway (`fridgesync gateway`)', 'Example: [`gateway.example.yaml`](../gateway.example.yaml).', GatewayConfigSchema, join(root, 'gateway-agent/src/config-schema.ts'), 'GatewayConfigSchema'),
  ].join('\n');
}

/** Rows `| name | type | labels | help |` of a registry's own (non-process) metrics. */
function metricRows(registry: Registry): string[] {
  return registry
    .getMetricsAsArray()
    .map((m) => m as unknown as { name: string; help: string; labelNames?: string[]; constructor: { name: string } })
    .filter((m) => !m.name.includes('_process_') && !/^fridgesync_(nodejs|process)_/.test(m.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((m) => `| \`${m.name}\` | ${m.constructor.name.toLowerCase()} | ${(m.labelNames ?? []).map((l) => `\`${l}\``).join(', ')} | ${m.help.replace(/\|/g, '\\|')} |`);
}

/** The text of docs/metrics.md. */
export function metricsDoc(): string {
  const head = ['| metric | type | labels | help |', '|---|---|---|---|'];
  return [
    '# Metrics',
    '',
    'Generated from the metric registries by `npx tsx scripts/gen-docs.ts`; a test fails when this file and the code differ.',
    'Names use base units (`_seconds`, `_bytes`); labels never carry order, user or fridge ids. Both processes also export',
    'the Node.js process metrics of prom-client (`fridgesync_process_*` at central, `fridgesync_gateway_*` process metrics at a gateway when run from the command line).',
    '',
    '## Central (`GET /metrics` on the central port)',
    '',
    ...head,
    ...metricRows(centralMetrics().registry),
    '',
    '## Gateway (`GET /metrics` on the gateway\'s local HTTP port)',
    '',
    ...head,
    ...metricRows(gatewayMetrics().registry),
    '',
  ].join('\n');
}

/** Every generated document: path relative to the repo → content. */
export function generatedDocs(): Record<string, string> {
  return { 'docs/errors.md': errorsDoc(), 'docs/configuration.md': configurationDoc(), 'docs/metrics.md': metricsDoc(), 'server/dashboard/types.d.ts': dashboardTypes() };
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
