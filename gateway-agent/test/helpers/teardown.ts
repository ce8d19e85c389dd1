/**
 * The one teardown helper of the gateway tests: register cleanups as resources are created; they
 * run in reverse order after each test, each at most once, errors collected and rethrown together.
 */
import { afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = () => unknown;

/** Returns `defer(fn)` and `tempDir()` bound to an afterEach that runs the cleanups. */
export function useTeardown(): { defer: (fn: Cleanup) => void; tempDir: (prefix?: string) => string } {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'teardown failed');
  });
  const defer = (fn: Cleanup) => void cleanups.push(fn);
  const tempDir = (prefix = 'fridgesync-gw-') => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return { defer, tempDir };
}

/** Polls `check` until it stops throwing (or returns true), at most `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false) return v;
      last = new Error('condition returned false');
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
