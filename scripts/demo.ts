/**
 * `fridgesync demo` (what `npm start` runs): the whole system on one machine with embedded
 * defaults. Central, three venues in two cities with one gateway each (embedded MQTT broker),
 * four fridges per venue with a dozen meals, simulated customers, walk-ins, pickups and a kitchen,
 * and one venue whose link to central drops for a while and comes back. Prints the dashboard URL
 * with a viewer token and a live one-line summary. Ctrl-C shuts everything down cleanly; running
 * it again resumes from the stored state under `--data` (default `.data/demo`).
 *
 * Central and the gateways run as separate processes (`fridgesync central|gateway --config …`),
 * exactly as an operator would run them; the simulator runs in this process and reaches them only
 * over the network.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { EXIT_USAGE, formatUsageError, parseCommandLine, UsageError } from '@fridgesync/shared/command-line';
import { hashSecret } from '@fridgesync/gateway-agent';
import { stopSignals, type VenueDetailJson } from '@fridgesync/shared';
import { hashToken } from '@fridgesync/server';
import { createFleet, generateFleet, parseFaults, parseKitchenSchedule, type Fleet, type FleetSpec } from '@fridgesync/simulators';
import { startLinkProxy, type LinkProxy } from './demo/link-proxy.ts';

const ROOT = resolve(import.meta.dirname, '..');
const USAGE = `Usage: fridgesync demo [--data DIR] [--duration SECONDS] [--seed N]

Runs central, three gateways (embedded brokers) and a simulated fleet on this machine.
  --data DIR        where everything is stored (default .data/demo); delete it to start over
  --duration S      stop after S seconds (default: run until Ctrl-C)
  --seed N          simulator seed (default: a new one per run)
  --link-cut S/S    cut the third venue's link every A seconds for B seconds (default 150/45)
  -h, --help        this text
  -v, --version     print the version
`;

const OPTIONS = {
  data: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  'link-cut': { type: 'string' },
} as const;

/** What the demo keeps between runs: the fleet, tokens and fridge secret hashes. */
interface DemoState {
  fleet: FleetSpec;
  tokens: { app: string; kitchen: string; viewer: string; admin: string; gateways: Record<string, string>; kiosks?: Record<string, string> };
  secretHashes: Record<string, string>;
  runs: number;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const token = () => randomBytes(18).toString('base64url');

async function loadOrCreateState(dir: string): Promise<DemoState> {
  const file = join(dir, 'demo-state.json');
  if (existsSync(file)) {
    const state = JSON.parse(readFileSync(file, 'utf8')) as DemoState;
    // A state file without kiosk tokens gets them, written back so the next runs use the same ones.
    if (state.tokens.kiosks === undefined) {
      state.tokens.kiosks = Object.fromEntries(state.fleet.venues.map((v) => [v.venueId, token()]));
      writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
    }
    return state;
  }
  const fleet = generateFleet({ venues: 3, fridges: 4, meals: 12 });
  const secretHashes: Record<string, string> = {};
  for (const v of fleet.venues) for (const f of v.fridges) secretHashes[f.fridgeId] = hashSecret(f.secret);
  const state: DemoState = {
    fleet,
    tokens: {
      app: token(),
      kitchen: token(),
      viewer: token(),
      admin: token(),
      gateways: Object.fromEntries(fleet.venues.map((v) => [v.venueId, token()])),
      kiosks: Object.fromEntries(fleet.venues.map((v) => [v.venueId, token()])),
    },
    secretHashes,
    runs: 0,
  };
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

function centralConfig(state: DemoState, port: number, dataDir: string): unknown {
  const { fleet, tokens } = state;
  return {
    instanceId: 'c1',
    http: { host: '127.0.0.1', port },
    storage: { engine: 'level', dataDir },
    tokens: [
      { role: 'app', name: 'demo-app', hash: hashToken(tokens.app) },
      { role: 'kitchen', name: 'demo-kitchen', hash: hashToken(tokens.kitchen) },
      { role: 'viewer', name: 'demo-viewer', hash: hashToken(tokens.viewer) },
      { role: 'admin', name: 'demo-admin', hash: hashToken(tokens.admin) },
      ...fleet.venues.map((v) => ({ role: 'gateway', name: `gateway-${v.venueId}`, hash: hashToken(tokens.gateways[v.venueId]!), venueId: v.venueId, gatewayId: v.gatewayId })),
    ],
    registry: {
      venues: fleet.venues.map((v) => ({
        id: v.venueId,
        name: v.name ?? v.venueId,
        city: v.city,
        timezone: v.timezone ?? 'UTC',
        gateways: [{ id: v.gatewayId, name: `${v.name ?? v.venueId} gateway` }],
        fridges: v.fridges.map((f) => ({ id: f.fridgeId, ...(f.name ? { name: f.name } : {}), reconciler: v.gatewayId, par: f.par })),
      })),
      meals: fleet.meals.map((m) => ({ id: m.mealId, name: m.name ?? m.mealId, priceCents: m.priceCents ?? 500 })),
    },
    logLevel: 'info',
  };
}

function gatewayConfig(state: DemoState, venueIndex: number, ports: { mqtt: number; http: number }, centralWsUrl: string, dataDir: string): unknown {
  const v = state.fleet.venues[venueIndex]!;
  return {
    gatewayId: v.gatewayId,
    venueId: v.venueId,
    mqtt: { embedded: { host: '127.0.0.1', port: ports.mqtt }, fridges: Object.fromEntries(v.fridges.map((f) => [f.fridgeId, state.secretHashes[f.fridgeId]!])) },
    central: { url: centralWsUrl, token: state.tokens.gateways[v.venueId]!, backoffMaxMs: 5_000 },
    // The kiosk API needs its token even on loopback, as at a venue whose kiosk is another device.
    http: { host: '127.0.0.1', port: ports.http, kioskToken: state.tokens.kiosks![v.venueId]! },
    storage: { dataDir },
    logLevel: 'info',
  };
}

/**
 * A child process running one `fridgesync` subcommand, writing its log file itself (so the log
 * survives the demo). It leads its own process group, so a Ctrl-C in the terminal reaches the demo
 * only, and the demo stops the processes once, in order (gateways first, so they can retire while
 * central still listens). The IPC channel makes a child stop by itself when the demo goes away
 * without stopping it (fridgesync.ts).
 */
function startProcess(name: string, args: string[], logDir: string): ChildProcess {
  const log = openSync(join(logDir, `${name}.log`), 'a');
  try {
    return spawn(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', join(ROOT, 'fridgesync.ts'), ...args], {
      stdio: ['ignore', log, log, 'ipc'],
      cwd: ROOT,
      detached: true,
    });
  } finally {
    closeSync(log); // the child holds its own copy
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`${what} exited with code ${child.exitCode} (see its log)`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s (see its log)`);
}

async function getJson(url: string, bearer?: string): Promise<unknown> {
  const res = await fetch(url, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

/** Venues online and the worst sync lag, from central's merged state. */
async function syncSummary(base: string, viewer: string, venues: string[]): Promise<{ online: number; lagMs: number; pending: number }> {
  let online = 0;
  let lagMs = 0;
  let pending = 0;
  await Promise.all(
    venues.map(async (v) => {
      const d = (await getJson(`${base}/v1/venues/${v}`, viewer).catch(() => undefined)) as VenueDetailJson | undefined;
      for (const g of d?.gateways ?? []) {
        if (g.connected) online++;
        lagMs = Math.max(lagMs, g.syncLagMs ?? 0);
        pending += g.pendingDurable;
      }
    }),
  );
  return { online, lagMs, pending };
}

function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise<void>((r) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      r();
    });
    child.kill('SIGTERM');
  });
}

/** Runs the demo; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCommandLine(argv, OPTIONS, false).values;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(formatUsageError('fridgesync demo', e.problems));
    return EXIT_USAGE;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };
    process.stdout.write(`fridgesync demo ${version}\n`);
    return 0;
  }
  const [cutEvery, cutFor] = (args['link-cut'] ?? '150/45').split('/').map(Number) as [number, number];
  if (!(cutEvery > 0 && cutFor > 0 && cutFor < cutEvery)) {
    process.stderr.write(formatUsageError('fridgesync demo', ['--link-cut must be EVERY/FOR in seconds with FOR < EVERY']));
    return EXIT_USAGE;
  }
  const dir = resolve(args.data ?? '.data/demo');
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const state = await loadOrCreateState(dir);
  state.runs++;
  writeFileSync(join(dir, 'demo-state.json'), JSON.stringify(state, null, 2), { mode: 0o600 });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`fridgesync demo (run ${state.runs}) — data in ${dir}, logs in ${logDir}`);

  const children: ChildProcess[] = [];
  const proxies: LinkProxy[] = [];
  let fleet: Fleet | undefined;
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  let resolveStop!: () => void;
  const stopped = new Promise<void>((r) => (resolveStop = r));
  // One Ctrl-C may arrive twice (from the terminal and forwarded by npm): see shared signals.ts.
  const signalKind = stopSignals();
  const onSignal = () => {
    const kind = signalKind();
    if (kind === 'same') return;
    if (kind === 'again') {
      say('\nsecond signal: exiting now');
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    resolveStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code = 0;
  try {
    // Central.
    const centralPort = await freePort();
    const base = `http://127.0.0.1:${centralPort}`;
    const centralFile = join(dir, 'central.yaml');
    writeFileSync(centralFile, JSON.stringify(centralConfig(state, centralPort, join(dir, 'central')), null, 2), { mode: 0o600 });
    const central = startProcess('central', ['central', '--config', centralFile], logDir);
    children.push(central);
    await waitFor('central', async () => (await fetch(`${base}/readyz`)).ok, 60_000, central);
    say(`central        ${base}`);

    // Gateways; the third venue reaches central through a link that the demo cuts now and then.
    const kioskUrls: Record<string, string> = {};
    const brokerUrls: Record<string, string> = {};
    const flaky = state.fleet.venues[2]?.venueId;
    let flakyProxy: LinkProxy | undefined;
    for (let i = 0; i < state.fleet.venues.length; i++) {
      const v = state.fleet.venues[i]!;
      const ports = { mqtt: await freePort(), http: await freePort() };
      let wsUrl = `ws://127.0.0.1:${centralPort}`;
      if (v.venueId === flaky) {
        flakyProxy = await startLinkProxy('127.0.0.1', centralPort);
        proxies.push(flakyProxy);
        wsUrl = `ws://127.0.0.1:${flakyProxy.port}`;
      }
      const file = join(dir, `gateway-${v.venueId}.yaml`);
      writeFileSync(file, JSON.stringify(gatewayConfig(state, i, ports, wsUrl, join(dir, `gateway-${v.venueId}`)), null, 2), { mode: 0o600 });
      const gw = startProcess(`gateway-${v.venueId}`, ['gateway', '--config', file], logDir);
      children.push(gw);
      await waitFor(`gateway ${v.gatewayId}`, async () => ((await getJson(`http://127.0.0.1:${ports.http}/status`)) as { lifecycle?: string }).lifecycle === 'active', 60_000, gw);
      brokerUrls[v.venueId] = `mqtt://127.0.0.1:${ports.mqtt}`;
      kioskUrls[v.venueId] = `http://127.0.0.1:${ports.http}`;
      say(`gateway        ${v.gatewayId.padEnd(8)} venue ${v.venueId} (${v.city})  mqtt ${brokerUrls[v.venueId]}  kiosk ${kioskUrls[v.venueId]}${v.venueId === flaky ? '  (flaky link)' : ''}`);
    }

    // The simulated world.
    fleet = createFleet({
      // The simulated kiosk customers send each venue's kiosk token.
      fleet: { ...state.fleet, venues: state.fleet.venues.map((v) => ({ ...v, kioskToken: state.tokens.kiosks![v.venueId]! })) },
      brokerUrls,
      kioskUrls,
      central: { url: base, appToken: state.tokens.app, kitchenToken: state.tokens.kitchen },
      seed: args.seed ?? String(Date.now()),
      intervalMs: 5_000,
      customersPerMinute: 40,
      walkInsPerMinute: 12,
      kitchen: parseKitchenSchedule('every:2m'),
      faults: parseFaults('duplicate=0.02,reorder=0.02'),
    });
    await fleet.start();
    say(`simulator      ${state.fleet.venues.length} venues × ${state.fleet.venues[0]?.fridges.length ?? 0} fridges × ${state.fleet.meals.length} meals; customers, walk-ins, kitchen every 2 min`);
    say('');
    say(`Dashboard: ${base}/dashboard/#token=${state.tokens.viewer}`);
    say(`  (viewer token ${state.tokens.viewer}; app token for POST /v1/orders: ${state.tokens.app})`);
    say(`API docs:  ${base}/documentation`);
    say('Ctrl-C stops everything; run `npm start` again to resume.');
    say('');

    // The flaky link.
    if (flakyProxy !== undefined) {
      const proxy = flakyProxy;
      const cycle = () => {
        timers.push(
          setTimeout(() => {
            if (stopping) return;
            proxy.cut();
            // Tell the simulator's client-side checks that this venue is cut off for a while.
            const ended = fleet?.noteVenueFault(flaky!, 'link-cut');
            say(`\n[link] ${flaky}: link to central cut for ${cutFor} s (the venue keeps selling offline)`);
            timers.push(
              setTimeout(() => {
                proxy.restore();
                ended?.();
                say(`\n[link] ${flaky}: link restored; the gateway resyncs`);
                cycle();
              }, cutFor * 1000),
            );
          }, (cutEvery - cutFor) * 1000),
        );
      };
      cycle();
    }

    // The live summary.
    const tty = process.stdout.isTTY === true && process.env.CI !== 'true';
    const venues = state.fleet.venues.map((v) => v.venueId);
    let prev = { ...fleet.stats.counters };
    let last = Date.now();
    let lastPrinted = 0;
    const tick = async () => {
      if (fleet === undefined || stopping) return;
      const now = Date.now();
      const c = fleet.stats.counters;
      const secs = Math.max(0.001, (now - last) / 1000);
      const sync = await syncSummary(base, state.tokens.viewer, venues);
      const line =
        `orders ${((c.ordersAttempted - (prev.ordersAttempted ?? 0)) / secs).toFixed(1)}/s (${c.ordersConfirmed} ok, ${c.ordersSoldOut} sold out)` +
        `  snapshots ${((c.inventoryPublished - (prev.inventoryPublished ?? 0)) / secs).toFixed(1)}/s` +
        `  venues online ${sync.online}/${venues.length}  sync lag ${(sync.lagMs / 1000).toFixed(1)} s  pending ${sync.pending}` +
        `  walk-ins ${c.walkIns} pickups ${c.pickups} deliveries ${c.deliveries}`;
      prev = { ...c };
      last = now;
      if (tty) process.stdout.write(`\r\x1b[2K${line}`);
      else if (now - lastPrinted >= 10_000) {
        lastPrinted = now;
        say(line);
      }
    };
    timers.push(setInterval(() => void tick(), 2_000));
    for (const c of children) {
      c.once('exit', (exitCode) => {
        if (!stopping) {
          say(`\n${c === central ? 'central' : 'a gateway'} exited unexpectedly (code ${exitCode}); stopping — see ${logDir}`);
          code = 1;
          onSignal();
        }
      });
    }
    if (args.duration !== undefined) timers.push(setTimeout(onSignal, Number(args.duration) * 1000));
    await stopped;
  } catch (e) {
    say(`demo failed: ${(e as Error).message}`);
    code = 1;
  } finally {
    stopping = true;
    say('\nstopping: simulator, gateways, central …');
    for (const t of timers) clearTimeout(t);
    await fleet?.stop().catch(() => undefined);
    for (const p of proxies) p.restore();
    await Promise.all(children.slice(1).map((c) => stopProcess(c, 15_000)));
    if (children[0]) await stopProcess(children[0], 15_000);
    for (const p of proxies) await p.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    say('stopped. Run `npm start` again to resume from the stored state.');
  }
  return code;
}
