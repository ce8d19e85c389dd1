/**
 * The gateway agent's entry point: `fridgesync gateway [run|config check|repair|doctor|add-fridge|hash-secret]`.
 * Reads argv and the environment (the only place that does), validates the config once, wires the
 * agent with `createAgent`, and owns the signals: SIGTERM/SIGINT shut down gracefully within
 * `shutdown.graceMs`; a second signal, more than a second after the first, exits at once (a repeat
 * within it is the same Ctrl-C delivered twice: shared signals.ts).
 *
 * Exit codes (docs/operations.md "Exit status"): 0 ok, 1 runtime failure (fatal store error, start
 * failure, shutdown over its grace period), 2 usage or invalid config, 3 data directory not
 * writable, 130 a second signal during shutdown.
 */
import { readFileSync, renameSync, existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { EXIT_USAGE, formatUsageError, parseCommandLine, UsageError } from '@fridgesync/shared/command-line';
import pino from 'pino';
import { armCrashPoint, ConfigError, CRASH_AT_VARIABLE, FridgeIdSchema, loadConfig, parseConfigFile, stopSignals } from '@fridgesync/shared';
import { GatewayConfigSchema, RETIRED_GATEWAY_KEYS, type GatewayConfig } from './config-schema.ts';
import { AGENT_VERSION, createAgent } from './agent.ts';
import { MIN_SECRET_CHARS, MIN_SHORT_SECRET_CHARS, generateSecret, hashSecret } from './fridge-secrets.ts';
import { formatDoctor, runDoctor } from './doctor.ts';
import { openLevelStore } from './level-store.ts';
import { StoreCorruptError, StoreLockedError, StoreReadOnlyError } from './replica-store.ts';

const HELP = `fridgesync gateway — the venue gateway agent

Usage: fridgesync gateway [command] [--config FILE]

Commands:
  run             run the agent (default)
  config check    validate the configuration offline; lists every problem, exits 2 on any
  repair          move a damaged local store aside; the next run rebuilds it from central
                  under a new epoch
  doctor          check the installation (data dir, disk, broker port, central, token, clock);
                  exits 1 on any FAIL
  add-fridge ID   generate a secret for fridge ID (192 random bits); print it once, with the
                  line to add under mqtt.fridges (its keyed hash; the secret is stored nowhere)
  hash-secret     read an existing fridge secret (at least ${MIN_SECRET_CHARS} characters) on stdin, print
                  its keyed hash for mqtt.fridges
    --allow-short   accept a shorter secret (at least ${MIN_SHORT_SECRET_CHARS}) with a warning: to move a fridge whose
                  secret cannot be changed yet off an scrypt hash

Options:
  -c, --config FILE   YAML configuration (or FRIDGESYNC_CONFIG); FRIDGESYNC_* variables override
                      keys (FRIDGESYNC_HTTP__PORT=8081), *_FILE variables read secrets from files
  -h, --help          this text
  -v, --version       print the version

See gateway.example.yaml for every key.`;

/** Exit status when the data directory cannot be written: an operator must act, a restart will not help. */
export const EXIT_UNWRITABLE = 3;

/** Output sinks (tests capture them). */
export interface MainIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: Record<string, string | undefined>;
  stdin: () => Promise<string>;
}

const defaultIo = (): MainIo => ({
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  env: process.env,
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
});

interface Args {
  command: 'run' | 'config-check' | 'repair' | 'doctor' | 'add-fridge' | 'hash-secret' | 'help' | 'version';
  config: string | undefined;
  /** `add-fridge`: the fridge id as typed. */
  fridge?: string;
  /** `hash-secret --allow-short`. */
  allowShort?: boolean;
}

const COMMAND = 'fridgesync gateway';
const OPTIONS = { config: { type: 'string', short: 'c' }, 'allow-short': { type: 'boolean' } } as const;

/** The command line as {@link Args}; throws {@link UsageError}. */
function parseArgs(argv: string[], env: MainIo['env']): Args {
  const { values, positionals: words } = parseCommandLine(argv, OPTIONS);
  const config = values.config ?? env.FRIDGESYNC_CONFIG;
  const allowShort = values['allow-short'] === true;
  if (values.help) return { command: 'help', config };
  if (values.version) return { command: 'version', config };
  if (words[0] === 'gateway') words.shift(); // `fridgesync gateway …` passes its own name through
  const cmd = words.join(' ');
  if (cmd === '' || cmd === 'run') return { command: 'run', config };
  if (cmd === 'config check') return { command: 'config-check', config };
  if (cmd === 'repair') return { command: 'repair', config };
  if (cmd === 'doctor') return { command: 'doctor', config };
  if (cmd === 'hash-secret') return { command: 'hash-secret', config, allowShort };
  if (allowShort) throw new UsageError(['--allow-short applies to hash-secret only']);
  if (words[0] === 'add-fridge') {
    if (words.length !== 2) throw new UsageError(['add-fridge needs one fridge id']);
    return { command: 'add-fridge', config, fridge: words[1] };
  }
  throw new UsageError([`unknown command "${cmd}"`]);
}

