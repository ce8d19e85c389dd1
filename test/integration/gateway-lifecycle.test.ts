/**
 * A gateway agent's replica lifecycle against the real central: a damaged store, a store restored
 * from a backup, a replica central retires (docs/design.md "Replica lifecycle").
 */
import { describe, expect, it } from 'vitest';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ClassicLevel } from 'classic-level';
import { FridgeIdSchema, isRetired, observedSnapshot } from '@fridgesync/shared';
import { main } from '@fridgesync/gateway-agent/main';
import { connectFridge, fridgeHashes, inventory, startAgent, testConfig } from '../../gateway-agent/test/helpers/agent.ts';
import { startVenueCentral } from './helpers/gateway-central.ts';
import { eventually, useTeardown } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();
const F1 = FridgeIdSchema.parse('f1');

const central = () => startVenueCentral(defer);

/** Damages the store's table file (after forcing the data into one). */
async function corrupt(dir: string): Promise<void> {
  const db = new ClassicLevel(dir);
  await db.open();
  await db.compactRange('\x00', '\xff');
  await db.close();
  for (const t of readdirSync(dir).filter((f) => f.endsWith('.ldb'))) {
    const bytes = readFileSync(join(dir, t));
    for (let i = 0; i < bytes.length; i += 7) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(join(dir, t), bytes);
  }
}

describe('replica lifecycle', () => {
  it('a corrupted store fails closed; repair rebuilds it from central under a new epoch', async () => {
    const c = await central();
    const dir = tempDir();
    const cfg = testConfig(dir, { central: { url: c.url, token: 'tok-gw1' }, fridges: await fridgeHashes(['f1']), shutdown: { retire: 'never' } });
    const a1 = await startAgent(cfg, defer);
    await eventually(() => expect(a1.replica.replica).toBe('gw:gw1:1'));
    const f = await connectFridge(a1.mqttPort!, 'f1', defer);
    await f.publishAsync('fridges/f1/inventory', inventory(1, 7, { m1: 3 }), { qos: 1 });
    await eventually(() => expect(a1.status().pendingUpdates).toBe(0));
    await f.endAsync();
    await a1.close();

    await corrupt(dir);
    await expect(startAgent(cfg, defer)).rejects.toThrow(/corrupted.*repair/);

    const file = join(tempDir(), 'gw.yaml');
    writeFileSync(file, stringify({ gatewayId: 'gw1', venueId: 'v1', storage: { dataDir: dir } }));
    const out: string[] = [];
    expect(await main(['repair', '--config', file], { out: (s) => out.push(s), err: (s) => out.push(s), env: {}, stdin: async () => '' })).toBe(0);
    expect(out.join()).toMatch(/rebuilds the replica from central under a new epoch/);

    const a2 = await startAgent(cfg, defer);
    expect(a2.replica.state).toBe('joining');
    await eventually(() => expect(a2.replica.replica).toBe('gw:gw1:2'));
    expect(observedSnapshot(a2.replica.doc, F1)?.q).toBe(7); // rebuilt from central
    // The successor retired the damaged epoch, so its rights flow back to the reconciler.
    await eventually(() => expect(isRetired(c.doc, 'gw:gw1:1' as never)).toBe(true));
    expect(await c.rejected()).toEqual({});
  });

  it('a store restored from a backup notices writes it never made and rejoins under a new epoch', async () => {
    const c = await central();
    const dir = tempDir();
    const backup = tempDir();
    const cfg = testConfig(dir, { central: { url: c.url, token: 'tok-gw1' }, fridges: await fridgeHashes(['f1']), shutdown: { retire: 'never' } });
    const publish = async (agent: Awaited<ReturnType<typeof startAgent>>, seq: number) => {
      const f = await connectFridge(agent.mqttPort!, 'f1', defer);
      await f.publishAsync('fridges/f1/inventory', inventory(1, seq, { m1: seq }), { qos: 1 });
      await eventually(() => expect(agent.status().pendingUpdates).toBe(0));
      await f.endAsync();
    };
    const a1 = await startAgent(cfg, defer);
    await eventually(() => expect(a1.replica.replica).toBe('gw:gw1:1'));
    await publish(a1, 1);
    await a1.close();
    cpSync(dir, backup, { recursive: true });
    // Life goes on after the backup: a later process of epoch 1 writes more, and central has it.
    const a2 = await startAgent(cfg, defer);
    await eventually(() => expect(a2.sync?.state).toBe('synced'));
    expect(a2.replica.replica).toBe('gw:gw1:1');
    await publish(a2, 2);
    await a2.close();
    // The disk dies; the operator restores the backup.
    rmSync(dir, { recursive: true, force: true });
    cpSync(backup, dir, { recursive: true });
    const a3 = await startAgent(cfg, defer);
    expect(a3.replica.replica).toBe('gw:gw1:1');
    await eventually(() => expect(a3.replica.replica).toBe('gw:gw1:2'));
    expect(observedSnapshot(a3.replica.doc, F1)?.q).toBe(2);
    await eventually(() => expect(isRetired(c.doc, 'gw:gw1:1' as never)).toBe(true));
  });

  it('when central retires the replica (4410) the gateway stops writing and rejoins under a new epoch', async () => {
    const c = await central();
    const a = await startAgent(testConfig(tempDir(), { central: { url: c.url, token: 'tok-gw1' } }), defer);
    await eventually(() => expect(a.sync?.state).toBe('synced'));
    await c.retire('gw:gw1:1');
    await eventually(() => expect(a.replica.replica).toBe('gw:gw1:2'));
    expect(a.replica.state).toBe('active');
    // Writes of the old epoch racing with its retirement may be refused as RETIRED; nothing else.
    const { RETIRED: _retired, ...others } = await c.rejected();
    expect(others).toEqual({});
  });
});
