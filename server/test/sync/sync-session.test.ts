/** Session unit tests with a fake socket: slow consumers are closed with 4429, read-only peers never apply. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as Y from 'yjs';
import { VenueDoc, centralReplicaId, encodeUpdate, type InstanceId, type VenueId } from '@fridgesync/shared';
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

  it('a read-only peer may send an empty update but nothing that writes', () => {
    const { ws, s, doc } = setup();
    const empty = Y.encodeStateAsUpdate(new Y.Doc());
    s.receive(encodeUpdate(empty));
    expect(ws.closed).toBeUndefined();
    const forged = new Y.Doc();
    forged.getArray('r:gw:g1:1').push([['tk', { on: true, at: 1 }]]);
    const before = Y.encodeStateVector(doc.ydoc);
    s.receive(encodeUpdate(Y.encodeStateAsUpdate(forged)));
    expect(ws.closed).toBe(4403);
    expect(Y.encodeStateVector(doc.ydoc)).toEqual(before);
  });
});
