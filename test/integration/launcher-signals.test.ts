/**
 * Signals reach the program that holds the ports and the store (docs/operations.md "Exit status"):
 * SIGTERM to the `fridgesync` process a supervisor started stops the gateway gracefully and leaves
 * no process behind; `fridgesync bench` passes signals to its benchmark and returns its status; one
 * Ctrl-C on `npm start` (SIGINT to the terminal's process group) stops the demo once, cleanly.
 * Linux only (process trees are read from /proc).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLevelStore } from '@fridgesync/gateway-agent';
import { alive, descendants, exitsWithin, freePort, portClosed, ROOT, spawnCli } from './helpers/cli.ts';
import { useTeardown, waitFor } from '@fridgesync/shared/test-harness';

const { defer, tempDir } = useTeardown();

const linux = existsSync('/proc/self/stat');
if (!linux) console.warn('SKIPPED launcher signal tests: they read process trees from /proc (Linux only)');

describe.runIf(linux)('the fridgesync launcher and signals', () => {
  it('SIGTERM to the spawned command stops the gateway: port closed, store lock released, no process left', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const s = await openLevelStore(dataDir);
    await s.writeMeta({ gatewayId: 'gw1', venueId: 'v1', epoch: 1, state: 'active', updatedAt: Date.now() } as never);
    await s.close();
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        gatewayId: 'gw1',
        venueId: 'v1',
        logLevel: 'info',
        storage: { dataDir },
        mqtt: { embedded: { host: '127.0.0.1', port: mqttPort } },
        http: { host: '127.0.0.1', port: httpPort },
      }),
    );
    const p = spawnCli(defer, ['gateway', '--config', file]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok, 30_000, 'gateway ready');
    const tree = [p.child.pid!, ...descendants(p.child.pid!)];
    defer(() => killAll(tree));
    p.child.kill('SIGTERM');
    expect(await exitsWithin(p, 15_000), p.output()).toBe(0);
    await waitFor(() => tree.every((pid) => !alive(pid)), 15_000, 'no process of the command left');
    expect(await portClosed(httpPort)).toBe(true);
    expect(await portClosed(mqttPort)).toBe(true);
    // The LevelDB lock is free: the store opens in this process.
    const again = await openLevelStore(dataDir);
    await again.close();
    expect(p.output()).toContain('"msg":"stopped"');
  });

  it('fridgesync bench passes SIGTERM to the benchmark and returns its status', async () => {
    const p = spawnCli(defer, ['bench', 'doc-growth', '--seed', '1']);
    // The benchmark runs for minutes; wait until its process exists, then stop the command.
    let tree: number[] = [];
    let found = '';
    await waitFor(() => {
      tree = descendants(p.child.pid!);
      found = tree.map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`).join('\n');
      return found.includes('doc-growth.ts');
    }, 30_000, 'benchmark process started');
    defer(() => killAll(tree));
    p.child.kill('SIGTERM');
    // 143 = 128 + SIGTERM: the benchmark's own status, passed back.
    expect(await exitsWithin(p, 15_000), `${p.output()}\nprocesses seen:\n${found}`).toBe(143);
    await waitFor(() => tree.every((pid) => !alive(pid)), 15_000, 'no process of the command left');
  });

  // With bash as the script shell, `bash -c` execs the command: the demo is npm's own child, gets
  // the group's SIGINT and npm's forwarded copy, and must still stop once.
  const shells = ['default', ...(existsSync('/bin/bash') ? ['/bin/bash'] : [])];
  if (!shells.includes('/bin/bash')) console.warn('SKIPPED npm start with --script-shell=/bin/bash: install bash');
  it.each(shells)('one Ctrl-C on npm start (script shell %s) stops the demo once and cleanly', async (shell) => {
    const data = tempDir('fs-demo-');
    // A terminal's foreground job: npm and everything it starts share one process group, and
    // Ctrl-C sends SIGINT to that whole group.
    const npmArgs = [...(shell === 'default' ? [] : [`--script-shell=${shell}`]), 'start', '--', '--data', data, '--seed', '1'];
    const p = spawnCli(defer, npmArgs, { command: 'npm', cwd: ROOT, detached: true, env: { ...process.env, CI: 'true' } });
    await waitFor(() => p.output().includes('Ctrl-C stops everything'), 150_000, 'demo running');
    const tree = [p.child.pid!, ...descendants(p.child.pid!)];
    expect(tree.length).toBeGreaterThanOrEqual(5); // npm, the demo, central, three gateways (and a shell)
    defer(() => killAll(tree));
    process.kill(-p.child.pid!, 'SIGINT');
    await exitsWithin(p, 60_000);
    const out = p.output();
    expect(out).not.toContain('second signal');
    expect(out).toContain('stopped. Run `npm start` again');
    expect(out.match(/stopping: simulator, gateways, central/g)?.length).toBe(1);
    await waitFor(() => tree.every((pid) => !alive(pid)), 15_000, 'no process of the demo left');
    // Every gateway and central shut down gracefully, once, by the demo's SIGTERM.
    const logs = readdirSync(join(data, 'logs'));
    expect(logs.filter((l) => l.startsWith('gateway-'))).toHaveLength(3);
    for (const l of logs) {
      const text = readFileSync(join(data, 'logs', l), 'utf8');
      expect(text, l).not.toContain('second signal');
      if (l.startsWith('gateway-')) {
        expect(text.match(/shutting down gracefully/g)?.length, l).toBe(1);
        expect(text, l).toContain('"msg":"stopped"');
      } else {
        expect(text.match(/"msg":"shutting down"/g)?.length, l).toBe(1);
      }
    }
  }, 240_000);

  it('central and the gateways stop by themselves when the demo is killed with SIGKILL', async () => {
    const data = tempDir('fs-demo-');
    const p = spawnCli(defer, ['demo', '--data', data, '--seed', '1'], { env: { ...process.env, CI: 'true' } });
    await waitFor(() => p.output().includes('Ctrl-C stops everything'), 150_000, 'demo running');
    const children = descendants(p.child.pid!);
    expect(children.length).toBeGreaterThanOrEqual(4);
    defer(() => killAll(children));
    p.child.kill('SIGKILL');
    await waitFor(() => children.every((pid) => !alive(pid)), 30_000, 'no process of the demo left');
    for (const l of readdirSync(join(data, 'logs')).filter((n) => n.startsWith('gateway-'))) {
      expect(readFileSync(join(data, 'logs', l), 'utf8'), l).toContain('"msg":"stopped"');
    }
  }, 240_000);
});

/** Teardown after a failed assertion: nothing the test started outlives it. */
function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
