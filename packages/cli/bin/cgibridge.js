#!/usr/bin/env node
// Committed launcher, so npm links the bin even before the TypeScript build exists.
import('../dist/main.js').then(
  async ({ main }) => {
    const code = await main(process.argv.slice(2));
    if (code !== undefined) process.exitCode = code;
  },
  (error) => {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write('cgibridge: not built yet; run "npm run build" at the repository root\n');
      process.exitCode = 1;
      return;
    }
    throw error;
  },
);
