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
        // The conformance suite with the warm Python start on: scripts' PATH finds /usr/bin/python3
        // first (the pyenv shim on PATH here is a shell script, which always runs cold).
        test: {
          name: 'warm',
          include: ['conformance/**/*.test.ts', 'soak/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          env: { CGIBRIDGE_TEST_WARM: '.py', PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}` },
        },
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
