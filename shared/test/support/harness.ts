/**
 * The test harness every package's tests share (`@fridgesync/shared/test-harness`; test files
 * only, scripts/check-deps.ts keeps it out of `src/`): polling instead of sleeps, and one teardown.
 *
 * - {@link waitFor} waits for a value: it polls until the function returns something truthy and
 *   resolves with it (`await waitFor(() => central.registry.peek(venue))`).
 * - {@link eventually} waits for an assertion: it polls until the function returns without
 *   throwing (`await eventually(() => expect(count()).toBe(2))`).
 * - {@link useTeardown} registers cleanups as resources are made; they run after each test.
 *
 * Both pollers run on vitest's `vi.waitFor` (real timers even under fake ones; an async check is
 * not started again while it is still running) and count a throw as "not yet".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, vi } from 'vitest';

/** How often a condition is checked, ms: short enough not to slow a test, long enough not to spin. */
const POLL_MS = 20;

/**
 * Polls `get` until it returns a truthy value and resolves with that value. A throw counts as not
 * yet. After `timeoutMs` (default 5 s) rejects naming `what` and the last error seen.
 */
export async function waitFor<T>(get: () => T | Promise<T>, timeoutMs = 5_000, what = 'condition'): Promise<NonNullable<T>> {
  let last: unknown;
  try {
    return await vi.waitFor(
      async () => {
        let v: T;
        try {
          v = await get();
        } catch (e) {
          last = e;
          throw e;
        }
        if (!v) throw new Error(`not yet: ${what}`);
        return v as NonNullable<T>;
      },
      { timeout: timeoutMs, interval: POLL_MS },
    );
  } catch {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
  }
}

/**
 * Polls `check` every `intervalMs` until it returns without throwing and not `false`, and resolves
 * with what it returned. After `timeoutMs` (default 10 s) rejects with the check's last failure
 * (an assertion error shows what was expected and what was there).
 */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = POLL_MS): Promise<Exclude<T, false>> {
  return vi.waitFor(
    async () => {
      const v = await check();
      if (v === false) throw new Error('the condition is still false');
      return v as Exclude<T, false>;
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}

type Cleanup = () => unknown;

/**
 * Returns `defer(fn)`, which registers a cleanup, and `tempDir(prefix?)`, a temp dir removed at
 * cleanup, bound to an `afterEach` of the calling test file: after each test the cleanups run in
 * reverse order, each once, every one of them even if some fail; failures are rethrown together.
 */
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
  const tempDir = (prefix = 'fridgesync-test-') => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return { defer, tempDir };
}
