/**
 * One command line across every `fridgesync` command (README "Where to look"): `-h`/`--help` prints
 * the usage on stdout, `-v`/`--version` prints `fridgesync <command> <version>`, and an unknown
 * option or command names the problem on stderr with exit status 2 (docs/operations.md "Exit
 * status"). Runs the launcher users run, bin/fridgesync.js.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitsWithin, ROOT, spawnCli, type Spawned } from './helpers/cli.ts';
import { useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs the launcher with `args`; resolves with its exit status, stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number | string; out: string; err: string }> {
  const p: Spawned = spawnCli(defer, args);
  let out = '';
  let err = '';
  p.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await exitsWithin(p, 60_000);
  return { code, out, err };
}

describe('the fridgesync command line', () => {
  it.each([
    [[], 'fridgesync', /Usage: fridgesync <command>/],
    [['central'], 'fridgesync central', /Usage:\n {2}central \[run\]/],
    [['gateway'], 'fridgesync gateway', /Usage: fridgesync gateway \[command\]/],
    [['sim'], 'fridgesync sim', /Usage: fridgesync sim \[options\]/],
    [['demo'], 'fridgesync demo', /Usage: fridgesync demo/],
  ])('%j answers -h, --help, -v, --version and refuses an unknown option with exit 2', async (command, name, usage) => {
    const [short, long, v, version, bogus] = await Promise.all([
      cli([...command, '-h']),
      cli([...command, '--help']),
      cli([...command, '-v']),
      cli([...command, '--version']),
      cli([...command, '--bogus']),
    ]);
    for (const help of [short, long]) {
      expect(help.code, help.err).toBe(0);
      expect(help.out).toMatch(usage);
      expect(help.out).toMatch(/-h, --help/);
      expect(help.out).toMatch(/-v, --version/);
    }
    for (const r of [v, version]) {
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(`${name} ${VERSION}\n`);
    }
    expect(bogus.code).toBe(2);
    expect(bogus.out).toBe('');
    expect(bogus.err).toBe(`${name}: Unknown option '--bogus'\nTry '${name} --help'.\n`);
  });

  it('refuses an unknown command, a missing option value and a missing benchmark name with exit 2', async () => {
    const [command, value, subcommand, bench] = await Promise.all([
      cli(['frobnicate']),
      cli(['central', '--config']),
      cli(['gateway', 'frobnicate']),
      cli(['bench']),
    ]);
    expect(command).toMatchObject({ code: 2, err: "fridgesync: unknown command 'frobnicate'\nTry 'fridgesync --help'.\n" });
    expect(value.code).toBe(2);
    expect(value.err).toMatch(/^fridgesync central: Option '-c, --config <value>' argument missing\n/);
    expect(subcommand).toMatchObject({ code: 2, err: 'fridgesync gateway: unknown command "frobnicate"\nTry \'fridgesync gateway --help\'.\n' });
    expect(bench.code).toBe(2);
    expect(bench.err).toMatch(/^fridgesync: bench needs a benchmark name/);
  });
});
