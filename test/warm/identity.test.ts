// Cold versus warm, byte for byte: each script runs through the child_process spawner and through
// the warm spawner (its zygote's child), and stdout, stderr and the exit must be identical.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coldSpawner,
  EXTRA_PYTHONS,
  type Mode,
  newWarmSpawner,
  optionsFor,
  PYTHON,
  type RunResult,
  run,
  runExpecting,
  scriptDir,
  warmUp,
} from './harness.js';

interface Case {
  readonly name: string;
  readonly source: string;
  readonly stdin?: Buffer | string;
  readonly env?: Record<string, string>;
  readonly args?: string[];
  /** Modes to compare in (default: shebang only). */
  readonly modes?: readonly Mode[];
  /** Extra files beside the script. */
  readonly beside?: Record<string, string>;
  /** The script is a zip archive of these files (after its shebang line). */
  readonly zip?: Record<string, string>;
  /** What the cold run must show, so a case cannot pass by both sides failing alike. */
  readonly expect?: (cold: RunResult) => void;
}

/** Bytes as text, object addresses (`<function f at 0x7f...>`) aside: they differ between any two runs. */
const shown = (bytes: Buffer) => bytes.toString('latin1').replace(/ at 0x[0-9a-f]+>/g, ' at 0x…>');

/** Python 3.13 has no cgi module: then only the identity of the ImportError is checked. */
const noCgi = (r: RunResult) => r.stderr.toString().includes("No module named 'cgi'");

const ALL_MODES: readonly Mode[] = ['shebang', 'mapped'];

const FORM = 'name=caf%C3%A9&tags=a&tags=b&x=1+2';
const MULTIPART =
  '--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n' +
  '--XyZ\r\nContent-Disposition: form-data; name="t"\r\n\r\nv\r\n--XyZ--\r\n';

