/** Settings of the property runs, read from the environment by the test and the soak script. */

export interface PropertySettings {
  seed: number;
  histories: number;
  path: string | undefined;
  /** Longest history, in steps. */
  maxSteps: number;
  /** One history in this many also runs the Automerge oracle (it is slow). */
  oracleEvery: number;
  /** Percentage of histories that end with the forged-update checks. */
  forgeryPercent: number;
}

/** FRIDGESYNC_SEED (random by default), FRIDGESYNC_HISTORIES (100,000 with CI=true, 2,000 otherwise), FRIDGESYNC_PATH. */
export function propertySettings(env: Record<string, string | undefined>): PropertySettings {
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  return {
    seed: num(env.FRIDGESYNC_SEED) ?? (Math.random() * 2 ** 31) | 0,
    histories: num(env.FRIDGESYNC_HISTORIES) ?? (env.CI === 'true' ? 100_000 : 2_000),
    path: env.FRIDGESYNC_PATH || undefined,
    maxSteps: num(env.FRIDGESYNC_MAX_STEPS) ?? 8,
    oracleEvery: num(env.FRIDGESYNC_ORACLE_EVERY) ?? 50,
    forgeryPercent: num(env.FRIDGESYNC_FORGERY_PERCENT) ?? 5,
  };
}
