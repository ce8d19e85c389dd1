import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveFridgeSecret, FleetFileError, FleetFileSchema, generateFleet, loadFleetFile, parseFleet } from '../src/fleet-spec.ts';

describe('fleet file', () => {
  it('derives secrets as documented: hex(HMAC-SHA256(seed, fridgeId))', () => {
    expect(deriveFridgeSecret('fridgesync-demo', 'v1-f1')).toBe(createHmac('sha256', 'fridgesync-demo').update('v1-f1').digest('hex'));
    expect(deriveFridgeSecret('a', 'v1-f1')).not.toBe(deriveFridgeSecret('b', 'v1-f1'));
  });

  it('generates the demo shape: 3 venues in 2 cities, 4 fridges each, 12 meals, unique ids', () => {
    const f = generateFleet();
    expect(f.venues.map((v) => [v.venueId, v.city, v.gatewayId])).toEqual([['v1', 'Berlin', 'gw-v1'], ['v2', 'Berlin', 'gw-v2'], ['v3', 'Munich', 'gw-v3']]);
    const fridges = f.venues.flatMap((v) => v.fridges.map((x) => x.fridgeId));
    expect(new Set(fridges).size).toBe(12);
    expect(f.meals).toHaveLength(12);
    expect(f.venues[0]!.fridges[0]!.par).toMatchObject({ m01: 5, m12: 5 });
    // It round-trips through JSON and the schema (what the orchestrator writes, the simulator reads).
    expect(FleetFileSchema.parse(JSON.parse(JSON.stringify(f)))).toEqual(f);
  });

  it('reports every problem with its path', () => {
    const bad = {
      version: 1,
      meals: [{ mealId: 'm1' }],
      venues: [
        { venueId: 'v1', city: 'X', gatewayId: 'g', brokerUrl: 'http://nope', fridges: [{ fridgeId: 'f1', secret: 's', par: { m1: 1, m9: 2 } }] },
        { venueId: 'v1', city: 'X', gatewayId: 'g', fridges: [{ fridgeId: 'f1', secret: 's', par: {} }] },
      ],
    };
    try {
      parseFleet(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FleetFileError);
      const text = (e as FleetFileError).problems.join('\n');
      expect(text).toMatch(/venues\.0\.brokerUrl: must be a URL with scheme/);
      expect(text).toMatch(/venues\.0\.fridges\.0\.par\.m9: unknown meal m9/);
      expect(text).toMatch(/venues\.1\.venueId: duplicate venue v1/);
      expect(text).toMatch(/venues\.1\.fridges\.0\.fridgeId: duplicate fridge f1/);
    }
  });

  it('loads from disk and names the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-'));
    try {
      const ok = join(dir, 'ok.json');
      await writeFile(ok, JSON.stringify(generateFleet({ venues: 1, fridges: 1, meals: 1 })));
      expect((await loadFleetFile(ok)).venues).toHaveLength(1);
      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{"version":');
      await expect(loadFleetFile(broken)).rejects.toThrow(/invalid .*broken\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
