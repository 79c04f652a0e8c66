// `npm run build`: compiles the addon into build/Release with node-gyp (a devDependency),
// offline, against the headers of the Node that runs this. Linux only: elsewhere the
// package reports reason 'platform' and there is nothing to build. A failed compile
// fails the build, loudly: a repository build without the addon is a broken one.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

if (process.platform !== 'linux') {
  console.log(`@cgibridge/native: nothing to build on ${process.platform} (the native spawner is Linux-only)`);
  process.exit(0);
}
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const result = spawnSync(process.execPath, [nodeGyp, 'rebuild'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
