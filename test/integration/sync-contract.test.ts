/**
 * The sync transport contract (helpers/sync-contract.ts) run by every implementation of each side:
 * central's side by the real central; a gateway's side by the real gateway agent and by the server
 * package's test client (`server/test/helpers/gateway-client.ts`), both against the real central.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ORIGINS, recordStatus, type FridgeId, type ReplicaId } from '@fridgesync/shared';
import { createAgent, GatewayConfigSchema } from '@fridgesync/gateway-agent';
import { startCentral, TOKENS } from '../../server/test/helpers/central.ts';
import { GatewayClient } from '../../server/test/helpers/gateway-client.ts';
import { centralContract, gatewayContract, type ContractCentral } from './helpers/sync-contract.ts';

centralContract('the real central', async ({ pingIntervalMs }) => {
  const t = await startCentral({ listen: true, over: { sync: { pingIntervalMs } } });
  return { url: t.wsUrl, venueId: 'v1', token: TOKENS.gw1, gatewayId: 'g1', close: () => t.close() };
});

const realCentral = async (): Promise<ContractCentral> => {
  const t = await startCentral({ listen: true });
  return { wsUrl: t.wsUrl, venueId: 'v1', token: TOKENS.gw1, gatewayId: 'g1', close: () => t.close() };
};

const F = 'f1' as FridgeId;

gatewayContract('the gateway agent (sync-client.ts)', realCentral, async ({ url, token, venueId, gatewayId }) => {
  const dir = mkdtempSync(join(tmpdir(), 'fridgesync-contract-'));
  const agent = await createAgent(
    GatewayConfigSchema.parse({
      gatewayId,
      venueId,
      mqtt: { embedded: { host: '127.0.0.1', port: 0 }, fridges: {} },
      http: { host: '127.0.0.1', port: 0 },
      storage: { dataDir: dir },
      central: { url, token, backoffMinMs: 50, backoffMaxMs: 200 },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  let ts = Date.now();
  return {
    write: async () => void (await agent.replica.write(ORIGINS.mqtt, (w) => recordStatus(w, F, { on: true, ts: ts++ }))),
    durable: () => agent.sync?.state === 'synced' && agent.status().pendingUpdates === 0,
    close: async () => {
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

gatewayContract('the test client of the server tests (gateway-client.ts)', realCentral, async ({ url, token, venueId, gatewayId }) => {
  const c = new GatewayClient({ wsUrl: url, venue: venueId, token, replica: `gw:${gatewayId}:1` as ReplicaId });
  await c.ready();
  let ts = Date.now();
  return {
    write: async () => void c.doc.transact(ORIGINS.mqtt, (w) => recordStatus(w, F, { on: true, ts: ts++ })),
    durable: () => c.acks > 0 && c.allDurable(),
    close: () => c.close(),
  };
});
