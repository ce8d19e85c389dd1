/**
 * Configuration sources → one validated, frozen config object. Pure: the caller reads the YAML file
 * and passes `process.env` and a file reader (for `*_FILE` secrets), so tests need no disk.
 *
 * Precedence, lowest first: schema defaults < YAML file < environment. An environment variable
 * `FRIDGESYNC_<PATH>` sets the config path written in upper snake case with `__` between levels,
 * e.g. `FRIDGESYNC_HTTP__PORT=8080` sets `http.port`; `FRIDGESYNC_<PATH>_FILE=/run/secrets/x`
 * sets it to the contents of that file (trailing newline removed). Values are parsed as JSON when
 * they look like JSON (numbers, booleans, arrays, objects), else taken as strings.
 * Every problem is reported at once.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CRASH_AT_VARIABLE } from './crash-point.ts';

/** Thrown when configuration is invalid; `problems` lists every issue with its path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Options of {@link loadConfig}. */
export interface ConfigSources {
  /** Parsed YAML document (object) or `undefined` when no file is given. */
  file?: unknown;
  /** Environment variables (normally `process.env`). */
  env?: Record<string, string | undefined>;
  /** Environment prefix, default `FRIDGESYNC_`. */
  prefix?: string;
  /** Reads a secret file for `*_FILE` variables. */
  readFile?: (path: string) => string;
  /**
   * Keys the schema no longer has, by dotted path (`reconcile.seqResetGap`), each with why it
   * went. A file or variable that still sets one loads: the key is dropped before validation and
   * `warn` names it, so a configuration written for an older release keeps working.
   */
  retired?: Readonly<Record<string, string>>;
  /** Receives one message per retired key that was set. */
  warn?: (message: string) => void;
}

function camel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function coerce(v: string): unknown {
  const t = v.trim();
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(t) || t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/** Removes `path` from `obj`; whether it was there. */
function dropPath(obj: Record<string, unknown>, path: string[]): boolean {
  let cur: unknown = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  const last = path[path.length - 1]!;
  if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, last)) return false;
  delete (cur as Record<string, unknown>)[last];
  return true;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Environment variables that would be applied, as `path → value` (for `config check` output). */
export function envOverrides(sources: ConfigSources): Array<{ variable: string; path: string[]; value: unknown }> {
  const prefix = sources.prefix ?? 'FRIDGESYNC_';
  const out: Array<{ variable: string; path: string[]; value: unknown }> = [];
  for (const [name, raw] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    let rest = name.slice(prefix.length);
    let value: unknown;
    if (rest.endsWith('_FILE')) {
      rest = rest.slice(0, -'_FILE'.length);
      if (sources.readFile === undefined) continue;
      value = sources.readFile(raw).replace(/\r?\n$/, '');
    } else value = coerce(raw);
    if (rest === 'CONFIG') continue; // FRIDGESYNC_CONFIG names the file itself
    if (name === CRASH_AT_VARIABLE) continue; // a test's fault switch (crash-point.ts), not configuration
    out.push({ variable: name, path: rest.split('__').map(camel), value });
  }
  return out;
}

/** Merges the sources and validates with `schema`; throws {@link ConfigError} listing all problems. */
export function loadConfig<S extends z.ZodType>(schema: S, sources: ConfigSources): Readonly<z.infer<S>> {
  const problems: string[] = [];
  const base = sources.file ?? {};
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new ConfigError(['the config file must be a YAML mapping']);
  const merged = structuredClone(base) as Record<string, unknown>;
  try {
    for (const o of envOverrides(sources)) setPath(merged, o.path, o.value);
  } catch (e) {
    problems.push(`environment: ${(e as Error).message}`);
  }
  for (const [path, why] of Object.entries(sources.retired ?? {})) {
    if (dropPath(merged, path.split('.'))) sources.warn?.(`${path} is no longer read (${why}); it is ignored: remove it from the configuration`);
  }
  const r = schema.safeParse(merged);
  if (!r.success) for (const i of r.error.issues) problems.push(`${i.path.join('.') || '(root)'}: ${i.message}`);
  if (problems.length > 0 || !r.success) throw new ConfigError(problems);
  return deepFreeze(r.data as z.infer<S>);
}

/**
 * Reads a YAML config file through `readText` (the caller's I/O) and parses it; an empty file is an
 * empty mapping. Throws {@link ConfigError} naming the file when it cannot be read or parsed.
 */
export function parseConfigFile(file: string, readText: (path: string) => string): unknown {
  let text: string;
  try {
    text = readText(file);
  } catch (e) {
    throw new ConfigError([`cannot read ${file}: ${(e as Error).message}`]);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (e) {
    throw new ConfigError([`${file} is not valid YAML: ${(e as Error).message}`]);
  }
}
