/**
 * The reconcile loop's scheduling on one replica (no central: the replica's store holds central's
 * configuration). Reconciliation between gateways and central runs against the real central in
 * test/integration/gateway-reconcile.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import pino from 'pino';
import {
  DEFAULT_RIGHTS_POLICY,
  FridgeIdSchema,
  GatewayIdSchema,
  InventoryPayloadSchema,
  ORIGINS,
  VenueIdSchema,
  fridgeCells,
  isOrigin,
  recordSnapshot,
} from '@fridgesync/shared';
import { MemoryStore } from '../src/memory-store.ts';
import { openLocalReplica } from '../src/local-replica.ts';
import { createMetrics } from '../src/metrics.ts';
import { ReconcileLoop } from '../src/reconcile-loop.ts';
import { centralDoc, writeFridgeConfig } from './helpers/venue-config.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

describe('reconcile loop scheduling', () => {
  /** An active replica of gw1 holding 30 fridges it reconciles, each with fresh stock. */
  async function loopOver(sliceMs: number) {
    const store = new MemoryStore();
    await store.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: 0 });
    const logger = pino({ level: 'silent' });
    const replica = await openLocalReplica({ gatewayId: GatewayIdSchema.parse('gw1'), venueId: VenueIdSchema.parse('v1'), store, logger, version: 'test', compactEveryUpdates: 100_000 });
    const cdoc = centralDoc();
    const fridges = Array.from({ length: 30 }, (_, i) => FridgeIdSchema.parse(`f${i}`));
    for (const f of fridges) writeFridgeConfig(cdoc, f, { venueId: 'v1' as never, reconciler: 'gw1' as never });
    replica.doc.applyUpdate(Y.encodeStateAsUpdate(cdoc.ydoc), { kind: 'upstream', peer: 'central' });
    await replica.write(ORIGINS.mqtt, (w) => {
      for (const f of fridges) recordSnapshot(w, f, InventoryPayloadSchema.parse({ boot: 1, seq: 1, ts: new Date().toISOString(), items: { m1: 5 } }));
    });
    let updates = 0;
    replica.doc.ydoc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (isOrigin(origin, 'reconciler')) updates++;
    });
    const loop = new ReconcileLoop({ replica, logger, metrics: createMetrics(), policy: DEFAULT_RIGHTS_POLICY, debounceMs: 60_000, sweepIntervalMs: 3_600_000, orderRetentionMs: 60_000, sliceMs });
    defer(() => loop.stop());
    const stocked = () => fridges.filter((f) => fridgeCells(replica.doc, f)[0]?.S === 5).length;
    return { loop, replica, stocked, updates: () => updates };
  }

  it('a sweep over many fridges yields to I/O between slices, one transaction per slice', async () => {
    const { loop, stocked, updates } = await loopOver(0); // one fridge per slice
    loop.start();
    const afterOneTurn = await new Promise<number>((r) => setImmediate(() => r(stocked())));
    expect(afterOneTurn).toBeLessThan(30);
    await eventually(() => expect(stocked()).toBe(30));
    await loop.idle();
    expect(updates()).toBe(30);
  });

  it('with time to spare, one slice reconciles them all in one transaction', async () => {
    const { loop, stocked, updates } = await loopOver(60_000);
    loop.start();
    await eventually(() => expect(stocked()).toBe(30));
    await loop.idle();
    expect(updates()).toBe(1);
  });
});
