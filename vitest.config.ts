import { defineConfig } from 'vitest/config';
import { SummaryReporter } from './scripts/summary-reporter.ts';

export default defineConfig({
  test: {
    include: ['shared/test/**/*.test.ts', 'gateway-agent/test/**/*.test.ts', 'server/test/**/*.test.ts', 'simulators/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', new SummaryReporter()],
    pool: 'forks',
  },
});
