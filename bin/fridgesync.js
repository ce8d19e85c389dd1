#!/usr/bin/env node
// Launches fridgesync.ts through tsx so the command works from an installed checkout, with a larger
// young generation (fewer scavenges under ingest load; docs/operations.md "Runtime").
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', join(root, 'fridgesync.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
