/**
 * The READMEs point at files that exist: every path a README names in backticks (resolved from the
 * repository root or from the README's folder; paths under git-ignored folders such as `.data/` are
 * made at run time and skipped), and in the root README's behaviour map every file of a row exists
 * and names what the row says is in it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

/** The READMEs checked: the root one and each package's (one folder deep, or two under server/). */
function readmes(): string[] {
  const found = ['README.md'];
  const walk = (dir: string, depth: number) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'node_modules' || e.name === 'dist') continue;
      const sub = dir === '' ? e.name : `${dir}/${e.name}`;
      if (existsSync(join(root, sub, 'README.md'))) found.push(`${sub}/README.md`);
      if (depth > 1) walk(sub, depth - 1);
    }
  };
  walk('', 3);
  return found;
}

/** Top-level folders and patterns git ignores (made at run time), from .gitignore. */
const ignored = readFileSync(join(root, '.gitignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#') && l.endsWith('/'))
  .map((l) => l.replace(/^\//, ''));

const PATH = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.-]+)*\/?$/;
const FILE = /\.(ts|js|mjs|json|md|yaml|yml|html|css|conf|service|sh)$/;

/** The folders a README's relative paths may start from: the root, its own folder, and that folder's `src/`. */
function bases(readme: string): string[] {
  const dir = dirname(readme);
  return dir === '.' ? [root] : [root, join(root, dir), join(root, dir, 'src')];
}

/**
 * Backticked tokens of `text` that name a path: a file with a known extension, or a path whose
 * first folder exists in one of `from` (so `docs/` and `server/dashboard/` are paths, while an MQTT
 * topic such as `fridges/` or a time zone such as `Europe/Berlin` is not).
 */
export function namedPaths(text: string, from: readonly string[] = [root]): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    const t = m[1]!;
    if (!PATH.test(t) || /^\d/.test(t)) continue;
    const first = t.split('/')[0]!;
    if (FILE.test(t) || (t.includes('/') && from.some((b) => existsSync(join(b, first))))) out.add(t);
  }
  return [...out];
}

/** Whether `path`, named in the README `readme`, exists under one of its bases or is made at run time (git-ignored). */
function resolves(readme: string, path: string): boolean {
  if (ignored.some((dir) => path === dir.replace(/\/$/, '') || path.startsWith(dir))) return true;
  return bases(readme).some((b) => existsSync(join(b, path)));
}

/** The rows of the behaviour map: `[files, names]` per row. */
function behaviourMap(readme: string): Array<{ behaviour: string; files: string[]; names: string[] }> {
  const section = readme.split('### Behaviour map')[1]?.split(/\n#{2,3} /)[0] ?? '';
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| behaviour |'))
    .map((l) => {
      const [behaviour = '', files = '', names = ''] = l.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, ''));
      const ticks = (c: string) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      return { behaviour, files: ticks(files), names: ticks(names) };
    });
}

describe('README paths', () => {
  for (const readme of readmes()) {
    it(`every path ${readme} names exists`, () => {
      const text = readFileSync(join(root, readme), 'utf8');
      const missing = namedPaths(text, bases(readme)).filter((p) => !resolves(readme, p));
      expect(missing, `${readme} names paths that do not exist`).toEqual([]);
    });
  }

  it('the behaviour map names, per row, files that exist and contain what the row lists', () => {
    const rows = behaviourMap(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(rows.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const row of rows) {
      if (row.files.length === 0) problems.push(`"${row.behaviour}": no file`);
      const texts = row.files.filter((f) => (existsSync(join(root, f)) ? true : (problems.push(`"${row.behaviour}": ${f} does not exist`), false))).map((f) => readFileSync(join(root, f), 'utf8'));
      for (const name of row.names) {
        const word = new RegExp(`\\b${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
        if (!texts.some((t) => word.test(t))) problems.push(`"${row.behaviour}": ${name} is in none of ${row.files.join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('recognises paths and nothing else', () => {
    const text = '`shared/src/observe.ts` `fridgesync.ts` `docs/` `shared/src/gone.ts` `npm run check:deps` `fridges/<id>/commands` `fridges/` `Europe/Berlin` `/v1/orders` `storage.snapshotFoldMs` `0.6` `--venues/--fridges`';
    expect(namedPaths(text)).toEqual(['shared/src/observe.ts', 'fridgesync.ts', 'docs/', 'shared/src/gone.ts']);
    expect(resolves('README.md', 'shared/src/gone.ts')).toBe(false);
    expect(resolves('README.md', '.data/demo/logs/')).toBe(true);
  });
});
