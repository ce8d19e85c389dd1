/**
 * Entry point of central: `fridgesync central [run] [--config FILE]`, `config check`,
 * `hash-token TOKEN`, `--help`, `--version`. Reads argv, the environment and the config file, then
 * hands a validated, frozen config to {@link buildApp}. The only file in the server that reads
 * `process.env`, installs signal handlers or writes to the console.
 *
 * Exit codes (docs/operations.md "Exit status"): 0 ok, 1 runtime failure (fatal storage error,
 * start failure, shutdown over its grace period), 2 usage or invalid config, 3 data directory not
 * writable, 130 a second signal (more than a second after the first) during shutdown.
 */
import { readFileSync } from 'node:fs';
import { realpathSync } from 'node:fs';
import { EXIT_USAGE, formatUsageError, parseCommandLine, UsageError } from '@fridgesync/shared/command-line';
import { fileURLToPath } from 'node:url';
import { armCrashPoint, ConfigError, CRASH_AT_VARIABLE, envOverrides, loadConfig, parseConfigFile, stopSignals } from '@fridgesync/shared';
import { CentralConfigSchema, type CentralConfig } from './config-schema.ts';
import { buildApp, type Central } from './app.ts';
import { hashToken } from './auth.ts';
import { CENTRAL_VERSION } from './version.ts';
import { StorageUnwritableError } from './storage/storage-port.ts';

/** Exit status when the data directory cannot be written: an operator must act, a restart will not help. */
export const EXIT_UNWRITABLE = 3;

const HELP = `fridgesync central — the central sync and API server

Usage:
  central [run] [--config FILE]      start the server (default command)
  central config check [--config FILE]
                                     validate the configuration, list every problem, print the result
  central hash-token TOKEN           print the config form (sha256:…) of a bearer token

Options:
  -c, --config FILE   YAML configuration (or FRIDGESYNC_CONFIG)
  -h, --help          this text
  -v, --version       print the version

The config file is YAML (see central.example.yaml). FRIDGESYNC_CONFIG names it when --config is not
given. Environment variables override it: FRIDGESYNC_HTTP__PORT=9000 sets http.port;
FRIDGESYNC_<PATH>_FILE=/run/secrets/x reads the value from a file.
`;

const COMMAND = 'fridgesync central';
const OPTIONS = { config: { type: 'string', short: 'c' } } as const;

/** Writes a usage error in the form every command uses; returns its exit status. */
function usage(problem: string): number {
  process.stderr.write(formatUsageError(COMMAND, [problem]));
  return EXIT_USAGE;
}

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function readConfig(file: string | undefined, env: Record<string, string | undefined>): CentralConfig {
  const parsed = file === undefined ? undefined : parseConfigFile(file, (p) => readFileSync(p, 'utf8'));
  return loadConfig(CentralConfigSchema, { file: parsed, env, readFile: (p) => readFileSync(p, 'utf8') }) as CentralConfig;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCommandLine(argv, OPTIONS);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return usage(e.message);
  }
  if (args.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.values.version) {
    process.stdout.write(`${COMMAND} ${CENTRAL_VERSION}\n`);
    return 0;
  }
  const [cmd = 'run', sub] = args.positionals;
  if (cmd === 'hash-token') {
    if (sub === undefined) return usage('hash-token needs the TOKEN to hash');
    process.stdout.write(`${hashToken(sub)}\n`);
    return 0;
  }
  const file = args.values.config ?? process.env.FRIDGESYNC_CONFIG;
  let config: CentralConfig;
  try {
    config = readConfig(file, process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  if (cmd === 'config') {
    if (sub !== 'check') return usage('the config command is `config check [--config FILE]`');
    const overrides = envOverrides({ env: process.env }).map((o) => `  ${o.variable} → ${o.path.join('.')}`);
    process.stdout.write(`configuration OK${file ? ` (${file})` : ' (defaults)'}\n`);
    if (overrides.length > 0) process.stdout.write(`environment overrides:\n${overrides.join('\n')}\n`);
    process.stdout.write(
      `instance central:${config.instanceId}, listen ${config.http.host}:${config.http.port}, storage ${config.storage.engine} ${config.storage.engine === 'level' ? config.storage.dataDir : ''}\n` +
        `${config.registry.venues.length} venue(s), ${config.registry.meals.length} meal(s), ${config.tokens.length} token(s)\n`,
    );
    return 0;
  }
  if (cmd !== 'run') {
    process.stderr.write(formatUsageError(COMMAND, [`unknown command "${cmd}"`]));
    return 2;
  }
  try {
    // A test's fault switch, off unless set (docs/reliability.md "Process faults").
    armCrashPoint(process.env[CRASH_AT_VARIABLE]);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  return run(config);
}

async function run(config: CentralConfig): Promise<number> {
  let resolveExit!: () => void;
  const exit = new Promise<void>((r) => (resolveExit = r));
  // A storage failure during a graceful shutdown still makes the exit status a failure.
  let failed = false;
  const onFatal = () => {
    failed = true;
    resolveExit();
  };
  let central: Central;
  try {
    central = await buildApp(config, { onFatal });
  } catch (e) {
    process.stderr.write(`central failed to start: ${(e as Error).message}\n`);
    return e instanceof StorageUnwritableError ? EXIT_UNWRITABLE : 1;
  }
  let url: string;
  try {
    url = await central.listen();
  } catch (e) {
    // The port is taken or not allowed: release the storage (and its lock) before exiting.
    process.stderr.write(`central failed to start: cannot listen on ${config.http.host}:${config.http.port}: ${(e as Error).message}\n`);
    await bounded(central.close(), config.http.shutdownGraceMs).catch(() => undefined);
    return 1;
  }
  process.stdout.write(`central listening on ${url} (dashboard ${url}/dashboard/, API docs ${url}/documentation)\n`);
  // One Ctrl-C may arrive twice (from the terminal and forwarded by npm): a repeat within a second
  // is the same request; a later one exits at once, as the default signal action would.
  const signalKind = stopSignals();
  let resolveAgain!: () => void;
  const again = new Promise<void>((r) => (resolveAgain = r));
  const onSignal = (sig: string) => {
    const kind = signalKind();
    if (kind === 'first') {
      central.app.log.info({ signal: sig }, 'shutting down');
      resolveExit();
    } else if (kind === 'again') {
      central.app.log.warn({ signal: sig }, 'second signal: exiting now');
      resolveAgain();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await exit;
  if (failed) central.app.log.fatal({ graceMs: config.http.shutdownGraceMs }, 'fatal: exiting so central can be restarted on its stored log');
  try {
    const closed = bounded(central.close(), config.http.shutdownGraceMs);
    const outcome = await Promise.race([closed, again.then(() => 'again' as const)]);
    if (outcome === 'again') return 130;
    if (!outcome) {
      central.app.log.error({ graceMs: config.http.shutdownGraceMs }, 'graceful shutdown took too long; exiting');
      return 1;
    }
  } catch (e) {
    central.app.log.error({ err: e }, 'shutdown failed');
    return 1;
  }
  // The handlers stay until the process exits: a copy of the signal arriving after a fast
  // shutdown must not end the process by the default action.
  return failed ? 1 : 0;
}

/** Waits for `p` at most `ms`: true when it resolved in time, false when time ran out; rethrows its rejection. */
async function bounded(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
