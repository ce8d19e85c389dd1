/**
 * The command line of every `fridgesync` command (`fridgesync`, `central`, `gateway`, `sim`,
 * `demo`): node:util `parseArgs` in strict mode with the options all of them take, and one form
 * for usage errors. docs/operations.md "Exit status": a usage error exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The option table `parseArgs` takes. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

/** Exit status of a usage error (unknown option or command, missing or bad value), for every command. */
export const EXIT_USAGE = 2;

/** The options every command takes: `-h`/`--help` prints its usage, `-v`/`--version` its version (both exit 0). */
export const STANDARD_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies CommandOptions;

/** Bad arguments; `problems` lists each one (a command reports them all at once where it can). */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type ParseConfig<O extends CommandOptions> = { args: string[]; options: typeof STANDARD_OPTIONS & O; strict: true; allowPositionals: boolean };

/** A parsed command line: option values by name (typed from the option table) and the positionals in order. */
export interface CommandLine<O extends CommandOptions> {
  values: ReturnType<typeof parseArgs<ParseConfig<O>>>['values'];
  positionals: string[];
}

/**
 * Parses `argv` with {@link STANDARD_OPTIONS} plus the command's `options`. Strict: an unknown
 * option, a string option without its value or a boolean given one throws {@link UsageError};
 * `--name=value` and `--name value` both work. Positionals (subcommand words) are returned in order
 * unless `allowPositionals` is false, when one is a usage error.
 */
export function parseCommandLine<const O extends CommandOptions>(argv: readonly string[], options: O, allowPositionals = true): CommandLine<O> {
  const config: ParseConfig<O> = { args: [...argv], options: { ...STANDARD_OPTIONS, ...options }, strict: true, allowPositionals };
  try {
    const { values, positionals } = parseArgs(config);
    return { values, positionals };
  } catch (e) {
    // parseArgs' first sentence names the problem; the rest explains `--` to pass a dash-led word.
    throw new UsageError([(e as Error).message.split('. ')[0]!.replace(/\.$/, '')]);
  }
}

/** The text of a usage error: each problem on its own line, then where to find the usage. `command` as typed, e.g. `fridgesync sim`. */
export function formatUsageError(command: string, problems: readonly string[]): string {
  return `${problems.map((p) => `${command}: ${p}`).join('\n')}\nTry '${command} --help'.\n`;
}