/**
 * Reads and validates the config; throws {@link ConfigError} listing every problem. A retired key
 * ({@link RETIRED_GATEWAY_KEYS}) is ignored and named to `warn`.
 */
export function readConfig(file: string | undefined, env: MainIo['env'], warn?: (message: string) => void): GatewayConfig {
  const doc = file === undefined ? undefined : parseConfigFile(file, (p) => readFileSync(p, 'utf8'));
  const problems: string[] = [];
  const readSecret = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      problems.push(`cannot read secret file ${p}: ${(e as Error).message}`);
      return '';
    }
  };
  try {
    const cfg = loadConfig(GatewayConfigSchema, { file: doc ?? {}, env, readFile: readSecret, retired: RETIRED_GATEWAY_KEYS, warn });
    if (problems.length > 0) throw new ConfigError(problems);
    return cfg;
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError([...problems, ...e.problems]);
    throw e;
  }
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: MainIo = defaultIo()): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv, io.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(formatUsageError(COMMAND, e.problems).trimEnd());
    return EXIT_USAGE;
  }
  if (args.command === 'help') return io.out(HELP), 0;
  if (args.command === 'version') return io.out(`${COMMAND} ${AGENT_VERSION}`), 0;
  if (args.command === 'add-fridge') return addFridge(args.fridge!, io);
  if (args.command === 'hash-secret') {
    const secret = (await io.stdin()).replace(/\r?\n$/, '');
    const least = args.allowShort ? MIN_SHORT_SECRET_CHARS : MIN_SECRET_CHARS;
    if (secret.length < least) {
      const hint = args.allowShort ? '' : ' (`--allow-short` to migrate an existing shorter one)';
      return io.err(`the secret must be at least ${least} characters (${MIN_SECRET_CHARS} hold 128 random bits)${hint}; \`fridgesync gateway add-fridge ID\` generates one`), 2;
    }
    if (secret.length < MIN_SECRET_CHARS) {
      // The keyed hash is fast to check: a short secret is only as strong as its length allows.
      io.err(`warning: a ${secret.length}-character secret can be guessed offline from a leaked config; replace it with \`fridgesync gateway add-fridge ID\` as soon as the fridge allows (docs/operations.md "Fridge secrets")`);
    }
    io.out(hashSecret(secret));
    return 0;
  }
  let config: GatewayConfig;
  try {
    config = readConfig(args.config, io.env, (w) => io.err(`warning: ${w}`));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(e.message);
    return 2;
  }
  if (args.command === 'config-check') {
    const fridges = Object.keys(config.mqtt.fridges).length;
    io.out(`configuration ok: gateway ${config.gatewayId} of venue ${config.venueId}, mqtt ${config.mqtt.mode}, ${fridges} fridge secret(s), central ${config.central.url ?? '(none)'}, data ${config.storage.dataDir}`);
    return 0;
  }
  if (args.command === 'repair') return repair(config, io);
  if (args.command === 'doctor') {
    const checks = await runDoctor(config);
    io.out(formatDoctor(checks));
    return checks.some((c) => c.status === 'FAIL') ? 1 : 0;
  }
  try {
    // A test's fault switch, off unless set (docs/reliability.md "Process faults").
    armCrashPoint(io.env[CRASH_AT_VARIABLE]);
  } catch (e) {
    return io.err((e as Error).message), 2;
  }
  return run(config, io);
}

/**
 * Generates a fridge secret and prints it once, with the config line holding its keyed hash. The
 * secret goes into the fridge (its MQTT password); only the hash goes into the gateway config.
 */