const CASES: Case[] = [
  {
    name: 'hello',
    source: 'print("Content-Type: text/plain")\nprint()\nprint("hello")\n',
    expect: (r) => expect(r.stdout.toString()).toBe('Content-Type: text/plain\n\nhello\n'),
  },
  {
    name: 'argv, orig_argv, executable, cwd, sys.path, flags',
    modes: ALL_MODES,
    args: ['one', 'two'],
    source: `import os, sys
print(sys.argv)
print(getattr(sys, "orig_argv", None))
print(sys.executable, getattr(sys, "_base_executable", None), sys.prefix, sys.exec_prefix)
print(os.getcwd())
print(sys.path)
print(sys.flags)
print(sys.warnoptions, sys._xoptions)
print(os.getpgid(0) == os.getpid(), os.getsid(0) == os.getpid())
print(sorted((k, repr(v)) for k, v in sys.path_importer_cache.items() if k == sys.argv[0] or k == sys.path[0]))
print(open("/proc/self/comm").read())
`,
    expect: (r) => expect(r.stdout.toString()).toContain("'one', 'two']"),
  },
  {
    name: '__main__: globals, __file__, __spec__, __loader__, __builtins__, __doc__',
    modes: ALL_MODES,
    source: `"""the doc"""
import sys
print(list(globals()))
print(__name__, __file__, __spec__, __package__, __cached__, __doc__)
print(type(__loader__).__name__, __loader__.name, __loader__.path)
print(__builtins__ is __import__("builtins"), __annotations__ if "__annotations__" in globals() else "-")
print(sys.modules["__main__"] is sys.modules[__name__], sys.modules["__main__"].__dict__ is globals())
print(sys._getframe().f_code.co_filename)
`,
  },
  {
    name: 'environment, with non-ASCII values',
    env: { QUERY_STRING: 'q=caf%C3%A9', HTTP_X_NAME: 'café ☕', PATH_INFO: '/é' },
    source: `import os
for key in sorted(os.environ):
    print(key, repr(os.environ[key]))
print(sorted(os.environb.items()) == sorted((k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in os.environ.items()))
`,
    expect: (r) => expect(r.stdout.toString()).toContain("HTTP_X_NAME 'café ☕'"),
  },
  {
    name: 'stdin, binary',
    stdin: Buffer.from([0, 1, 2, 13, 10, 255, 254, 65, 66, 10, 0]),
    source: `import sys
data = sys.stdin.buffer.read()
print(len(data), data.hex())
print(repr(sys.stdin.buffer.read()))
`,
    expect: (r) => expect(r.stdout.toString()).toContain('11 0001020d0aff'),
  },
  {
    name: 'stdio streams as a fresh interpreter makes them',
    source: `import io, os, stat, sys
for n, s in enumerate((sys.stdin, sys.stdout, sys.stderr)):
    st = os.fstat(n)
    print(n, stat.S_ISSOCK(st.st_mode), st.st_blksize, os.get_blocking(n), os.get_inheritable(n), s.isatty())
    print(s.name, s.mode, s.encoding, s.errors, s.line_buffering, s.write_through, repr(s.newlines))
    print(type(s.buffer).__name__, type(getattr(s.buffer, "raw", s.buffer)).__name__, getattr(s.buffer, "raw", s.buffer).name)
print(sys.stdin is sys.__stdin__, sys.stdout is sys.__stdout__, sys.stderr is sys.__stderr__)
print(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors(), sys.getdefaultencoding())
print(sorted(int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) < 3))
`,
  },
  {
    name: 'signal dispositions and mask',
    source: `import signal
def shown(handler):
    return signal.Handlers(handler).name if handler in (signal.SIG_DFL, signal.SIG_IGN) else str(handler)
print([(s.name, shown(signal.getsignal(s))) for s in signal.valid_signals() if isinstance(s, signal.Signals)])
print(signal.pthread_sigmask(signal.SIG_BLOCK, []))
`,
    expect: (r) => expect(r.stdout.toString()).toContain("('SIGPIPE', 'SIG_IGN')"),
  },
  {
    name: 'process attributes: umask, limits, time zone, locale',
    source: `import locale, os, resource, time
print(oct(os.umask(0o22)))
print([resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")])
print(time.tzname, time.timezone, time.daylight)
print(locale.setlocale(locale.LC_CTYPE), locale.getpreferredencoding(False))
`,
  },
  {
    name: 'an uncaught exception: traceback with a chained cause',
    source: `def inner():
    {}["missing"]

def outer():
    try:
        inner()
    except KeyError as error:
        raise ValueError("wrapped") from error

print("before", flush=True)
outer()
`,
    expect: (r) => {
      expect(r.exit).toEqual({ code: 1, signal: null });
      expect(r.stderr.toString()).toMatch(/^Traceback[\s\S]*ValueError: wrapped\n$/);
    },
  },
  {
    name: 'a SyntaxError',
    source: 'print("never")\ndef broken(:\n    pass\n',
    expect: (r) => expect(r.stderr.toString()).toContain('SyntaxError'),
  },
  {
    name: 'a NUL byte in the source',
    // 3.11 and older skip it, 3.12 refuses the file: whatever this Python does, both sides must.
    source: 'print("a")\n\0\nprint("b")\n',
  },
  { name: 'sys.exit(0)', source: 'import sys\nprint("x")\nsys.exit(0)\n' },
  {
    name: 'sys.exit(3)',
    source: 'import sys\nsys.exit(3)\n',
    expect: (r) => expect(r.exit).toEqual({ code: 3, signal: null }),
  },
  {
    name: 'sys.exit("msg")',
    source: 'import sys\nsys.exit("msg")\n',
    expect: (r) => {
      expect(r.exit.code).toBe(1);
      expect(r.stderr.toString()).toBe('msg\n');
    },
  },
  { name: 'sys.exit(None)', source: 'import sys\nsys.exit(None)\n' },
  { name: 'sys.exit(259)', source: 'import sys\nsys.exit(259)\n' },
  {
    name: 'raise KeyboardInterrupt: killed by SIGINT once finalised',
    source: 'print("x")\nraise KeyboardInterrupt\n',
    expect: (r) => expect(r.exit).toEqual({ code: null, signal: 'SIGINT' }),
  },
  {
    name: 'a crash (SIGSEGV): reported as the signal, and the zygote serves the next case',
    source: 'import os, signal, sys\nprint("before", flush=True)\nos.kill(os.getpid(), signal.SIGSEGV)\n',
    expect: (r) => expect(r.exit).toEqual({ code: null, signal: 'SIGSEGV' }),
  },
  {
    name: 'atexit handlers and non-daemon threads',
    source: `import atexit, sys, threading, time
atexit.register(lambda: print("atexit 1", globals().get("__file__")))
atexit.register(lambda: print("atexit 2"))
def work():
    time.sleep(0.2)
    print("thread done", flush=True)
threading.Thread(target=work).start()
print("main done")
`,
    expect: (r) => expect(r.stdout.toString()).toMatch(/main done\n[\s\S]*thread done\natexit 2\natexit 1/),
  },
  {
    name: 'sys.excepthook and warnings',
    source: `import sys, warnings
def hook(kind, value, tb):
    print("hook", kind.__name__, value, tb.tb_frame.f_code.co_filename == __file__, tb.tb_next is None)
sys.excepthook = hook
warnings.warn("careful")
warnings.warn("old", DeprecationWarning)
raise RuntimeError("boom")
`,
    expect: (r) => expect(r.stdout.toString()).toContain('hook RuntimeError boom True True'),
  },
  {
    name: 'a module beside the script',
    beside: { 'helper_mod.py': 'VALUE = 42\nimport os\nHERE = os.path.dirname(__file__)\n' },
    source: `import helper_mod, sys
print(helper_mod.VALUE, helper_mod.__file__, helper_mod.HERE, helper_mod.__spec__.origin)
`,
    expect: (r) => expect(r.stdout.toString()).toContain('42 '),
  },
  {
    name: 'import cgi: its DeprecationWarning, and FieldStorage on a form POST',
    env: {
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'application/x-www-form-urlencoded',
      CONTENT_LENGTH: String(FORM.length),
      QUERY_STRING: 'from=query',
    },
    stdin: FORM,
    source: `import sys
print("cgi" in sys.modules)
import cgi
form = cgi.FieldStorage()
print("Content-Type: text/plain\\n")
for key in sorted(form.keys()):
    print(key, form.getlist(key))
`,
    expect: (r) => noCgi(r) || expect(r.stdout.toString()).toContain("name ['café']"),
  },
  {
    name: 'cgi.FieldStorage on a multipart upload',
    env: {
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'multipart/form-data; boundary=XyZ',
      CONTENT_LENGTH: String(MULTIPART.length),
    },
    stdin: MULTIPART,
    source: `import warnings
warnings.simplefilter("ignore")
import cgi
form = cgi.FieldStorage()
print(form["f"].filename, form["f"].file.read(), form.getvalue("t"))
`,
    expect: (r) => noCgi(r) || expect(r.stdout.toString()).toContain("a.txt b'file body' v"),
  },
  {
    name: 'objects alive at exit: __del__ in __main__ and in an imported module, an unclosed file flushed',
    beside: {
      'dying_mod.py': 'class D:\n    def __del__(self):\n        print("module object freed")\nkeep = D()\n',
    },
    source: `import atexit, dying_mod, sys
class Noisy:
    def __init__(self, name):
        self.name = name
    def __del__(self):
        print("freed", self.name, sys.argv is None)
a = Noisy("a")
_b = Noisy("_b")
cycle = Noisy("cycle")
cycle.self = cycle
out = open(__file__ + ".out", "w")
out.write("written at exit")
atexit.register(lambda: print("atexit sees", open(__file__ + ".out").read() == ""))
print("main done")
`,
    // What runs, and whether its output still reaches stdout, depends on the Python version.
    expect: (r) => expect(r.stdout.toString()).toContain('main done'),
  },
  {
    name: 'sys.excepthook that raises',
    source: `import sys
def hook(kind, value, tb):
    raise ValueError("hook broke")
sys.excepthook = hook
raise KeyError("original")
`,
    expect: (r) => expect(r.stderr.toString()).toContain('Error in sys.excepthook:'),
  },
  {
    name: 'sys.excepthook raising SystemExit(7)',
    source: 'import sys\ndef hook(*a):\n    sys.exit(7)\nsys.excepthook = hook\nraise RuntimeError\n',
    expect: (r) => expect(r.exit).toEqual({ code: 7, signal: null }),
  },
  {
    name: 'no sys.excepthook at all',
    source: 'import sys\ndel sys.excepthook\nraise RuntimeError("bare")\n',
    expect: (r) => expect(r.stderr.toString()).toContain('sys.excepthook is missing'),
  },
  {
    name: 'sys.exit inside atexit, exceptions in atexit and in a thread',
    source: `import atexit, sys, threading
def bad():
    raise ValueError("in atexit")
atexit.register(lambda: sys.exit(5))
atexit.register(bad)
t = threading.Thread(target=lambda: 1 / 0)
t.start()
t.join()
sys.exit(2)
`,
    // 3.8 and 3.9 let the SystemExit raised in atexit set the status; later versions ignore it.
    expect: (r) => expect(r.stderr.toString()).toContain('ValueError: in atexit'),
  },
  {
    name: 'a custom sys.unraisablehook sees the flush failure',
    source: `import os, sys
def hook(args):
    sys.stderr.write("hook: %s %s\\n" % (args.exc_type.__name__, args.object is sys.stdout or args.object))
sys.unraisablehook = hook
print("lost")
os.close(1)
`,
    expect: (r) => expect(r.exit.code).toBe(120),
  },
  {
    name: 'sys.stdout replaced by the script',
    source: `import io, sys
real = sys.stdout
sys.stdout = io.StringIO()
print("hidden")
real.write("visible\n")
`,
  },
  {
    name: 'builtins changed by the script',
    source: `import builtins
class D:
    def __del__(self):
        print("builtin object freed")
builtins.mine = D()
builtins.print = lambda *a, **k: builtins.__dict__["__import__"]("sys").stdout.write("patched print\\n")
print("x")
`,
  },
  {
    name: 'a zip archive run as a script',
    zip: {
      '__main__.py': 'import sys\nprint("from the zip", __name__, sys.argv[0] == __file__.rsplit("/", 1)[0])\n1/0\n',
    },
    source: '',
    expect: (r) => expect(r.stdout.toString()).toContain('from the zip'),
  },
  {
    name: 'a flush failure at exit: status 120',
    source: 'import os\nprint("lost")\nos.close(1)\n',
    expect: (r) => expect(r.exit.code).toBe(120),
  },
  {
    name: 'stdout closed early while the script keeps working',
    source: `import os, sys, time
print("Content-Type: text/plain\\n\\nearly", flush=True)
os.close(1)
time.sleep(0.3)
sys.stderr.write("still working\\n")
`,
    expect: (r) => expect(r.stdoutEndedFirst).toBe(true),
  },
];

