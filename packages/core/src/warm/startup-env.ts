/**
 * Variables read before a script's first line runs, by the dynamic loader, glibc or CPython's
 * start-up (flags, sys.path, locale and stdio encodings, the user site directory): a zygote
 * started with other values would not be what a cold start is. `PYTHON*` covers
 * PYTHONPATH, PYTHONHASHSEED, PYTHONIOENCODING, PYTHONUTF8, PYTHONWARNINGS and the rest.
 * PATH is not among them: warm resolves the interpreter and sys.executable per request.
 */
export function isStartupVariable(name: string): boolean {
  return /^(PYTHON|LC_|LD_|MALLOC_)/.test(name) || STARTUP_NAMES.has(name);
}

const STARTUP_NAMES = new Set(['LANG', 'LANGUAGE', 'TZ', 'HOME', 'LOCPATH', 'GCONV_PATH', 'GLIBC_TUNABLES']);

/**
 * The first start-up variable whose value differs between a request's environment and the
 * zygote's (present in one and not the other counts), or `undefined` when they agree.
 */
export function startupDifference(
  env: Readonly<Record<string, string>>,
  zygoteEnv: Readonly<Record<string, string>>,
): string | undefined {
  for (const name in env) {
    if (isStartupVariable(name) && env[name] !== zygoteEnv[name]) return name;
  }
  for (const name in zygoteEnv) {
    if (isStartupVariable(name) && !Object.hasOwn(env, name)) return name;
  }
  return undefined;
}
