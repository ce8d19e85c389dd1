import { describe, expect, it } from 'vitest';
import { FridgeAuthenticator, KEYED_HASH_PATTERN, LEGACY_QUEUE, generateSecret, hashLegacySecret, hashSecret, verifySecret } from '../src/fridge-secrets.ts';
import { GatewayConfigSchema } from '../src/config-schema.ts';

describe('fridge secrets', () => {
  it('generates 192-bit secrets, never the same twice', () => {
    const secrets = new Set(Array.from({ length: 1_000 }, () => generateSecret()));
    expect(secrets.size).toBe(1_000);
    for (const s of secrets) expect(Buffer.from(s, 'base64url')).toHaveLength(24);
  });

  it('verifies keyed hashes; each hash has its own key', async () => {
    const s = generateSecret();
    const h = hashSecret(s);
    expect(h).toMatch(KEYED_HASH_PATTERN);
    expect(hashSecret(s)).not.toBe(h);
    expect(await verifySecret(s, h)).toBe(true);
    expect(await verifySecret(s + 'x', h)).toBe(false);
    expect(await verifySecret(s, hashSecret(generateSecret()))).toBe(false);
    expect(await verifySecret(s, 'hs256$short$x')).toBe(false);
  });

  it('checks keyed hashes at once and legacy ones one at a time, at most LEGACY_QUEUE waiting', async () => {
    const auth = new FridgeAuthenticator({ f1: hashSecret('right'), f2: await hashLegacySecret('right', 12) });
    expect(auth.check('f1', 'right')).toBe('ok');
    expect(auth.check('f1', 'wrong')).toBe('bad');
    expect(auth.check('f9', 'right')).toBe('bad');
    expect(auth.check('constructor', 'right')).toBe('bad');
    expect(auth.legacyFridges()).toEqual(['f2']);
    const results = await Promise.all(Array.from({ length: LEGACY_QUEUE + 4 }, () => auth.check('f2', 'wrong')));
    // One running, LEGACY_QUEUE waiting, the rest refused at once.
    expect(results.filter((r) => r === 'busy')).toHaveLength(3);
    expect(results.filter((r) => r === 'bad')).toHaveLength(LEGACY_QUEUE + 1);
    expect(await auth.check('f2', 'right')).toBe('ok');
    // Remembered: no second scrypt for the same secret.
    expect(auth.check('f2', 'right')).toBe('ok');
    expect(await auth.check('f2', 'wrong')).toBe('bad');
  });

  it('the config takes both formats and refuses anything else, naming add-fridge', async () => {
    const parse = (fridges: Record<string, string>) => GatewayConfigSchema.safeParse({ gatewayId: 'gw1', venueId: 'v1', mqtt: { fridges } });
    expect(parse({ f1: hashSecret('s'), f2: await hashLegacySecret('s', 10) }).success).toBe(true);
    const bad = parse({ f1: 'plain-secret' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('add-fridge');
  });
});