/** The script file vanished between the gateway's check and the start: Python's own message and status 2. */
function missingScript(
  python: string,
  files: ReturnType<typeof scriptDir>,
  spawner: ReturnType<typeof newWarmSpawner>,
) {
  it('a script file that cannot be opened (mapped: nothing reads it before Python)', async () => {
    const gone = files.write('vanished.py', 'print(1)\n', python);
    rmSync(gone);
    const options = optionsFor(gone, 'mapped', { interpreter: python });
    const cold = await run(coldSpawner, options);
    const warm = await runExpecting('warm', spawner, options);
    expect(cold.exit).toEqual({ code: 2, signal: null });
    expect(cold.stderr.toString()).toContain("can't open file");
    expect(shown(warm.stderr)).toBe(shown(cold.stderr));
    expect(warm.exit).toEqual(cold.exit);
  });
}

function identity(python: string): void {
  const files = scriptDir();
  const spawner = newWarmSpawner();

  beforeAll(async () => {
    await warmUp(spawner, optionsFor(files.write('warmup.py', 'pass\n', python), 'shebang'));
  });
  afterAll(async () => {
    await spawner.close();
    files.cleanup();
  });

  missingScript(python, files, spawner);
  for (const c of CASES) {
    for (const mode of c.modes ?? ['shebang']) {
      it(`${c.name} (${mode})`, async () => {
        for (const [name, source] of Object.entries(c.beside ?? {})) files.write(name, `#!${python}\n${source}`);
        const name = `${c.name.replace(/\W+/g, '-').slice(0, 40)}.py`;
        const script = c.zip ? files.writeZip(name, c.zip, python) : files.write(name, c.source, python);
        const options = optionsFor(script, mode, { env: c.env ?? {}, args: c.args ?? [], interpreter: python });
        const cold = await run(coldSpawner, options, c.stdin);
        const warm = await runExpecting('warm', spawner, options, c.stdin);
        c.expect?.(cold);
        c.expect?.(warm);
        expect(shown(warm.stdout)).toBe(shown(cold.stdout));
        expect(shown(warm.stderr)).toBe(shown(cold.stderr));
        expect(warm.exit).toEqual(cold.exit);
      });
    }
  }
}

