/**
 * Running the real `fridgesync` command (bin/fridgesync.js) in tests: spawn it, collect its output,
 * wait for its exit within a bound, and a size-limited tmpfs for real "disk full" and read-only
 * failures. Everything started here is registered with the caller's teardown (`useTeardown` of
 * `@fridgesync/shared/test-harness`).
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The launcher users run (`fridgesync` on the PATH after `npm install`). */
export const BIN = resolve(import.meta.dirname, '../../../bin/fridgesync.js');
/** The repository root (where `npm start` runs). */
export const ROOT = resolve(import.meta.dirname, '../../..');

type Defer = (fn: () => unknown) => void;

/** A spawned command with its combined output so far. */
export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exit: Promise<number | string>;
}

/** Spawns `node bin/fridgesync.js …args` (or another command) and kills it at teardown if still alive. */
export function spawnCli(defer: Defer, args: string[], opts: SpawnOptions & { command?: string } = {}): Spawned {
  const { command, ...spawnOpts } = opts;
  const child = command === undefined ? spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts }) : spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(code ?? signal ?? 'unknown')));
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        // A detached child leads its own process group: take the whole group.
        if (spawnOpts.detached === true && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return { child, output: () => out, exit };
}

/** Resolves with the exit code if `p` exits within `ms`; rejects with its output otherwise. */
export async function exitsWithin(p: Spawned, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms later; output:\n${p.output().slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([p.exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Occupies a loopback port for the test (the EADDRINUSE case). */
export async function occupyPort(defer: Defer): Promise<number> {
  const s: Server = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  defer(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as { port: number }).port;
}

/** A free loopback port (nothing listens on it when this resolves). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh dir (root only); returns undefined, after a loud warning,
 * where mounting is not permitted (the caller skips). Unmounted at teardown.
 */
export function mountTmpfs(defer: Defer, sizeBytes: number, why: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'fs-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    console.warn(`SKIPPED (${why}): cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
  defer(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Remounts a tmpfs from {@link mountTmpfs} read-only (or writable again). */
export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}

/** Fills the file system under `dir` until it reports ENOSPC (the file stays until teardown). */
export function fillDisk(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  try {
    for (const size of [1 << 16, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every live descendant of `pid` (Linux: read from /proc). */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
    } catch {
      // exited while listing
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/** True when nothing accepts TCP connections on the loopback port. */
export async function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/**
 * A directory that can be made read-only for this process: a tmpfs remounted read-only when running
 * as root (root ignores permission bits), permission bits otherwise. Undefined (after a loud
 * warning) when neither is possible.
 */
export function readOnlyCapable(defer: Defer, why: string): { dir: string; makeReadOnly: () => void; code: string } | undefined {
  if (process.getuid?.() === 0) {
    const dir = mountTmpfs(defer, 16 * 1024 * 1024, why);
    if (dir === undefined) return undefined;
    defer(() => remount(dir, 'rw'));
    return { dir, makeReadOnly: () => remount(dir, 'ro'), code: 'EROFS' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fs-ro-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const setMode = (writable: boolean) => {
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        chmodSync(p, e.isDirectory() ? (writable ? 0o755 : 0o555) : writable ? 0o644 : 0o444);
      }
    };
    walk(dir);
    chmodSync(dir, writable ? 0o755 : 0o555);
  };
  defer(() => setMode(true));
  return { dir, makeReadOnly: () => setMode(false), code: 'EACCES' };
}
