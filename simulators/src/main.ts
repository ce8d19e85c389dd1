/**
 * `fridgesync sim` entry point: reads argv and the environment, validates, wires a fleet, runs it
 * with live progress, prints the summary, writes the report. Exit status: 0 all checks passed,
 * 1 a check failed, 2 bad arguments or setup (unreachable broker, invalid fleet file).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { EXIT_USAGE, formatUsageError, UsageError } from '@fridgesync/shared/command-line';
import { HELP, parseSimArgs, type SimConfig } from './cli-args.ts';
import { commandFaultHooks } from './faults.ts';
import { createFleet } from './fleet.ts';
import { FleetFileError, generateFleet, loadFleetFile, type FleetSpec } from './fleet-spec.ts';
import { startProgress } from './progress.ts';
import { formatSummary } from './report.ts';

/** Version of this package (the simulators workspace). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const COMMAND = 'fridgesync sim';

/** Where main writes and what it reads; tests pass their own. */
export interface MainIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  env: Record<string, string | undefined>;
  /** Install SIGINT/SIGTERM handlers (default true). */
  signals?: boolean;
}

/** Runs `fridgesync sim` with `argv` (the words after `sim`); resolves with the exit status. */
export async function main(argv: string[], io: MainIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const { stdout, stderr } = io;
  let parsed;
  try {
    parsed = parseSimArgs(argv, io.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    stderr.write(formatUsageError(COMMAND, e.problems));
    return EXIT_USAGE;
  }
  if (parsed.kind === 'help') {
    stdout.write(HELP);
    return 0;
  }
  if (parsed.kind === 'version') {
    stdout.write(`${COMMAND} ${VERSION}\n`);
    return 0;
  }
  const cfg = parsed.config;

  let fleet: FleetSpec;
  try {
    fleet = await resolveFleet(cfg);
  } catch (e) {
    stderr.write(`fridgesync sim: ${(e as Error).message}\n`);
    return 2;
  }
  if (cfg.writeFleet) {
    const text = `${JSON.stringify(fleet, null, 2)}\n`;
    if (cfg.writeFleet === '-') stdout.write(text);
    else await writeFile(cfg.writeFleet, text);
    return 0;
  }

  const central = cfg.central ?? fleet.central?.url;
  let sim;
  try {
    sim = createFleet({
      fleet,
      brokerUrls: cfg.venueUrls,
      kioskUrls: cfg.kioskUrls,
      ...(central
        ? { central: { url: central, ...optional('appToken', cfg.appToken ?? fleet.central?.appToken), ...optional('kitchenToken', cfg.kitchenToken ?? fleet.central?.kitchenToken) } }
        : {}),
      seed: cfg.seed,
      ...optional('runId', cfg.runId),
      intervalMs: cfg.intervalMs,
      qos: cfg.qos,
      window: cfg.window,
      customersPerMinute: cfg.customersPerMinute,
      walkInsPerMinute: cfg.walkInsPerMinute,
      kioskShare: cfg.kioskShare,
      holdSeconds: cfg.holdSeconds,
      kitchen: cfg.kitchen,
      faults: cfg.faults,
      ...(cfg.faultHook ? { hooks: commandFaultHooks(cfg.faultHook, io.env) } : {}),
      ...optional('checkGraceMs', cfg.checkGraceMs),
      convergeTimeoutMs: cfg.convergeTimeoutMs,
      connectTimeoutMs: cfg.connectTimeoutMs,
    });
  } catch (e) {
    stderr.write(`fridgesync sim: ${(e as Error).message}\n`);
    return 2;
  }

  const tty = Boolean(stdout.isTTY) && io.env.CI !== 'true';
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130); // second Ctrl-C: stop now
    stderr.write('\nstopping: quiescing and checking (Ctrl-C again to exit at once)\n');
    abort.abort();
  };
  if (io.signals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const connected = () => `up ${[...sim.fridges.values()].filter((f) => f.client.connected).length}/${sim.fridges.size}`;
  // Errors go to stderr as they happen: the first ten, then every hundredth, so an outage cannot flood the terminal.
  sim.stats.onError = (message, nth) => {
    if (nth <= 10 || nth % 100 === 0) stderr.write(`${tty ? '\r\x1b[2K' : ''}fridgesync sim: error #${nth}: ${message}\n`);
  };
  const stopProgress = startProgress({ stats: sim.stats, out: stdout, tty, extra: connected });
  try {
    const durationMs = cfg.durationMs === 0 ? 2 ** 31 - 1 : cfg.durationMs;
    const report = await sim.run(durationMs, abort.signal).catch(async (e: Error) => {
      await sim.stop().catch(() => undefined);
      throw e;
    });
    stopProgress();
    stdout.write(`${formatSummary(report)}\n`);
    if (cfg.report) await writeFile(cfg.report, `${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  } catch (e) {
    stopProgress();
    stderr.write(`fridgesync sim: ${(e as Error).message}\n`);
    return 2;
  } finally {
    if (io.signals !== false) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

function optional<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

/** The fleet file, or one generated from the shape flags; `--url`s fill venues without a broker. */
async function resolveFleet(cfg: SimConfig): Promise<FleetSpec> {
  const base = cfg.fleetFile
    ? await loadFleetFile(cfg.fleetFile)
    : generateFleet({ venues: cfg.venues, fridges: cfg.fridges, meals: cfg.meals, par: cfg.par, secretSeed: cfg.secretSeed });
  const prefix = cfg.topicPrefix ?? base.topicPrefix;
  const venues = base.venues.map((v, i) => {
    const brokerUrl = cfg.venueUrls[v.venueId] ?? v.brokerUrl ?? (cfg.urls.length > 0 ? cfg.urls[i % cfg.urls.length] : undefined);
    const kioskUrl = cfg.kioskUrls[v.venueId] ?? v.kioskUrl;
    const kioskToken = cfg.kioskTokens[v.venueId] ?? v.kioskToken;
    return { ...v, ...(brokerUrl ? { brokerUrl } : {}), ...(kioskUrl ? { kioskUrl } : {}), ...(kioskToken ? { kioskToken } : {}) };
  });
  const unknown = [...Object.keys(cfg.venueUrls), ...Object.keys(cfg.kioskUrls), ...Object.keys(cfg.kioskTokens)].filter((id) => !base.venues.some((v) => v.venueId === id));
  if (unknown.length > 0) throw new FleetFileError([`unknown venue(s) in --venue-url/--kiosk-url/--kiosk-token: ${[...new Set(unknown)].join(', ')}`], 'arguments');
  return { ...base, topicPrefix: prefix, venues };
}
