/**
 * A gateway's link as central observes it (server/src/sync/gateway-presence.ts): what its watchers
 * (the live `gateway` events, the event log's `gateway.online` / `gateway.offline`) are told.
 */
import { describe, expect, it } from 'vitest';
import { GatewayPresence } from '../../src/sync/gateway-presence.ts';

describe('GatewayPresence', () => {
  it('tells its watchers that a connection taken over by another of the same gateway has ended, before the new one is up', () => {
    let t = 1_000;
    const p = new GatewayPresence(() => t);
    const seen: Array<{ change: string; connected: boolean; peerId: string | undefined; replica: string | undefined; connectedAt: number | undefined }> = [];
    p.watch((venue, gw, change) => {
      const l = p.get(venue, gw)!;
      seen.push({ change, connected: l.connected, peerId: l.peerId, replica: l.replica, connectedAt: l.connectedAt });
    });
    p.connected('v1', 'g1', 'a', 'gw:g1:1');
    t = 2_000;
    p.connected('v1', 'g1', 'b', 'gw:g1:1');
    p.disconnected('v1', 'g1', 'a'); // the old socket's close arrives late: changes nothing
    expect(seen).toEqual([
      { change: 'link', connected: true, peerId: 'a', replica: 'gw:g1:1', connectedAt: 1_000 },
      { change: 'link', connected: false, peerId: 'a', replica: 'gw:g1:1', connectedAt: 1_000 },
      { change: 'link', connected: true, peerId: 'b', replica: 'gw:g1:1', connectedAt: 2_000 },
    ]);
  });

  it('counts a joining connection and its upgrade as one link that moved to the replica it names', () => {
    const p = new GatewayPresence(() => 5);
    const seen: Array<[boolean, string | undefined]> = [];
    p.watch((venue, gw) => {
      const l = p.get(venue, gw)!;
      seen.push([l.connected, l.replica]);
    });
    p.connected('v1', 'g1', 'a', undefined);
    p.connected('v1', 'g1', 'a', 'gw:g1:2');
    p.connected('v1', 'g1', 'a', 'gw:g1:2'); // the same hello again: nothing new
    p.disconnected('v1', 'g1', 'a');
    expect(seen).toEqual([
      [true, undefined],
      [true, 'gw:g1:2'],
      [false, 'gw:g1:2'],
    ]);
    expect(p.get('v1', 'g1')?.connectedAt).toBe(5);
  });
});
