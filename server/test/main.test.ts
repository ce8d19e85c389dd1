/** The CLI: help, version, hash-token, config check with every problem listed, env overrides. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main, readConfig } from '@fridgesync/server/main';
import { ConfigError } from '@fridgesync/shared';

function capture() {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    restore() {
      o.mockRestore();
      e.mockRestore();
    },
  };
}

let cap: ReturnType<typeof capture> | undefined;
afterEach(() => cap?.restore());

describe('central CLI', () => {
  it('--help, --version and hash-token', async () => {
    cap = capture();
    expect(await main(['--help'])).toBe(0);
    expect(cap.out).toContain('config check');
    expect(await main(['--version'])).toBe(0);
    expect(cap.out).toMatch(/\d+\.\d+\.\d+/);
    expect(await main(['hash-token', 'abc'])).toBe(0);
    expect(cap.out).toContain('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await main(['--bogus'])).toBe(2);
    expect(cap.err).toContain("fridgesync central: Unknown option '--bogus'");
  });

  it('config check accepts the example config', async () => {
    cap = capture();
    expect(await main(['config', 'check', '--config', resolve(import.meta.dirname, '../../central.example.yaml')])).toBe(0);
    expect(cap.out).toContain('configuration OK');
    expect(cap.out).toContain('1 venue(s), 3 meal(s), 5 token(s)');
  });

  it('config check lists every problem at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, 'http:\n  port: 99999\nstorage:\n  engine: floppy\ntokens:\n  - { role: app, name: a, hash: plain }\nunknownKey: 1\n');
      cap = capture();
      expect(await main(['config', 'check', '--config', file])).toBe(2);
      for (const p of ['http.port', 'storage.engine', 'tokens.0.hash', 'unknownKey']) expect(cap.err).toContain(p);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('config check reports broken cross-references', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    try {
      const file = join(dir, 'refs.yaml');
      await writeFile(
        file,
        [
          'tokens:',
          `  - { role: gateway, name: g, venueId: v1, gatewayId: gX, hash: "sha256:${'a'.repeat(64)}" }`,
          `  - { role: app, name: a, hash: "sha256:${'a'.repeat(64)}" }`,
          'registry:',
          '  meals: [{ id: m1, name: M, priceCents: 1 }, { id: m1, name: N, priceCents: 2 }]',
          '  venues:',
          '    - { id: v1, name: V, city: B, timezone: UTC, gateways: [{ id: g1 }], fridges: [{ id: f1, reconciler: g2, par: { m9: 1 } }, { id: f1, reconciler: g1 }] }',
        ].join('\n'),
      );
      cap = capture();
      expect(await main(['config', 'check', '--config', file])).toBe(2);
      for (const p of ['duplicate meal id m1', 'duplicate fridge id f1', 'gateway g2 is not a gateway of venue v1', 'unknown meal m9', 'listed twice', 'gateway gX is not registered']) expect(cap.err).toContain(p);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('environment variables override the file', () => {
    const cfg = readConfig(resolve(import.meta.dirname, '../../central.example.yaml'), { FRIDGESYNC_HTTP__PORT: '9999', FRIDGESYNC_STORAGE__ENGINE: 'memory' });
    expect(cfg.http.port).toBe(9999);
    expect(cfg.storage.engine).toBe('memory');
    expect(Object.isFrozen(cfg.http)).toBe(true);
    expect(() => readConfig('/nonexistent.yaml', {})).toThrow(ConfigError);
  });
});
