/** The README documents every flag `--help` lists, and every fault name, so the two cannot drift. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP } from '../src/cli-args.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every flag of --help', () => {
    const flags = [...new Set(HELP.match(/--[a-z][a-z-]+/g) ?? [])];
    expect(flags.length).toBeGreaterThan(25);
    const missing = flags.filter((f) => !readme.includes(`\`${f}`) && !readme.includes(`${f}\``) && !readme.includes(`${f} `));
    expect(missing).toEqual([]);
  });

  it('documents every fault', () => {
    for (const f of ['duplicate', 'reorder', 'reboot', 'forget-boot', 'link-cut', 'gateway-kill']) expect(readme).toContain(`\`${f}[=`);
  });
});
