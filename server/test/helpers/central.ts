/**
 * Test helper: a central built with `buildApp` on port 0 with a temp dir (or memory storage), the
 * standard seed (two venues in two cities) and known plaintext tokens. One teardown closes
 * everything the test opened.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import * as Y from 'yjs';
import {
  ORIGINS,
  VenueDoc,
  gatewayReplicaId,
  recordSnapshot,
  reconcileFridge,
  DEFAULT_RIGHTS_POLICY,
  type FridgeId,
  type GatewayId,
  type VenueId,
} from '@fridgesync/shared';
import { buildApp, CentralConfigSchema, hashToken, type Central, type CentralConfigInput, type CentralDeps, type DocStorage } from '@fridgesync/server';

/** Plaintext tokens of the test config. */
export const TOKENS = {
  gw1: 'tok-gw-g1',
  gw2: 'tok-gw-g2',
  gwH: 'tok-gw-h1',
  app: 'tok-app',
  kitchen: 'tok-kitchen',
  admin: 'tok-admin',
  viewer: 'tok-viewer',
} as const;

/** The standard test config input (memory storage unless overridden). */
export function testConfig(over: Partial<CentralConfigInput> = {}): CentralConfigInput {
  return {
    instanceId: 'c1' as never,
    http: { host: '127.0.0.1', port: 0 },
    storage: { engine: 'memory' },
    logLevel: 'silent',
    tokens: [
      { role: 'gateway', name: 'gw-g1', venueId: 'v1' as never, gatewayId: 'g1' as never, hash: hashToken(TOKENS.gw1) },
      { role: 'gateway', name: 'gw-g2', venueId: 'v1' as never, gatewayId: 'g2' as never, hash: hashToken(TOKENS.gw2) },
      { role: 'gateway', name: 'gw-h1', venueId: 'v2' as never, gatewayId: 'h1' as never, hash: hashToken(TOKENS.gwH) },
      { role: 'app', name: 'app', hash: hashToken(TOKENS.app) },
      { role: 'kitchen', name: 'kitchen', hash: hashToken(TOKENS.kitchen) },
      { role: 'admin', name: 'admin', hash: hashToken(TOKENS.admin) },
      { role: 'viewer', name: 'viewer', hash: hashToken(TOKENS.viewer) },
    ],
    registry: {
      meals: [
        { id: 'm1' as never, name: 'Falafel bowl', priceCents: 890, allergens: ['sesame'] },
        { id: 'm2' as never, name: 'Chicken wrap', priceCents: 750 },
      ],
      venues: [
        {
          id: 'v1' as never,
          name: 'Berlin HQ',
          city: 'Berlin' as never,
          timezone: 'Europe/Berlin',
          gateways: [{ id: 'g1' as never }, { id: 'g2' as never }],
          fridges: [
            { id: 'f1' as never, reconciler: 'g1' as never, par: { m1: 8, m2: 5 } as never },
            { id: 'f2' as never, reconciler: 'g1' as never },
          ],
        },
        { id: 'v2' as never, name: 'Hamburg Gym', city: 'Hamburg' as never, timezone: 'Europe/Berlin', gateways: [{ id: 'h1' as never }], fridges: [{ id: 'h-f1' as never, reconciler: 'h1' as never }] },
      ],
    },
    ...over,
  };
}

/** A started central and its teardown. */
export interface TestCentral {
  central: Central;
  /** `http://127.0.0.1:<port>` (only after `listen`). */
  url: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  dir: string | undefined;
  close(): Promise<void>;
}

/** Builds (and optionally listens) a central; `level: true` uses LevelDB in a temp dir. */
export async function startCentral(opts: { over?: Partial<CentralConfigInput>; level?: boolean; listen?: boolean; deps?: CentralDeps; dir?: string } = {}): Promise<TestCentral> {
  const dir = opts.level ? (opts.dir ?? (await mkdtemp(join(tmpdir(), 'central-')))) : undefined;
  const input = testConfig(opts.over);
  if (dir !== undefined) input.storage = { engine: 'level', dataDir: dir };
  const config = CentralConfigSchema.parse(input);
  const central = await buildApp(config, { logger: pino({ level: 'silent' }), ...opts.deps });
  let url = '';
  if (opts.listen) url = await central.listen();
  return {
    central,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    dir,
    async close() {
      await central.close();
      if (dir !== undefined && opts.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Bearer header for a token. */
export const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/**
 * Writes into a venue as a gateway replica `gw:<gateway>:<epoch>` would, without a socket: the
 * replica takes central's state, `write` changes it, and the update is applied to central as if it
 * had arrived over sync.
 */
export function asGateway(central: Central, venue: string, o: { gateway?: string; epoch?: number }, write: (gw: VenueDoc) => void): VenueDoc {
  const host = central.registry.peek(venue as VenueId);
  if (host === undefined) throw new Error(`venue ${venue} not loaded`);
  const gw = new VenueDoc({ replica: gatewayReplicaId((o.gateway ?? 'g1') as GatewayId, o.epoch ?? 1) });
  gw.applyUpdate(Y.encodeStateAsUpdate(host.doc.ydoc), ORIGINS.upstream);
  const before = Y.encodeStateVector(gw.ydoc);
  write(gw);
  host.doc.applyUpdate(Y.encodeStateAsUpdate(gw.ydoc, before), { kind: 'upstream', peer: 'test-gateway' });
  return gw;
}

/**
 * Stocks a fridge the way its reconciler gateway would ({@link asGateway}): the replica records a
 * snapshot and reconciles (granting central its share of rights).
 */
export function stockViaGateway(
  central: Central,
  venue: string,
  fridge: string,
  items: Record<string, number>,
  o: { gateway?: string; epoch?: number; seq?: number; boot?: number; ts?: string } = {},
): VenueDoc {
  return asGateway(central, venue, o, (gw) => {
    gw.transact(ORIGINS.mqtt, (w) => recordSnapshot(w, fridge as FridgeId, { boot: o.boot ?? 1, seq: o.seq ?? 1, ts: o.ts ?? new Date().toISOString(), items: items as never }));
    reconcileFridge(gw, ORIGINS.reconciler, fridge as FridgeId, DEFAULT_RIGHTS_POLICY, Date.now());
  });
}

/** A view of `storage` whose `close` does nothing, to restart a central on the same (memory) data. */
export function keepOpen(storage: DocStorage): DocStorage {
  return { ...storage, close: async () => undefined };
}
