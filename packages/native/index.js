// @cgibridge/native: loads the addon once, says whether it is usable, and names
// what C reports as numbers (signals). CommonJS so that ESM code can load it
// synchronously with createRequire().

const { constants } = require('node:os');
const { getSystemErrorName } = require('node:util');

/** Values of CGIBRIDGE_NATIVE_FAULT that pretend a fallback reason, for tests. */
const FAULTS = new Set(['platform', 'no-addon', 'no-pidfd', 'no-clone']);

const ENOSYS = 38;
const EINVAL = 22;

/** Signal number -> name ('SIGTERM'), from Node's own table. */
const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

function unusable(reason, message) {
  return { status: Object.freeze({ usable: false, reason, message, binding: null }), addon: null };
}

function findAddon(fault) {
  if (fault === 'no-addon') throw new Error('CGIBRIDGE_NATIVE_FAULT=no-addon');
  // node-gyp-build: build/Release (a repository build) first, then prebuilds/<platform>-<arch>.
  const binding = require('node-gyp-build').resolve(__dirname);
  return { binding, addon: require(binding) };
}

/** The addon's probe (null: all good), or the failure a fault pretends. */
function probe(addon, fault) {
  if (fault === 'no-pidfd') return { errno: ENOSYS, syscall: 'pidfd_open' };
  if (fault === 'no-clone') return { errno: EINVAL, syscall: 'clone' };
  return addon.probe();
}

/** [reason, message] for a failed probe. */
function explainProbe({ errno, syscall }) {
  const what = `${syscall}: ${getSystemErrorName(-errno)}`;
  if (syscall === 'pidfd_open' || syscall === 'waitid') {
    return ['no-pidfd', `the kernel cannot watch a child through a pidfd (${what}); Linux 5.4 or later is needed`];
  }
  return [
    'no-clone',
    `a trial spawn failed (${what}): this system (an emulator or a sandbox?) refuses the vfork-style clone`,
  ];
}

function load() {
  const fault = FAULTS.has(process.env.CGIBRIDGE_NATIVE_FAULT) ? process.env.CGIBRIDGE_NATIVE_FAULT : undefined;
  if (process.platform !== 'linux' || fault === 'platform') {
    return unusable(
      'platform',
      `the native spawner is Linux-only (this is ${fault ? 'a simulated platform' : process.platform})`,
    );
  }
  let found;
  try {
    found = findAddon(fault);
  } catch (error) {
    return unusable(
      'no-addon',
      `no prebuilt addon for ${process.platform}-${process.arch} and no compiled build ` +
        `(${error.message.split('\n')[0]}); build it with: npm run build -w @cgibridge/native`,
    );
  }
  const failed = probe(found.addon, fault);
  if (failed !== null) return unusable(...explainProbe(failed));
  const status = Object.freeze({
    usable: true,
    reason: null,
    message: `loaded ${found.binding}`,
    binding: found.binding,
  });
  return { status, addon: found.addon };
}

const loaded = load();

function usableAddon() {
  if (loaded.addon !== null) return loaded.addon;
  const error = new Error(`@cgibridge/native is not usable: ${loaded.status.message}`);
  error.code = 'ERR_CGIBRIDGE_NATIVE_UNAVAILABLE';
  error.reason = loaded.status.reason;
  throw error;
}

/** C reports (code, signo) with the unused one null; JavaScript wants a signal name. */
function namedExit(onExit) {
  if (typeof onExit !== 'function') throw new TypeError('onExit must be a function');
  return (code, signo) => onExit(code, signo === null ? null : (SIGNAL_NAMES.get(signo) ?? `SIG${signo}`));
}

function spawn(request, onExit) {
  return usableAddon().spawn(request, namedExit(onExit));
}

function spawnAsync(request, onExit) {
  try {
    return usableAddon().spawnAsync(request, namedExit(onExit));
  } catch (error) {
    return Promise.reject(error);
  }
}

module.exports = { status: loaded.status, spawn, spawnAsync };
