import { defineConfig } from 'vitest/config';

/** The suites that must hold on every spawner (issue 11: a matrix, not a sample). */
const PARITY = ['conformance/**/*.test.ts', 'security/**/*.test.ts', 'soak/**/*.test.ts', 'streaming/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: one file per core keeps timing-sensitive lifecycle tests honest.
    maxWorkers: 2,
    reporters: ['default', './support/summary-reporter.ts'],
    allowOnly: false,
    projects: [
      {
        extends: true,
        // The default spawner: the native one on Linux x64 (a test fails if it silently is not).
        test: { name: 'default', include: ['**/*.test.ts'], exclude: ['**/node_modules/**'] },
      },
      {
        extends: true,
        test: {
          name: 'child_process',
          include: PARITY,
          exclude: ['**/node_modules/**'],
          env: { CGIBRIDGE_SPAWNER: 'child_process' },
        },
      },
    ],
  },
});
