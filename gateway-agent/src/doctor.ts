/**
 * `fridgesync gateway doctor`: checks what a venue installation needs, one PASS/WARN/FAIL line
 * each — config valid, data directory writable (with fsync), broker port free, central reachable
 * and the token accepted for this gateway id and venue, clock skew against central, free disk space. Exit status 1 on any FAIL.
 * Nothing is changed except a probe file in the data directory that is removed again.
 */
import { statfsSync } from 'node:fs';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { GATEWAY_ID_HEADER, probeSyncedWrite, whyNotWritable } from '@fridgesync/shared';
import type { GatewayConfig } from './config-schema.ts';
import { upgradeRefusalReason } from './central-refusal.ts';

/** One check's outcome. */
export interface DoctorCheck {
  status: 'PASS' | 'WARN' | 'FAIL';
  name: string;
  detail: string;
}

/** Free space below which the data directory's disk is a warning / a failure, bytes. */
const DISK_WARN = 1024 ** 3;
const DISK_FAIL = 100 * 1024 ** 2;

function checkDataDir(dir: string): DoctorCheck {
  const why = whyNotWritable(dir);
  if (why !== undefined) {
    return { status: 'FAIL', name: 'data directory', detail: `${dir} is not writable: ${why}. The store was not changed: make the directory writable (fsck first if the file system went read-only after errors); do not run repair` };
  }
  try {
    // whyNotWritable names the errors that mean "cannot write here"; this reports any other.
    probeSyncedWrite(dir);
    return { status: 'PASS', name: 'data directory', detail: `${dir} is writable and fsync works` };
  } catch (e) {
    return { status: 'FAIL', name: 'data directory', detail: `${dir}: ${(e as Error).message}` };
  }
}

function checkDisk(dir: string): DoctorCheck {
  try {
    const s = statfsSync(dir);
    const free = s.bavail * s.bsize;
    const gib = (free / 1024 ** 3).toFixed(1);
    if (free < DISK_FAIL) return { status: 'FAIL', name: 'disk space', detail: `${gib} GiB free under ${dir}` };
    if (free < DISK_WARN) return { status: 'WARN', name: 'disk space', detail: `${gib} GiB free under ${dir} (below 1 GiB)` };
    return { status: 'PASS', name: 'disk space', detail: `${gib} GiB free under ${dir}` };
  } catch (e) {
    return { status: 'WARN', name: 'disk space', detail: `cannot read free space: ${(e as Error).message}` };
  }
}

async function checkBrokerPort(config: GatewayConfig): Promise<DoctorCheck> {
  if (config.mqtt.mode === 'external') {
    return { status: 'PASS', name: 'broker', detail: `external broker ${config.mqtt.external.url ?? '(no url)'}; no local port needed` };
  }
  const { host, port } = config.mqtt.embedded;
  if (port === 0) return { status: 'PASS', name: 'broker port', detail: 'port 0: a free port is chosen at start' };
  const server = createServer();
  return new Promise<DoctorCheck>((resolve) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      resolve({ status: 'FAIL', name: 'broker port', detail: `${host}:${port} cannot be bound (${e.code ?? e.message}); is the agent or another broker running?` }),
    );
    server.listen(port, host, () => server.close(() => resolve({ status: 'PASS', name: 'broker port', detail: `${host}:${port} is free` })));
  });
}

async function checkCentral(config: GatewayConfig, timeoutMs: number, now: () => number): Promise<DoctorCheck[]> {
  const { url, token } = config.central;
  if (url === undefined || token === undefined) {
    return [{ status: 'WARN', name: 'central', detail: 'no central.url: the gateway runs standalone and a fresh store never becomes writable' }];
  }
  const httpBase = url.replace(/^ws/, 'http').replace(/\/$/, '');
  const out: DoctorCheck[] = [];
  try {
    const t0 = now();
    const res = await fetch(`${httpBase}/livez`, { signal: AbortSignal.timeout(timeoutMs) });
    const t1 = now();
    out.push({ status: res.ok ? 'PASS' : 'FAIL', name: 'central reachable', detail: `${httpBase}/livez answered ${res.status} in ${t1 - t0} ms` });
    const date = res.headers.get('date');
    if (date !== null) {
      // The Date header has second resolution; allow for that and for the round trip.
      const skew = Date.parse(date) + 500 - (t0 + t1) / 2;
      const abs = Math.abs(skew);
      // The threshold `/status` alerts at (docs/operations.md "Clock skew"): one number for the operator.
      const max = config.central.maxClockSkewMs;
      out.push({ status: abs > max ? 'WARN' : 'PASS', name: 'clock skew', detail: `about ${(skew / 1000).toFixed(1)} s against central${abs > max ? ` (beyond central.maxClockSkewMs, ${max / 1000} s: enable NTP)` : ''}` });
    }
  } catch (e) {
    return [{ status: 'FAIL', name: 'central reachable', detail: `${httpBase}: ${(e as Error).message}` }];
  }
  out.push(
    await new Promise<DoctorCheck>((resolve) => {
      // The probe names this gateway's id as the agent does, so central checks the token's binding
      // to venue and gateway id before the upgrade.
      const ws = new WebSocket(`${url.replace(/\/$/, '')}/sync/${config.venueId}`, {
        headers: { authorization: `Bearer ${token}`, [GATEWAY_ID_HEADER]: config.gatewayId },
        handshakeTimeout: timeoutMs,
      });
      ws.once('open', () => {
        ws.close(1000, 'doctor');
        resolve({ status: 'PASS', name: 'token', detail: `central accepted the token for gateway ${config.gatewayId} in venue ${config.venueId}` });
      });
      ws.once('unexpected-response', (_req, res) => {
        void upgradeRefusalReason(res).then((reason) => {
          resolve({ status: 'FAIL', name: 'token', detail: `central refused the sync upgrade: ${reason} (check central.token, venueId and gatewayId)` });
          ws.terminate();
        });
      });
      ws.once('error', (e) => resolve({ status: 'FAIL', name: 'token', detail: `sync endpoint: ${e.message}` }));
    }),
  );
  return out;
}

/** Runs every check (config validity is checked by the caller before). */
export async function runDoctor(config: GatewayConfig, opts: { timeoutMs?: number; now?: () => number } = {}): Promise<DoctorCheck[]> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const checks: DoctorCheck[] = [{ status: 'PASS', name: 'config', detail: `valid (gateway ${config.gatewayId}, venue ${config.venueId})` }];
  checks.push(checkDataDir(config.storage.dataDir));
  checks.push(checkDisk(config.storage.dataDir));
  checks.push(await checkBrokerPort(config));
  checks.push(...(await checkCentral(config, timeoutMs, now)));
  return checks;
}

/** Formats checks as `PASS  name  detail` lines. */
export function formatDoctor(checks: DoctorCheck[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  return checks.map((c) => `${c.status.padEnd(4)}  ${c.name.padEnd(w)}  ${c.detail}`).join('\n');
}
