/**
 * One connection's protocol state without a socket: what the session sends and how it treats
 * central's frames, through an in-memory link. The same session over real websockets against the
 * real central: test/integration/sync-client.test.ts and the sync transport contract.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import * as Y from 'yjs';
import { CLOSE_CODES, GatewayIdSchema, VenueIdSchema, decodeMessage, encodeDurableAck, encodeSyncStep1, type SyncMessage } from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { UpstreamSession, type SessionLink } from '../src/upstream-session.ts';

async function session() {
  const logger = pino({ level: 'silent' });
  const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('g1'), venueId: VenueIdSchema.parse('v1'), store: new MemoryStore(), logger, version: 't', compactEveryUpdates: 1000 });
  const metrics = createMetrics();
  const sent: SyncMessage[] = [];
  const closes: number[] = [];
  const link: SessionLink = { send: (m) => sent.push(decodeMessage(m)), close: (code) => closes.push(code), terminate: () => closes.push(1006), open: () => closes.length === 0 };
  const acked: Array<Map<number, number>> = [];
  const s = new UpstreamSession(link, {
    replica,
    logger,
    metrics,
    syncTimeoutMs: 60_000,
    joinFirst: false,
    hello: (join) => ({ clientIds: replica.ownClients(), version: 't', ...(join || !replica.writable ? { joining: true } : { replica: replica.replica! }) }),
    acked: (a) => acked.push(a),
    diffSent: () => undefined,
    accepted: () => undefined,
    synced: () => undefined,
    rebuild: async () => undefined,
  });
  const errors = async (reason: string) => (await metrics.syncErrors.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { s, sent, closes, acked, errors };
}

describe('UpstreamSession', () => {
  it('says hello (joining, for a new store) before its sync-step1, and answers central’s sync-step1 with nothing of its own', async () => {
    const { s, sent } = await session();
    s.opened();
    expect(sent.map((m) => m.type)).toEqual(['hello', 'sync-step1']);
    expect(sent[0]).toMatchObject({ hello: { joining: true } });
    s.receive(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
    const answer = sent[2];
    expect(answer?.type).toBe('sync-step2');
    expect(Y.decodeUpdate((answer as { update: Uint8Array }).update).structs).toEqual([]);
    expect(s.state).toBe('exchanging');
    s.end();
  });

  it('closes with 4403 on a frame outside the grammar and counts it; an undecodable ack is counted and ignored', async () => {
    const { s, closes, acked, errors } = await session();
    s.opened();
    s.receive(Uint8Array.from([0x64, 0x00, 0x02, 0xff, 0xff])); // a durable-ack whose state vector is not one
    expect(acked).toEqual([]);
    expect(await errors('bad-ack')).toBe(1);
    expect(closes).toEqual([]);
    s.receive(encodeDurableAck(Y.encodeStateVector(new Map([[5, 2]]))));
    expect(acked).toEqual([new Map([[5, 2]])]);
    s.receive(Uint8Array.from([0x09]));
    expect(closes).toEqual([CLOSE_CODES.UPDATE_REJECTED]);
    expect(await errors('malformed')).toBe(1);
    s.end();
  });

  it('ignores everything once ended', async () => {
    const { s, sent, acked } = await session();
    s.opened();
    s.end();
    s.receive(encodeDurableAck(Y.encodeStateVector(new Map([[5, 2]]))));
    s.receive(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
    expect(acked).toEqual([]);
    expect(sent.length).toBe(2);
  });
});