function addFridge(id: string, io: MainIo): number {
  const parsed = FridgeIdSchema.safeParse(id);
  if (!parsed.success) return io.err(`invalid fridge id "${id}": ${parsed.error.issues[0]?.message ?? 'not a fridge id'}`), 2;
  const secret = generateSecret();
  io.out(`Secret of fridge ${parsed.data} (shown once; set it as the fridge's MQTT password, username and client id "${parsed.data}"):`);
  io.out(`  ${secret}`);
  io.out('Add this line under mqtt.fridges in the gateway config, then restart the gateway:');
  io.out(`  ${parsed.data}: "${hashSecret(secret)}"`);
  io.out('(External broker: add the same secret to its password file instead, e.g. mosquitto_passwd.)');
  return 0;
}

/** Moves the store aside (keeping it for forensics); the next run joins and takes a new epoch. */
async function repair(config: GatewayConfig, io: MainIo): Promise<number> {
  const dir = config.storage.dataDir;
  if (!existsSync(dir)) return io.out(`no store in ${dir}; nothing to repair`), 0;
  try {
    const s = await openLevelStore(dir);
    await s.close();
  } catch (e) {
    if (e instanceof StoreLockedError) return io.err(e.message), 1;
    // Moving an intact store aside would drop what central has not received: never for this.
    if (e instanceof StoreReadOnlyError) return io.err(`${e.message}\nrepair changed nothing.`), EXIT_UNWRITABLE;
    if (!(e instanceof StoreCorruptError)) throw e;
  }
  const aside = `${dir}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(dir, aside);
  io.out(`moved ${dir} to ${aside}; the next start rebuilds the replica from central under a new epoch`);
  return 0;
}

async function run(config: GatewayConfig, io: MainIo): Promise<number> {
  const logger = pino({ level: config.logLevel });
  // Installed before the agent starts: a stop signal during the start (the HTTP port may already
  // answer) is kept and acted on once the agent runs, instead of the default action ending the
  // process halfway through opening its store and ports.
  const signalKind = stopSignals();
  let signalDuringStart: NodeJS.Signals | undefined;
  let handleSignal = (sig: NodeJS.Signals) => {
    if (signalKind() === 'first') signalDuringStart = sig;
  };
  const onSignal = (sig: NodeJS.Signals) => handleSignal(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const releaseSignals = () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  let agent;
  try {
    agent = await createAgent(config, { logger, defaultMetrics: true });
  } catch (e) {
    releaseSignals();
    if (e instanceof StoreReadOnlyError) {
      io.err(e.message);
      return EXIT_UNWRITABLE;
    }
    if (e instanceof StoreLockedError || e instanceof StoreCorruptError) {
      io.err(e.message);
      return 1;
    }
    logger.fatal({ err: e }, 'gateway agent failed to start');
    io.err(`gateway agent failed to start: ${(e as Error).message}`);
    return 1;
  }
  const a = agent;
  return new Promise<number>((resolve) => {
    let stopping = false;
    // The handlers stay until the process exits: a copy of the signal arriving after a fast
    // shutdown must not end the process by the default action (exit status 130 instead of 0).
    const finish = (code: number) => resolve(code);
    // A fatal error during a graceful shutdown still makes the exit status a failure.
    let result = 0;
    // Every way out closes the agent within `shutdown.graceMs` and then resolves: the caller exits
    // with the code, so a supervisor sees the failure and restarts the process.
    const stop = (code: number) => {
      result = Math.max(result, code);
      if (stopping) return;
      stopping = true;
      const timer = setTimeout(() => {
        logger.error({ graceMs: config.shutdown.graceMs }, 'graceful shutdown took too long; exiting');
        finish(Math.max(result, 1));
      }, config.shutdown.graceMs);
      a.close().then(
        () => {
          clearTimeout(timer);
          finish(result);
        },
        (e: unknown) => {
          clearTimeout(timer);
          logger.error({ err: e }, 'shutdown failed');
          finish(Math.max(result, 1));
        },
      );
    };
    handleSignal = (sig: NodeJS.Signals) => {
      const kind = signalKind();
      if (kind === 'same') return;
      if (kind === 'again') {
        logger.warn({ signal: sig }, 'second signal: exiting now');
        finish(130);
        return;
      }
      logger.info({ signal: sig, graceMs: config.shutdown.graceMs }, 'shutting down gracefully (signal again to exit now)');
      stop(0);
    };
    if (signalDuringStart !== undefined) {
      logger.info({ signal: signalDuringStart, graceMs: config.shutdown.graceMs }, 'shutting down gracefully (signal received during start)');
      stop(0);
    }
    void a.fatal.then((e) => {
      logger.fatal({ err: e }, 'fatal: exiting so the store can be recovered');
      stop(1);
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
