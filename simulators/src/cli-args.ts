/**
 * `fridgesync sim` flags → validated {@link SimConfig}. Every problem is collected and reported at
 * once; nothing here reads the environment (main.ts passes what it needs).
 */
import { z } from 'zod';
import { parseCommandLine, UsageError } from '@fridgesync/shared/command-line';
import { parseFaults, type FaultSettings } from './faults.ts';
import { BrokerUrlSchema, HttpUrlSchema } from './fleet-spec.ts';
import { parseDuration, parseKitchenSchedule, type KitchenSchedule } from './schedule.ts';

/** The `--help` text. */
export const HELP = `Usage: fridgesync sim [options]

Simulates a fleet of smart fridges over MQTT, customers ordering through central's app API (and
venue kiosks), walk-ins, and a kitchen restocking on a schedule; injects faults; checks as a client
that no order is confirmed beyond a fridge's physical stock and that central's catalog converges.
Exit status: 0 all checks passed, 1 a check failed, 2 bad arguments or setup.

Fleet (a fleet file, or generated from the shape flags):
  --fleet FILE                 fleet file (JSON, see simulators/README.md): venues, fridges, secrets, URLs
  --venues N                   venues to generate (default 3; two per city)
  --fridges N                  fridges per venue (default 4)
  --meals N                    meals in the catalog (default 12)
  --par N                      units per meal when a fridge is full (default 5)
  --secret-seed S              key of the derived fridge secrets, hmac-sha256(S, fridgeId) (default fridgesync-demo)
  --write-fleet FILE           write the fleet file ('-' for stdout) and exit

Where the system is:
  --url URL                    MQTT broker (repeat for several; venues take them in turn)
  --venue-url VENUE=URL        broker of one venue (repeatable; beats --url and the fleet file)
  --kiosk-url VENUE=URL        gateway kiosk of one venue (repeatable)
  --kiosk-token VENUE=TOKEN    bearer token of that venue's kiosk (its http.kioskToken; repeatable)
  --central URL                central base URL, e.g. http://127.0.0.1:8080
  --app-token T                bearer token with the app role   (env FRIDGESYNC_SIM_APP_TOKEN)
  --kitchen-token T            bearer token with the kitchen role (env FRIDGESYNC_SIM_KITCHEN_TOKEN)
  --topic-prefix P             topic prefix before fridges/ (empty or ending in /)

Load:
  --interval DUR               snapshot period per fridge (default 5s)
  --duration DUR               how long to run; 0 runs until Ctrl-C (default 60s)
  --qos 0|1                    QoS of inventory and pickup messages (default 1)
  --window N                   QoS 1 publishes in flight per fridge (default 32)
  --seed S                     seed of every random choice (default 1)
  --run-id ID                  prefix of order/delivery ids (default: from the start time)
  --customers-per-minute N     app/kiosk orders per minute, whole fleet (default 30)
  --walk-in-rate N             walk-in takes per minute, whole fleet (default 10)
  --kiosk-share P              share of orders placed at the venue kiosk (default 0.2)
  --hold DUR                   hold asked for per order (default 2m)
  --kitchen-schedule SPEC      off | DUR | every:DUR | HH:MM[,HH:MM…] local time (default every:2m)

Faults:
  --faults SPEC                comma list: duplicate[=p] reorder[=p] reboot[=p] forget-boot[=p]
                               link-cut[=EVERY/FOR] gateway-kill[=EVERY/FOR]
  --fault-hook CMD             run "CMD ACTION VENUE" for link-cut, link-restore, gateway-kill,
                               gateway-restart (required by link-cut and gateway-kill)

Checks and output:
  --check-grace DUR            time the system gets to learn of a walk-in (default max(15s, 3×interval))
  --converge-timeout DUR       how long the catalog may take to converge (default 30s)
  --connect-timeout DUR        how long each fridge may take to connect at start (default 15s)
  --report FILE                write the JSON report
  -h, --help, -v, --version

Durations: 500ms, 30s, 5m, 2h, or a bare number of seconds.
`;

