import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@fridgesync/shared/command-line';
import { parseSimArgs } from '../src/cli-args.ts';
import { FleetFileSchema } from '../src/fleet-spec.ts';
import { main } from '../src/main.ts';
import { useTeardown } from '@fridgesync/shared/test-harness';

const { defer } = useTeardown();

function sink(): Writable & { text: () => string } {
  let s = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      s += chunk.toString();
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => s;
  return w;
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr, env, signals: false });
  return { code, out: stdout.text(), err: stderr.text() };
}

describe('fridgesync sim command line', () => {
  it('--help lists the flags and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--url', '--venue-url', '--central', '--venues', '--fridges', '--meals', '--interval', '--duration', '--qos', '--seed',
      '--customers-per-minute', '--walk-in-rate', '--kitchen-schedule', '--faults', '--fault-hook', '--report', '--fleet', '--version'])
      expect(r.out).toContain(flag);
  });

  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^fridgesync sim \d+\.\d+\.\d+\n$/);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--url', 'mqtt://x:1', '--qos', '2'], /--qos: 0 or 1, got "2"/],
    [['--url', 'mqtt://x:1', '--interval', 'soon'], /--interval: "soon" is not a duration/],
    [['--url', 'http//nope'], /--url: "http\/\/nope" is not a broker URL/],
    [['--url', 'mqtt://x:1', '--faults', 'link-cut'], /link-cut\/gateway-kill need --fault-hook/],
    [['--url', 'mqtt://x:1', '--faults', 'meteor'], /unknown fault "meteor"/],
    [['--url', 'mqtt://x:1', '--faults', 'duplicate=2'], /probability between 0 and 1/],
    [['--url', 'mqtt://x:1', '--venues', '0'], /--venues: expected an integer from 1/],
    [['--url', 'mqtt://x:1', '--kitchen-schedule', '25:00'], /not a time of day/],
    [['--venue-url', 'nourl'], /expected VENUE=URL/],
    [[], /no broker: give --url/],
    [['--fleet', 'f.json', '--venues', '2'], /--venues: the fleet comes from --fleet/],
  ])('rejects %j with a clear message and exit status 2', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain("Try 'fridgesync sim --help'");
    expect(r.out).toBe('');
  });

  it('reports every problem at once', () => {
    try {
      parseSimArgs(['--qos', '3', '--interval', 'x', '--meals', '999']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).problems.length).toBeGreaterThanOrEqual(4);
    }
  });

  it('takes a kiosk token per venue (--kiosk-token VENUE=TOKEN) and refuses a malformed one', async () => {
    const r = parseSimArgs(['--url', 'mqtt://127.0.0.1:1883', '--kiosk-url', 'v1=http://127.0.0.1:8081', '--kiosk-token', 'v1=k-secret=with-equals']);
    expect(r.kind === 'run' && r.config.kioskTokens).toEqual({ v1: 'k-secret=with-equals' });
    expect(() => parseSimArgs(['--url', 'mqtt://127.0.0.1:1883', '--kiosk-token', 'no-venue'])).toThrow(/--kiosk-token: expected VENUE=TOKEN/);
    expect((await run(['--url', 'mqtt://127.0.0.1:1', '--kiosk-token', 'v9=tok'])).err).toMatch(/unknown venue\(s\).*v9/);
  });

  it('rejects an unknown venue in --venue-url and a missing fleet file', async () => {
    expect((await run(['--venue-url', 'v9=mqtt://127.0.0.1:1'])).err).toMatch(/unknown venue\(s\).*v9/);
    const r = await run(['--fleet', '/nonexistent/fleet.json']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/invalid \/nonexistent\/fleet.json/);
  });

  it('fails fast with exit 2 when the broker is unreachable', async () => {
    const r = await run(['--url', 'mqtt://127.0.0.1:1', '--venues', '1', '--fridges', '1', '--duration', '1s', '--connect-timeout', '500ms']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/v1-f1/);
  });

  it('--write-fleet writes a valid fleet file with derived secrets and the given brokers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'fleet.json');
    const r = await run(['--write-fleet', file, '--venues', '3', '--fridges', '2', '--meals', '4', '--url', 'mqtt://a:1', '--url', 'mqtt://b:2', '--venue-url', 'v3=mqtt://c:3']);
    expect(r.code).toBe(0);
    const fleet = FleetFileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    expect(fleet.venues.map((v) => v.brokerUrl)).toEqual(['mqtt://a:1', 'mqtt://b:2', 'mqtt://c:3']);
    expect(fleet.venues.map((v) => v.city)).toEqual(['Berlin', 'Berlin', 'Munich']);
    expect(fleet.venues[0]!.fridges[0]!.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(fleet.meals).toHaveLength(4);
  });
});

describe('fridgesync sim runs', () => {
  it('runs against a broker, prints the summary table, writes the report, exits 0 when checks pass', async () => {
    const { startBroker } = await import('./helpers.ts');
    const { generateFleet } = await import('../src/fleet-spec.ts');
    const spec = generateFleet({ venues: 1, fridges: 2, meals: 2 });
    const broker = await startBroker(Object.fromEntries(spec.venues[0]!.fridges.map((f) => [f.fridgeId, f.secret])));
    defer(() => broker.close());
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const report = join(dir, 'report.json');
    const r = await run(['--url', broker.url, '--venues', '1', '--fridges', '2', '--meals', '2', '--duration', '800ms', '--interval', '200ms', '--seed', '9', '--report', report], { CI: 'true' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fridgesync sim — run \S+, seed 9/);
    expect(r.out).toMatch(/snapshots\s+\d+/);
    expect(r.out).toMatch(/check: no oversell\s+PASS/);
    expect(r.out).toMatch(/check: catalog\s+skipped \(no central URL given\)/);
    expect(r.out).not.toContain('\r'); // CI: no in-place status line
    const json = JSON.parse(await readFile(report, 'utf8')) as { ok: boolean; seed: string; counters: { inventoryPublished: number } };
    expect(json.ok).toBe(true);
    expect(json.seed).toBe('9');
    expect(json.counters.inventoryPublished).toBeGreaterThanOrEqual(4);
  });

  it('exits 1 with FAIL lines when a check fails', async () => {
    const { startBroker, startHttp } = await import('./helpers.ts');
    const { generateFleet } = await import('../src/fleet-spec.ts');
    const spec = generateFleet({ venues: 1, fridges: 1, meals: 1, par: 1 });
    const broker = await startBroker(Object.fromEntries(spec.venues[0]!.fridges.map((f) => [f.fridgeId, f.secret])));
    defer(() => broker.close());
    // Confirms every order and shows an empty catalog: oversells, and never converges.
    const central = await startHttp((req) => (req.url === '/v1/orders' ? { status: 201, body: {} } : { status: 200, body: { venues: [] } }));
    defer(() => central.close());
    const r = await run(['--url', broker.url, '--central', central.url, '--venues', '1', '--fridges', '1', '--meals', '1', '--par', '1', '--duration', '1s',
      '--customers-per-minute', '600', '--walk-in-rate', '0', '--kitchen-schedule', 'off', '--converge-timeout', '300ms', '--hold', '1m']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/check: no oversell\s+FAIL/);
    expect(r.out).toMatch(/result\s+FAILED/);
  });
});
