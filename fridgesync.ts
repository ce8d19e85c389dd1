/**
 * The one `fridgesync` command. Subcommands are dispatched to the package that owns them:
 *
 *   fridgesync central [--config FILE] [config check]   central server (server/)
 *   fridgesync gateway [--config FILE] [config check|repair|doctor]   gateway agent (gateway-agent/)
 *   fridgesync sim [flags]                                fleet simulator (simulators/)
 *   fridgesync demo [--data DIR]                          the whole system on one machine
 *   fridgesync bench <name> [flags]                       a benchmark under bench/
 *
 * This file is an entry point, not a library: it is the only place besides test/ that knows
 * every package, and it only routes argv to their `main` functions.
 */
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, formatUsageError, parseCommandLine, UsageError } from '@fridgesync/shared/command-line';

const root = dirname(fileURLToPath(import.meta.url));
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const USAGE = `fridgesync ${version} — local-first sync for fleets of smart fridges

Usage: fridgesync <command> [options]

Commands:
  central   run the central server            (fridgesync central --help)
  gateway   run a venue gateway agent         (fridgesync gateway --help)
  sim       run the fleet simulator           (fridgesync sim --help)
  demo      run central, three gateways and a simulated fleet on this machine
  bench     run a benchmark: doc-growth | gateway-ingest

Options:
  -h, --help      show this help
  -v, --version   print the version
`;

type Main = (argv: string[]) => Promise<number>;

/** Signals a child started by {@link runChild} receives from this process. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `cmd` to completion and resolves with its exit status (128 + n when a signal ended it).
 * The child leads its own process group, so a terminal's Ctrl-C reaches this process only, and
 * every signal this process gets is passed on exactly once.
 */
function runChild(cmd: string, args: string[]): Promise<number> {
  return new Promise<number>((resolve) => {
    // The forwarders are in place before the child exists: a signal sent as soon as the child is
    // seen must not find this process without them (it would die and leave the child running).
    // Signals reach JavaScript from the event loop, so `child` is set by the time one is handled.
    // They stay until this process exits: a signal during the final flush changes nothing.
    let child: ChildProcess | undefined;
    const forward = (sig: NodeJS.Signals) => child?.kill(sig);
    for (const s of FORWARDED) process.on(s, forward);
    child = spawn(cmd, args, { stdio: 'inherit', detached: true });
    const done = (code: number) => resolve(code);
    child.once('error', (e) => {
      process.stderr.write(`fridgesync: cannot start ${cmd}: ${e.message}\n`);
      done(1);
    });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
}

async function run(argv: string[]): Promise<number> {
  // Options before the command are this command's; everything from the command on is the subcommand's.
  const at = argv.findIndex((a) => !a.startsWith('-'));
  const [cmd, ...rest] = at === -1 ? [] : argv.slice(at);
  let own;
  try {
    own = parseCommandLine(at === -1 ? argv : argv.slice(0, at), {}, false).values;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(formatUsageError('fridgesync', e.problems));
    return EXIT_USAGE;
  }
  if (own.help || cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (own.version) {
    process.stdout.write(`fridgesync ${version}\n`);
    return 0;
  }
  switch (cmd) {
    case undefined:
      process.stderr.write(USAGE);
      return EXIT_USAGE;
    case 'central':
      return ((await import('@fridgesync/server/main')) as { main: Main }).main(rest);
    case 'gateway':
      return ((await import('@fridgesync/gateway-agent/main')) as { main: Main }).main(rest);
    case 'sim':
      return ((await import('@fridgesync/simulators/main')) as { main: Main }).main(rest);
    case 'demo':
      return ((await import('./scripts/demo.ts')) as { main: Main }).main(rest);
    case 'bench': {
      const [name, ...flags] = rest;
      if (name === undefined || !/^[a-z-]+$/.test(name)) {
        process.stderr.write(formatUsageError('fridgesync', ['bench needs a benchmark name: doc-growth or gateway-ingest']));
        return EXIT_USAGE;
      }
      return runChild(process.execPath, ['--import', 'tsx', join(root, 'bench', `${name}.ts`), ...flags]);
    }
    default:
      process.stderr.write(formatUsageError('fridgesync', [`unknown command '${cmd}'`]));
      return EXIT_USAGE;
  }
}

/**
 * Ends the process with `code` once stdout and stderr have taken what was written. Exiting
 * explicitly matters: a command resolves only after its own bounded shutdown, and a handle left
 * open by a part that failed half-way must not keep a process alive that has reported it is
 * exiting (docs/operations.md "Exit status").
 */
function exit(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
  // A stream that never drains (a reader that stopped reading) must not hold the exit either.
  setTimeout(() => process.exit(code), 2_000).unref();
}

// Started by a parent over an IPC channel (the demo starts central and the gateways so), the
// process shuts down as on SIGTERM when that parent goes away, even when it was killed with SIGKILL:
// nothing is left serving on its own. The channel itself keeps nothing alive.
if (process.channel !== undefined) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

run(process.argv.slice(2)).then(exit, (err: unknown) => {
  process.stderr.write(`fridgesync: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exit(1);
});