describe(`cold versus warm: ${PYTHON}`, () => identity(PYTHON));
for (const python of EXTRA_PYTHONS) describe(`cold versus warm: ${python}`, () => identity(python));

describe('cold versus warm without LANG: the C locale coerced (PEP 538 adds LC_CTYPE to the environment)', () => {
  const files = scriptDir();
  const baseEnv = { PATH: '/usr/bin:/bin' };
  const spawner = newWarmSpawner({ baseEnv });
  const withoutLang = (script: string) => ({
    ...optionsFor(script, 'shebang'),
    env: { ...baseEnv, QUERY_STRING: 'é' },
  });
  beforeAll(async () => {
    await warmUp(spawner, withoutLang(files.write('warmup.py', 'pass\n')));
  });
  afterAll(async () => {
    await spawner.close();
    files.cleanup();
  });
  it('environment, locale and stdio encodings', async () => {
    const script = files.write(
      'coerced.py',
      'import locale, os, sys\nprint(list(os.environ.items()))\nprint(locale.setlocale(locale.LC_CTYPE), sys.stdout.encoding, sys.stdout.errors, sys.getfilesystemencoding())\nprint(os.environ["QUERY_STRING"])\n',
    );
    const cold = await run(coldSpawner, withoutLang(script));
    const warm = await runExpecting('warm', spawner, withoutLang(script));
    expect(cold.stdout.toString()).toContain("('LC_CTYPE', 'C.UTF-8')");
    expect(warm.stdout.toString()).toBe(cold.stdout.toString());
    expect(warm.stderr.toString()).toBe(cold.stderr.toString());
  });
});
