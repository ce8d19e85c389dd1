import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSimArgs, UsageError } from '../src/cli-args.ts';
import { FleetFileSchema } from '../src/fleet-spec.ts';
import { main } from '../src/main.ts';
import { teardown, type Teardown } from './helpers.ts';

const steps: Teardown = [];
afterEach(() => teardown(steps));

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
    steps.push(() => rm(dir, { recursive: true, force: true }));
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
