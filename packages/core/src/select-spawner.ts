import { createChildProcessSpawner } from './child-process-spawner.js';
import { warnAboutInheritedDescriptors } from './descriptors.js';
import { loadNativeSpawner } from './native-spawner.js';
import { CgiOptionError } from './option-checks.js';
import type { CgiConfig } from './options.js';
import type { CgiSpawner } from './spawner.js';
import { createWarmSpawner } from './warm-python.js';

let fallbackReported = false;

/**
 * The spawner scripts start with: the cold one `config.spawner` asks for, wrapped in the warm
 * Python start when `warm` is set. The cold one is `native` or fail, `child_process`, or `auto` (native
 * when it loads, else child_process, saying why once per process).
 * @throws CgiOptionError when `native` was asked for and cannot load.
 */
export function selectSpawner(config: CgiConfig): CgiSpawner {
  const cold = coldSpawner(config);
  if (config.warm === undefined) return cold;
  const { extensions, settings } = config.warm;
  return createWarmSpawner(cold, { ...settings, extensions, baseEnv: config.baseEnv }, config.logger);
}

/** The spawner for scripts that start from scratch (and the warm start's fallback). */
function coldSpawner(config: CgiConfig): CgiSpawner {
  if (typeof config.spawner === 'object') return config.spawner;
  if (config.spawner !== 'child_process') {
    const native = loadNativeSpawner();
    if (native.spawner !== undefined) return native.spawner;
    if (config.spawner === 'native') {
      throw new CgiOptionError('spawner', '"auto" or "child_process" here', 'native', native.message);
    }
    if (!fallbackReported) {
      fallbackReported = true;
      config.logger.info(`using the child_process spawner: the native spawner is unavailable (${native.message})`);
    }
  }
  // Node's spawn passes on every descriptor the server inherited without close-on-exec.
  warnAboutInheritedDescriptors(config.logger);
  return createChildProcessSpawner();
}