/** Everything `fridgesync sim` needs, validated. */
export interface SimConfig {
  fleetFile?: string;
  venues: number;
  fridges: number;
  meals: number;
  par: number;
  secretSeed: string;
  writeFleet?: string;
  urls: string[];
  venueUrls: Record<string, string>;
  kioskUrls: Record<string, string>;
  /** Kiosk bearer token per venue (`--kiosk-token VENUE=TOKEN`), overriding the fleet file's `kioskToken`. */
  kioskTokens: Record<string, string>;
  central?: string;
  appToken?: string;
  kitchenToken?: string;
  topicPrefix?: string;
  intervalMs: number;
  durationMs: number;
  qos: 0 | 1;
  window: number;
  seed: string;
  runId?: string;
  customersPerMinute: number;
  walkInsPerMinute: number;
  kioskShare: number;
  holdSeconds: number;
  kitchen: KitchenSchedule;
  faults: FaultSettings;
  faultHook?: string;
  checkGraceMs?: number;
  convergeTimeoutMs: number;
  connectTimeoutMs: number;
  report?: string;
}

/** What the command line asked for. */
export type ParsedArgs = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Readonly<SimConfig> };

const OPTIONS = {
  fleet: { type: 'string' }, venues: { type: 'string' }, fridges: { type: 'string' }, meals: { type: 'string' },
  par: { type: 'string' }, 'secret-seed': { type: 'string' }, 'write-fleet': { type: 'string' },
  url: { type: 'string', multiple: true }, 'venue-url': { type: 'string', multiple: true }, 'kiosk-url': { type: 'string', multiple: true }, 'kiosk-token': { type: 'string', multiple: true },
  central: { type: 'string' }, 'app-token': { type: 'string' }, 'kitchen-token': { type: 'string' }, 'topic-prefix': { type: 'string' },
  interval: { type: 'string' }, duration: { type: 'string' }, qos: { type: 'string' }, window: { type: 'string' },
  seed: { type: 'string' }, 'run-id': { type: 'string' }, 'customers-per-minute': { type: 'string' }, 'walk-in-rate': { type: 'string' },
  'kiosk-share': { type: 'string' }, hold: { type: 'string' }, 'kitchen-schedule': { type: 'string' },
  faults: { type: 'string' }, 'fault-hook': { type: 'string' }, 'check-grace': { type: 'string' },
  'converge-timeout': { type: 'string' }, 'connect-timeout': { type: 'string' }, report: { type: 'string' },
} as const;

