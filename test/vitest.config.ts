import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: one file per core keeps timing-sensitive lifecycle tests honest.
    maxWorkers: 2,
    reporters: ['default', './support/summary-reporter.ts'],
    allowOnly: false,
  },
});
