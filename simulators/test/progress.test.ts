import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startProgress } from '../src/progress.ts';
import { RunStats } from '../src/stats.ts';

function sink() {
  const chunks: string[] = [];
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return { out, chunks };
}

describe('progress output', () => {
  it('rewrites one line in a terminal', async () => {
    const { out, chunks } = sink();
    const stats = new RunStats();
    stats.inc('ordersConfirmed', 3);
    stats.recordPublishAck(4);
    const stop = startProgress({ stats, out, tty: true, everyMs: 20 });
    await new Promise((r) => setTimeout(r, 70));
    stop();
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks[0]).toMatch(/^\r\x1b\[2K\d+s err 0 .*ok 3 /);
    expect(chunks.join('')).not.toContain('\n');
    expect(chunks.at(-1)).toBe('\r\x1b[2K'); // cleared before the summary
  });

  it('prints plain timestamped lines elsewhere', async () => {
    const { out, chunks } = sink();
    const stop = startProgress({ stats: new RunStats(), out, tty: false, everyMs: 20, extra: () => 'up 2/2' });
    await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(chunks[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+ \d+s up 2\/2 err 0 \| snap .*\n$/);
    expect(chunks.join('')).not.toContain('\r');
  });
});
