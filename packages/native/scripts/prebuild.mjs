// `npm pack` / `npm publish` (prepack): prebuilt addons in prebuilds/, which node-gyp-build
// loads, so that users install no compiler and run no install script. One N-API build
// per platform serves every Node version. linux-x64 is built here; linux-arm64 too when
// Debian's cross compiler (gcc-aarch64-linux-gnu) is installed, else it is skipped with
// a warning and arm64 users fall back to child_process (reason 'no-addon').
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const prebuildify = require.resolve('prebuildify/bin.js');
// Headers of the running Node (node-gyp would otherwise download them).
const env = { ...process.env, npm_config_nodedir: join(dirname(process.execPath), '..') };

function prebuild(arch, extraEnv = {}) {
  const args = [prebuildify, '--napi', '--strip', '--tag-libc', `--arch=${arch}`];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...env, ...extraEnv } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function has(command) {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error('@cgibridge/native: prebuilds are made on linux-x64');
  process.exit(1);
}
prebuild('x64');
if (has('aarch64-linux-gnu-gcc')) {
  prebuild('arm64', {
    CC: 'aarch64-linux-gnu-gcc',
    CXX: 'aarch64-linux-gnu-g++',
    LINK: 'aarch64-linux-gnu-gcc',
    PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip',
  });
} else {
  console.warn('@cgibridge/native: no aarch64-linux-gnu-gcc, so no linux-arm64 prebuild');
}
// prebuildify moved the last build out of build/Release; put the host's back for the repository.
spawnSync(process.execPath, [fileURLToPath(new URL('build.mjs', import.meta.url))], { stdio: 'inherit' });
