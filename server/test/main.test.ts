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
    expect(cap.err).toContain('unknown option --bogus');
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

  it('environment variables override the file', () => {
    const cfg = readConfig(resolve(import.meta.dirname, '../../central.example.yaml'), { FRIDGESYNC_HTTP__PORT: '9999', FRIDGESYNC_STORAGE__ENGINE: 'memory' });
    expect(cfg.http.port).toBe(9999);
    expect(cfg.storage.engine).toBe('memory');
    expect(Object.isFrozen(cfg.http)).toBe(true);
    expect(() => readConfig('/nonexistent.yaml', {})).toThrow(ConfigError);
  });
});
