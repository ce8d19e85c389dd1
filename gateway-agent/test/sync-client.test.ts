/**
 * The sync client without a central: reconnect pacing. Its sessions with central run against the
 * real central in test/integration/sync-client.test.ts (a package test may not start it), and
 * both the client and central pass the sync transport contract (test/integration/sync-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { GatewayIdSchema, VenueIdSchema } from '@fridgesync/shared';
import { freePort } from './helpers/agent.ts';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { SyncClient } from '../src/sync-client.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

describe('sync client backoff', () => {
  it('retries an unreachable central with exponential backoff up to the cap', async () => {
    const logger = pino({ level: 'silent' });
    const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store: new MemoryStore(), logger, version: 't', compactEveryUpdates: 1000 });
    const port = await freePort();
    const metrics = createMetrics();
    // random() = 1: the delay is the cap itself, min·2^attempt bounded by max.
    const client = new SyncClient({ url: `ws://127.0.0.1:${port}`, token: 't', gatewayId: 'gw1', venueId: 'v1', replica, logger, metrics, version: 't', backoffMinMs: 40, backoffMaxMs: 160, maxMessageBytes: 1 << 20, connectTimeoutMs: 1000, random: () => 1 });
    const starts: number[] = [];
    client.on('state', (s) => s === 'connecting' && starts.push(performance.now()));
    client.start();
    defer(() => client.close());
    await eventually(() => starts.length >= 6, 5_000);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // 40, 80, 160, 160, 160 (plus the time to fail a loopback connect)
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
    for (const g of gaps) expect(g).toBeLessThan(400);
    expect(client.status().state).not.toBe('synced');
    expect(replica.state).toBe('joining'); // never writable without a full sync
  });
});
