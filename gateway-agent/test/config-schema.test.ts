import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { GatewayConfigSchema } from '../src/config-schema.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../gateway.example.yaml');

/** Every key path of the parsed defaults (objects recursed, records like mqtt.fridges left as leaves). */
function paths(o: unknown, prefix = ''): string[] {
  if (typeof o !== 'object' || o === null || Array.isArray(o) || Object.keys(o).length === 0) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => paths(v, prefix ? `${prefix}.${k}` : k));
}

describe('gateway config', () => {
  it('the example file is valid', () => {
    expect(() => GatewayConfigSchema.parse(parse(readFileSync(EXAMPLE, 'utf8')))).not.toThrow();
  });

  it('the example file documents every key', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const all = paths(GatewayConfigSchema.parse({ gatewayId: 'g', venueId: 'v', mqtt: { external: { url: 'mqtt://x', clientId: 'c', username: 'u', password: 'p' } }, central: { url: 'ws://x', token: 't' } }));
    for (const p of all) {
      const leaf = p.split('.').pop()!;
      expect(text, p).toMatch(new RegExp(`^\\s*#?\\s*${leaf}:`, 'm'));
    }
  });

  it('reports every problem at once', () => {
    const r = GatewayConfigSchema.safeParse({ venueId: 'a b', mqtt: { mode: 'external' }, central: { url: 'ws://c', backoffMinMs: 5000, backoffMaxMs: 1000 } });
    expect(r.success).toBe(false);
    const msgs = r.error!.issues.map((i) => i.path.join('.'));
    expect(msgs).toEqual(expect.arrayContaining(['gatewayId', 'venueId']));
  });

  it('cross-field rules: external needs a url, central needs a token', () => {
    const r = GatewayConfigSchema.safeParse({ gatewayId: 'g', venueId: 'v', mqtt: { mode: 'external' }, central: { url: 'ws://c' } });
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['mqtt.external.url', 'central.token']));
  });

  it('cross-field rules: a recall pause may not exceed its maximum', () => {
    const bad = GatewayConfigSchema.safeParse({ gatewayId: 'g', venueId: 'v', reconcile: { recallPauseMs: 10_000, recallPauseMaxMs: 5_000 } });
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['reconcile.recallPauseMs: must not exceed reconcile.recallPauseMaxMs']);
    const off = GatewayConfigSchema.parse({ gatewayId: 'g', venueId: 'v', reconcile: { recallPauseMs: 0, recallPauseMaxMs: 0 } });
    expect(off.reconcile).toMatchObject({ recallPauseMs: 0, recallPauseMaxMs: 0 });
    expect(GatewayConfigSchema.parse({ gatewayId: 'g', venueId: 'v' }).reconcile).toMatchObject({ recallPauseMs: 5_000, recallPauseMaxMs: 60_000 });
  });
});
