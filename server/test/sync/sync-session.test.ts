/**
 * The session's send bound with a socket that never drains: a slow consumer is closed with 4429.
 * Over loopback the kernel's socket buffers take megabytes before `bufferedAmount` grows, so a peer
 * that stops reading is played by this socket. The session's protocol behaviour runs over real
 * sockets: the sync transport contract (test/integration/sync-contract.test.ts), sync-route.test.ts,
 * forged-updates.test.ts (a viewer that writes, among others).
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { VenueDoc, centralReplicaId, type InstanceId, type VenueId } from '@fridgesync/shared';
import { SyncSession } from '../../src/sync/sync-session.ts';
import { GatewayPresence } from '../../src/sync/gateway-presence.ts';
import { createMetrics } from '../../src/metrics.ts';
import { VenueHost } from '../../src/venue-host.ts';
import { createMemoryStorage } from '@fridgesync/server';

class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: Uint8Array[] = [];
  closed: number | undefined;
  send(m: Uint8Array) {
    this.sent.push(m);
    this.bufferedAmount += m.byteLength; // never drains: a stalled peer
  }
  close(code: number) {
    this.closed = code;
    this.readyState = 3;
  }
  terminate() {}
}

function setup() {
  const metrics = createMetrics();
  const doc = new VenueDoc({ replica: centralReplicaId('c1' as InstanceId) });
  const host = new VenueHost({ venueId: 'v1' as VenueId, doc, storage: createMemoryStorage(), position: 0, logLength: 0, compactEvery: 100, log: pino({ level: 'silent' }), metrics, onStorageFailure: () => undefined });
  const ws = new FakeSocket();
  const s = new SyncSession('p1', ws as never, { role: 'viewer', name: 'v', tokenKey: 'k' }, 'v1', { preAuthMs: 1000, maxBufferedBytes: 2048, instanceId: 'c1', version: 't' }, pino({ level: 'silent' }), metrics, new GatewayPresence());
  s.ready(host);
  return { ws, s, host, doc };
}

describe('SyncSession', () => {
  it('closes a consumer whose send buffer exceeds the bound with 4429', () => {
    const { ws, s } = setup();
    for (let i = 0; i < 10 && ws.closed === undefined; i++) s.send(new Uint8Array(600));
    expect(ws.closed).toBe(4429);
    const n = ws.sent.length;
    s.send(new Uint8Array(10));
    expect(ws.sent.length).toBe(n);
  });
});
