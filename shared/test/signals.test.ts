import { describe, expect, it } from 'vitest';
import { SAME_SIGNAL_MS, stopSignals } from '../src/signals.ts';

describe('stopSignals', () => {
  it('takes a repeat within SAME_SIGNAL_MS as the same request and a later one as a new one', () => {
    let now = 0;
    const kind = stopSignals(SAME_SIGNAL_MS, () => now);
    expect(kind()).toBe('first');
    now = SAME_SIGNAL_MS - 1;
    expect(kind()).toBe('same');
    now = SAME_SIGNAL_MS;
    expect(kind()).toBe('again');
  });
});