/** Parses `argv` (without the `sim` word); `env` supplies token fallbacks. Throws {@link UsageError}. */
export function parseSimArgs(argv: readonly string[], env: Record<string, string | undefined> = {}): ParsedArgs {
  const values: Record<string, string | string[] | boolean | undefined> = parseCommandLine(argv, OPTIONS, false).values;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const problems: string[] = [];
  const str = (k: string) => values[k] as string | undefined;
  const list = (k: string) => (values[k] as string[] | undefined) ?? [];
  const attempt = <T>(flag: string, f: () => T, dflt: T): T => {
    try {
      return f();
    } catch (e) {
      problems.push(`--${flag}: ${(e as Error).message}`);
      return dflt;
    }
  };
  const int = (flag: string, dflt: number, min: number, max: number): number => {
    const v = str(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`--${flag}: expected an integer from ${min} to ${max}, got "${v}"`);
      return dflt;
    }
    return n;
  };
  const num = (flag: string, dflt: number, min: number, max: number): number => {
    const v = str(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      problems.push(`--${flag}: expected a number from ${min} to ${max}, got "${v}"`);
      return dflt;
    }
    return n;
  };
  const dur = (flag: string, dflt: number, min: number): number => {
    const v = str(flag);
    if (v === undefined) return dflt;
    const ms = attempt(flag, () => parseDuration(v), dflt);
    if (ms < min) problems.push(`--${flag}: at least ${min} ms, got "${v}"`);
    return ms;
  };
  const pairs = (flag: string, schema: z.ZodType<string>, what = 'URL'): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const p of list(flag)) {
      const i = p.indexOf('=');
      const value = p.slice(i + 1);
      if (i <= 0) problems.push(`--${flag}: expected VENUE=${what}, got "${p}"`);
      else if (!schema.safeParse(value).success) problems.push(`--${flag}: "${what === 'URL' ? value : '…'}" is not a valid ${what}`);
      else out[p.slice(0, i)] = value;
    }
    return out;
  };

  const urls = list('url');
  for (const u of urls) if (!BrokerUrlSchema.safeParse(u).success) problems.push(`--url: "${u}" is not a broker URL (mqtt://host:port)`);
  const central = str('central');
  if (central !== undefined && !HttpUrlSchema.safeParse(central).success) problems.push(`--central: "${central}" is not an http(s) URL`);
  const qosRaw = str('qos') ?? '1';
  if (qosRaw !== '0' && qosRaw !== '1') problems.push(`--qos: 0 or 1, got "${qosRaw}"`);
  const prefix = str('topic-prefix');
  if (prefix !== undefined && prefix !== '' && !prefix.endsWith('/')) problems.push(`--topic-prefix: must be empty or end with /, got "${prefix}"`);
  const faults = attempt('faults', () => parseFaults(str('faults') ?? ''), parseFaults(''));
  const faultHook = str('fault-hook');
  if ((faults.linkCut || faults.gatewayKill) && !faultHook)
    problems.push('--faults link-cut/gateway-kill need --fault-hook CMD (the simulator reaches the system only over the network; the hook cuts links and kills gateways)');
  const checkGrace = str('check-grace') === undefined ? undefined : dur('check-grace', 0, 0);

  const config: SimConfig = {
    ...(str('fleet') ? { fleetFile: str('fleet')! } : {}),
    venues: int('venues', 3, 1, 10_000),
    fridges: int('fridges', 4, 1, 10_000),
    meals: int('meals', 12, 1, 256),
    par: int('par', 5, 0, 10_000),
    secretSeed: str('secret-seed') ?? 'fridgesync-demo',
    ...(str('write-fleet') ? { writeFleet: str('write-fleet')! } : {}),
    urls,
    venueUrls: pairs('venue-url', BrokerUrlSchema),
    kioskUrls: pairs('kiosk-url', HttpUrlSchema),
    kioskTokens: pairs('kiosk-token', z.string().min(1).max(512), 'TOKEN'),
    ...(central ? { central } : {}),
    ...(str('app-token') ?? env.FRIDGESYNC_SIM_APP_TOKEN ? { appToken: (str('app-token') ?? env.FRIDGESYNC_SIM_APP_TOKEN)! } : {}),
    ...(str('kitchen-token') ?? env.FRIDGESYNC_SIM_KITCHEN_TOKEN ? { kitchenToken: (str('kitchen-token') ?? env.FRIDGESYNC_SIM_KITCHEN_TOKEN)! } : {}),
    ...(prefix !== undefined ? { topicPrefix: prefix } : {}),
    intervalMs: dur('interval', 5_000, 10),
    durationMs: dur('duration', 60_000, 0),
    qos: qosRaw === '0' ? 0 : 1,
    window: int('window', 32, 1, 10_000),
    seed: str('seed') ?? '1',
    ...(str('run-id') ? { runId: str('run-id')! } : {}),
    customersPerMinute: num('customers-per-minute', 30, 0, 1_000_000),
    walkInsPerMinute: num('walk-in-rate', 10, 0, 1_000_000),
    kioskShare: num('kiosk-share', 0.2, 0, 1),
    holdSeconds: Math.round(dur('hold', 120_000, 1_000) / 1_000),
    kitchen: attempt('kitchen-schedule', () => parseKitchenSchedule(str('kitchen-schedule') ?? 'every:2m'), { kind: 'off' } as KitchenSchedule),
    faults,
    ...(faultHook ? { faultHook } : {}),
    ...(checkGrace !== undefined ? { checkGraceMs: checkGrace } : {}),
    convergeTimeoutMs: dur('converge-timeout', 30_000, 0),
    connectTimeoutMs: dur('connect-timeout', 15_000, 100),
    ...(str('report') ? { report: str('report')! } : {}),
  };
  if (config.fleetFile) {
    const shape = ['venues', 'fridges', 'meals', 'par', 'secret-seed'].filter((k) => values[k] !== undefined);
    if (shape.length > 0) problems.push(`${shape.map((k) => `--${k}`).join(', ')}: the fleet comes from --fleet; these shape flags would be ignored`);
  }
  const runId = config.runId;
  if (runId !== undefined && !/^[A-Za-z0-9._-]{1,40}$/.test(runId)) problems.push(`--run-id: 1-40 characters of A-Z a-z 0-9 . _ -, got "${runId}"`);
  if (!config.writeFleet && !config.fleetFile && urls.length === 0 && Object.keys(config.venueUrls).length === 0)
    problems.push('no broker: give --url mqtt://host:port, --venue-url VENUE=URL, or a --fleet file with brokerUrl per venue');
  if (problems.length > 0) throw new UsageError(problems);
  return { kind: 'run', config: Object.freeze(config) };
}
