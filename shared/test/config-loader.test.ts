import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig, parseConfigFile } from '@fridgesync/shared';

const Schema = z.strictObject({
  http: z.strictObject({ port: z.number().int().min(0).max(65535).default(8080) }).prefault({}),
  token: z.string().min(1).optional(),
});

const errorOf = (f: () => unknown): ConfigError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError thrown');
};

describe('config loading', () => {
  it('reads YAML, then applies FRIDGESYNC_ overrides and *_FILE secrets; the result is frozen', () => {
    const file = parseConfigFile('c.yaml', () => 'http:\n  port: 1000\n');
    const c = loadConfig(Schema, { file, env: { FRIDGESYNC_HTTP__PORT: '2000', FRIDGESYNC_TOKEN_FILE: '/s' }, readFile: () => 'secret\n' });
    expect(c).toEqual({ http: { port: 2000 }, token: 'secret' });
    expect(Object.isFrozen(c.http)).toBe(true);
  });

  it('names the file when it cannot be read or is not YAML; an empty file is an empty mapping', () => {
    expect(errorOf(() => parseConfigFile('missing.yaml', () => { throw new Error('ENOENT'); })).problems[0]).toBe('cannot read missing.yaml: ENOENT');
    expect(errorOf(() => parseConfigFile('bad.yaml', () => 'a: [1, 2')).problems[0]).toMatch(/^bad\.yaml is not valid YAML/);
    expect(parseConfigFile('empty.yaml', () => '')).toEqual({});
  });

  it('lists every problem at once', () => {
    const e = errorOf(() => loadConfig(Schema, { file: { http: { port: -1 }, token: '', extra: 1 } }));
    expect(e.problems.length).toBe(3);
    expect(e.problems.join('\n')).toMatch(/http\.port/);
  });

  it('ignores a retired key, from the file or the environment, with a warning naming it; unknown keys still fail', () => {
    const retired = { 'http.oldLimit': 'the limit is computed' };
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(loadConfig(Schema, { file: { http: { port: 1, oldLimit: 5 } }, retired, warn })).toEqual({ http: { port: 1 } });
    expect(loadConfig(Schema, { file: {}, env: { FRIDGESYNC_HTTP__OLD_LIMIT: '5' }, retired, warn })).toEqual({ http: { port: 8080 } });
    expect(warnings).toEqual(Array(2).fill('http.oldLimit is no longer read (the limit is computed); it is ignored: remove it from the configuration'));
    expect(loadConfig(Schema, { file: { http: { port: 1 } }, retired, warn })).toEqual({ http: { port: 1 } });
    expect(warnings).toHaveLength(2);
    expect(errorOf(() => loadConfig(Schema, { file: { http: { oldLimit: 5 } } })).problems.join('\n')).toMatch(/oldLimit/);
  });
});
