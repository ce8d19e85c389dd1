/**
 * Telling one stop request from two. A single Ctrl-C can reach a process twice: npm forwards the
 * SIGINT it gets to its script, and where the script shell is bash the script's command is npm's
 * own child and also in the terminal's process group, so it gets the group's SIGINT and npm's copy
 * within milliseconds. A repeat within {@link SAME_SIGNAL_MS} of the first signal therefore counts
 * as the same request; only a later one means "exit now" (docs/operations.md "Signals and exit status").
 */

/** A repeat stop signal this soon after the first, ms, is the same request. */
export const SAME_SIGNAL_MS = 1_000;

/** What a stop signal means: the first, a copy of the first, or a new request to exit at once. */
export type StopSignal = 'first' | 'same' | 'again';

/** Returns a classifier to call once per stop signal received. `now` is the clock (tests). */
export function stopSignals(sameWithinMs = SAME_SIGNAL_MS, now: () => number = Date.now): () => StopSignal {
  let first: number | undefined;
  return () => {
    const t = now();
    if (first === undefined) {
      first = t;
      return 'first';
    }
    return t - first < sameWithinMs ? 'same' : 'again';
  };
}
