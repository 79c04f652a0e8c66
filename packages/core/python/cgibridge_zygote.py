_MAIN_KEYS = list(globals())  # noqa: E402 -- first statement: what a fresh __main__ holds in this Python
# cgibridge warm-start zygote (Python 3.8+).
#
# Started by the gateway as `python3 cgibridge_zygote.py CONFIG` with exactly the scripts' base
# environment and no interpreter flags, so that its start-up state (sys.flags, sys.path, locale,
# stdio encodings, signal dispositions) is what a cold `python3 script.py` would have. It preloads
# an allow-list of standard-library modules, then forks once per request; the child becomes the
# script's process: its own session, the request's three stdio streams on 0/1/2, the request's
# environment, argv and cwd, and the script run by CPython's own PyRun_SimpleFileExFlags (the
# function `python3 script.py` uses), so parsing, __main__, tracebacks, SystemExit, atexit,
# thread joins and the final flush are CPython's, not an imitation.
#
# Protocol (JSON lines on fd 3, a socketpair the gateway holds; EOF there ends the zygote):
#   zygote -> gateway  {"op":"ready",...} once, then {"op":"pid","id","pid"}, {"op":"fail","id","message"},
#                      {"op":"exit","id","code"|"signal"}
#   gateway -> zygote  {"op":"spawn","id","argv0","exe","argv","env","cwd"}
# Each request's stdin/stdout/stderr arrive as three connections to the zygote's Unix socket,
# each starting with the 32-hex-digit request id and the stream number (0, 1, 2).
import sys

_BASELINE = frozenset(sys.modules)  # what a cold interpreter has imported before the script runs
_SAFE_PATH = bool(getattr(sys.flags, "safe_path", False))
if not _SAFE_PATH and sys.path:
    # Our own directory (sys.path[0]): a script must never see it, and preloads must not search it.
    del sys.path[0]

if sys.version_info < (3, 8):
    sys.stderr.write("cgibridge zygote: Python 3.8 or newer is required\n")
    sys.exit(3)


def _standard_path():
    """sys.path without PYTHONPATH and site directories: where this program's own imports come
    from, so that a json.py in PYTHONPATH cannot stand in for the zygote's json."""
    import os

    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    extra += [os.path.abspath(p) for p in extra]
    return [
        p for p in sys.path
        if p and p not in extra and "site-packages" not in p and "dist-packages" not in p
    ]


_FULL_PATH, sys.path = sys.path, _standard_path()
import builtins  # noqa: E402
import ctypes  # noqa: E402
import errno  # noqa: E402
import importlib.machinery  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

sys.path = _FULL_PATH
_OWN = frozenset(sys.modules) - _BASELINE  # what this program imported for itself

TAG_LENGTH = 33  # 32 hex digits of the request id, then the stream number
PENDING_TIMEOUT = 30.0  # seconds a request or a connection may wait for its other half

# The stdio a fresh interpreter would create, as this one created its own (same flags, locale,
# PYTHONIOENCODING): encoding, errors, line buffering, write-through, per stream.
_STDIO = [
    (s.encoding, s.errors, s.line_buffering, s.write_through) if s is not None else None
    for s in (sys.stdin, sys.stdout, sys.stderr)
]
_BUFFERED = sys.stdout is None or not isinstance(sys.stdout.buffer, io.FileIO)
_SIGCHLD_AT_START = signal.getsignal(signal.SIGCHLD)

# CPython's own "run a file as __main__" (what pymain_run_file calls), and libc's fopen for it.
_LIBC = ctypes.CDLL(None, use_errno=True)
_FOPEN = _LIBC.fopen
_FOPEN.restype = ctypes.c_void_p
_FOPEN.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_RUN_FILE = ctypes.pythonapi.PyRun_SimpleFileExFlags
_RUN_FILE.restype = ctypes.c_int
_RUN_FILE.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]


class _CompilerFlags(ctypes.Structure):
    # PyCompilerFlags as pymain_run_file initialises it (_PyCompilerFlags_INIT).
    _fields_ = [("cf_flags", ctypes.c_int), ("cf_feature_version", ctypes.c_int)]


def _log(message):
    try:
        sys.stderr.write("cgibridge zygote: %s\n" % message)
        sys.stderr.flush()
    except Exception:
        pass


# --- preload -----------------------------------------------------------------------------------

def _forget(names):
    """Removes modules from sys.modules and from their parent package, as if never imported."""
    for name in names:
        module = sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent and getattr(sys.modules.get(parent), child, None) is module:
            try:
                delattr(sys.modules[parent], child)
            except AttributeError:
                pass


def _preload(names):
    """Imports each module unless its import warns or registers an atexit handler: then the
    script's own import must do that, so the module and what it brought are forgotten."""
    import atexit

    register = atexit.register
    loaded, dropped = [], []
    for name in names:
        before = set(sys.modules)
        registered = []
        # Modules call atexit.register at import: record them to take back exactly those.
        atexit.register = lambda func, *a, **k: registered.append(func) or register(func, *a, **k)
        ok = True
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    __import__(name)
                except Exception:
                    ok = False
        finally:
            atexit.register = register
        if ok and not caught and not registered:
            loaded.append(name)
            continue
        for func in registered:
            atexit.unregister(func)
        _forget(set(sys.modules) - before)
        dropped.append(name)
    return loaded, dropped


def _stat(path):
    try:
        st = os.stat(path)
    except OSError:
        return [path, None, None, None]
    return [path, str(st.st_ino), str(st.st_mtime_ns), st.st_size]


def _dependencies():
    """Files and directories whose change makes this zygote differ from a cold start: the
    interpreter, every imported module's file, every sys.path entry (a new file there can
    shadow or add a module), the site directories and their .pth files (even absent ones)."""
    import site

    paths = {os.path.realpath(sys.executable)}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.isabs(path):
            paths.add(path)
    for entry in sys.path:
        if entry:
            paths.add(os.path.abspath(entry))
    sites = list(getattr(site, "getsitepackages", lambda: [])())
    if site.ENABLE_USER_SITE:
        sites.append(site.getusersitepackages())
    for directory in sites:
        paths.add(directory)
        try:
            paths.update(os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".pth"))
        except OSError:
            pass
    return [_stat(p) for p in sorted(paths)]


def _shadowed_own():
    """This program's own modules that a script would import from elsewhere (PYTHONPATH,
    site-packages): a zygote holding them cannot pass for a cold start."""
    shadowed = []
    for name in sorted({n.partition(".")[0] for n in _OWN} - set(sys.builtin_module_names)):
        loaded = getattr(sys.modules.get(name), "__file__", None)
        spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
        origin = getattr(spec, "origin", None)
        if loaded and origin and os.path.realpath(origin) != os.path.realpath(loaded):
            shadowed.append("%s (%s)" % (name, origin))
    return shadowed


def _shadowable():
    """Top-level names this zygote imported beyond a cold start's: a file or package of that name
    beside a script would be imported by a cold run instead of the preloaded one."""
    names = {n.partition(".")[0] for n in sys.modules if n not in _BASELINE}
    return sorted(names - set(sys.builtin_module_names) - {"__main__"})


# --- the loop ----------------------------------------------------------------------------------

class _Job(object):
    """What the forked child needs once it has left the loop."""

    def __init__(self, request):
        self.argv = [os.fsdecode(a.encode("utf-8")) for a in request["argv"]]
        self.script = request["argv"][0].encode("utf-8")
        self.argv0 = os.fsdecode(request["argv0"].encode("utf-8"))
        self.executable = os.fsdecode(request["exe"].encode("utf-8"))
        self.env = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in request["env"]]
        self.cwd = request["cwd"].encode("utf-8")


class _Zygote(object):
    def __init__(self, control, listener):
        self.control = control
        self.listener = listener
        self.inbox = b""
        self.conns = {}  # fd -> [tag bytes so far, since]
        self.streams = {}  # request id -> [{stream number: fd}, since]
        self.requests = {}  # request id -> [request, since]
        self.children = {}  # pid -> request id (None: failed before it was reported)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.poll = select.poll()
        for fd in (control, listener.fileno(), self.wake_r):
            self.poll.register(fd, select.POLLIN)

    def send(self, message):
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.control, data):]

    def serve(self):
        """Runs until the gateway goes away (exits the process) or, in a forked child, returns the job."""
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        while True:
            for fd, _ in self.poll.poll(1000):
                job = self.ready(fd)
                if job is not None:
                    return job
            self.reap()
            self.expire()

    def ready(self, fd):
        if fd == self.control:
            return self.read_control()
        if fd == self.listener.fileno():
            self.accept()
        elif fd == self.wake_r:
            try:
                while os.read(self.wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        elif fd in self.conns:
            return self.read_tag(fd)
        return None

    def read_control(self):
        data = os.read(self.control, 65536)
        if not data:
            self.shutdown()
        self.inbox += data
        while b"\n" in self.inbox:
            line, self.inbox = self.inbox.split(b"\n", 1)
            request = json.loads(line.decode("utf-8"))
            if request.get("op") == "spawn":
                self.requests[request["id"]] = [request, time.monotonic()]
                job = self.try_launch(request["id"])
                if job is not None:
                    return job
        return None

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # EMFILE and the like: the request will time out
                _log("accept: %s" % error)
                return
            fd = conn.detach()  # raw descriptors only: a forked child must hold no socket objects
            os.set_blocking(fd, False)
            self.conns[fd] = [b"", time.monotonic()]
            self.poll.register(fd, select.POLLIN)

    def read_tag(self, fd):
        entry = self.conns[fd]
        try:
            # Never more than the tag: what follows on stdin is the script's.
            data = os.read(fd, TAG_LENGTH - len(entry[0]))
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            self.drop_conn(fd)
            return None
        entry[0] += data
        if len(entry[0]) < TAG_LENGTH:
            return None
        del self.conns[fd]
        self.poll.unregister(fd)
        tag = entry[0].decode("ascii", "replace")
        ident, number = tag[:32], tag[32:]
        if number not in ("0", "1", "2"):
            os.close(fd)
            return None
        slot = self.streams.setdefault(ident, [{}, time.monotonic()])
        if number in slot[0]:
            os.close(slot[0][number])
        slot[0][number] = fd
        return self.try_launch(ident)

    def drop_conn(self, fd):
        self.conns.pop(fd, None)
        self.poll.unregister(fd)
        os.close(fd)

    def try_launch(self, ident):
        slot = self.streams.get(ident)
        if ident not in self.requests or slot is None or len(slot[0]) < 3:
            return None
        request = self.requests.pop(ident)[0]
        streams = self.streams.pop(ident)[0]
        fds = [streams[n] for n in ("0", "1", "2")]
        return self.launch(ident, request, fds)

    def launch(self, ident, request, fds):
        job = _Job(request)
        for fd in fds:
            os.set_blocking(fd, True)  # the flag lives on the shared file description: the script's is blocking
        ours, theirs = socket.socketpair()
        ours, theirs = ours.detach(), theirs.detach()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            pid = -1
            self.send({"op": "fail", "id": ident, "message": "fork: %s" % error})
        if pid == 0:
            _become_child(self, job, fds, theirs)
            return job
        for fd in fds + [theirs]:
            _close(fd)  # the child holds the only copies of the streams now
        if pid < 0:
            _close(ours)
            return None
        self.children[pid] = None
        try:
            answer = _read_answer(ours)
            if answer == b"\0":
                self.send({"op": "pid", "id": ident, "pid": pid})
                self.children[pid] = ident
            else:
                self.send({"op": "fail", "id": ident, "message": answer.decode("utf-8", "replace") or "child died"})
            # Only now may the child run the script: a zygote that died before this write
            # leaves a child that exits instead of running a script the gateway knows nothing of.
            os.write(ours, b"g")
        except OSError:
            pass
        finally:
            _close(ours)
        return None

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            ident = self.children.pop(pid, None)
            if ident is None:
                continue
            if os.WIFSIGNALED(status):
                self.send({"op": "exit", "id": ident, "signal": os.WTERMSIG(status)})
            else:
                self.send({"op": "exit", "id": ident, "code": os.WEXITSTATUS(status)})

    def expire(self):
        limit = time.monotonic() - PENDING_TIMEOUT
        for fd in [fd for fd, entry in self.conns.items() if entry[1] < limit]:
            self.drop_conn(fd)
        for ident in [i for i, slot in self.streams.items() if slot[1] < limit]:
            for fd in self.streams.pop(ident)[0].values():
                _close(fd)
        for ident in [i for i, entry in self.requests.items() if entry[1] < limit]:
            del self.requests[ident]
            self.send({"op": "fail", "id": ident, "message": "its streams never arrived"})

    def shutdown(self):
        """The gateway is gone: nobody can read the scripts' output or be told how they ended."""
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in list(self.children):
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
        os._exit(0)


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _read_answer(fd):
    """The child's first word: b"\\0" once it leads its session with the request's stdio in
    place, an error text otherwise, or b"" if it died."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return os.read(fd, 4096) if poll.poll(10000) else b"child did not start in time"


# --- the child ---------------------------------------------------------------------------------

def _become_child(zygote, job, fds, sync):
    """Turns the forked child into a fresh interpreter's state for the script, or exits."""
    try:
        os.setsid()  # before the pid is reported: the gateway's kill(-pid) must reach this group
        for number, fd in enumerate(fds):
            os.dup2(fd, number)
        os.chdir(job.cwd)
    except OSError as error:
        _answer_and_exit(sync, "%s: %s" % (errno.errorcode.get(error.errno, "EIO"), error.strerror))
    except BaseException as error:
        _answer_and_exit(sync, repr(error))
    try:
        os.write(sync, b"\0")
        go = os.read(sync, 1)
    except OSError:
        go = b""
    if go != b"g":
        os._exit(127)
    try:
        _reset_process(zygote)
        _reset_interpreter(job)
    except BaseException as error:
        try:
            os.write(2, ("cgibridge zygote: cannot prepare the script: %r\n" % (error,)).encode())
        finally:
            os._exit(127)


def _answer_and_exit(sync, message):
    try:
        os.write(sync, message.encode("utf-8", "replace"))
    finally:
        os._exit(127)


def _reset_process(zygote):
    """Signals and descriptors as a freshly executed python3 has them."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL if _SIGCHLD_AT_START is None else _SIGCHLD_AT_START)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    zygote.listener.detach()  # its descriptor goes with all the others below
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(3, os.sysconf("SC_OPEN_MAX"))
    for fd in fds:
        if fd > 2:
            _close(fd)


def _reset_interpreter(job):
    environ = os.environb
    environ.clear()  # through unsetenv/putenv: the C environ follows, for getenv() in C code
    for key, value in job.env:
        environ[key] = value
    sys.argv = job.argv
    if hasattr(sys, "orig_argv"):
        sys.orig_argv = [job.argv0] + job.argv
    sys.executable = job.executable
    if hasattr(sys, "_base_executable"):
        sys._base_executable = job.executable
    script = job.argv[0]
    if not _SAFE_PATH:
        sys.path.insert(0, os.path.dirname(script))
    sys.stdin, sys.stdout, sys.stderr = (_stdio(n) for n in range(3))
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    if hasattr(time, "tzset"):
        time.tzset()  # time.tzname and friends as a fresh import would compute them now
    if "linecache" in sys.modules:
        sys.modules["linecache"].clearcache()
    sys.modules["__main__"] = _fresh_main()


def _stdio(number):
    """A stdio stream as CPython's create_stdio makes it for a descriptor that is not a tty."""
    encoding, errors, line_buffering, write_through = _STDIO[number]
    write = number > 0
    buffering = -1 if _BUFFERED or not write else 0
    buffer = io.open(number, "wb" if write else "rb", buffering, None, None, None, False)
    raw = buffer.raw if buffering else buffer
    raw.name = ("<stdin>", "<stdout>", "<stderr>")[number]
    stream = io.TextIOWrapper(buffer, encoding, errors, "\n", line_buffering, write_through)
    stream.mode = "w" if write else "r"
    return stream


def _fresh_main():
    """__main__ as interpreter start-up leaves it, before the file runs."""
    main = type(sys)("__main__")
    namespace = main.__dict__
    for key in _MAIN_KEYS:
        if key in namespace or key in ("__file__", "__cached__"):
            continue
        if key == "__annotations__":
            namespace[key] = {}
        elif key == "__builtins__":
            namespace[key] = builtins
    namespace["__loader__"] = importlib.machinery.BuiltinImporter
    return main


def _main_importer(script):
    """What pymain_get_importer finds for the script path (a zip archive is run as a package),
    cached in sys.path_importer_cache exactly as a cold start caches it."""
    cache = sys.path_importer_cache
    if script in cache:
        return cache[script]
    importer = None
    for hook in sys.path_hooks:
        try:
            importer = hook(script)
            break
        except ImportError:
            continue
    cache[script] = importer
    return importer


def _open_script(job):
    """fopen() of the script as pymain_run_file does it, with its error message and status."""
    script = job.argv[0]
    sys.audit("cpython.run_file", script)
    sys.audit("open", script, "rb", 0)
    fp = _FOPEN(job.script, b"rbe")
    if fp:
        return fp
    code = ctypes.get_errno()
    shown = ("'%s'" % script) if sys.version_info < (3, 10) else repr(script)
    sys.stderr.write("%s: can't open file %s: [Errno %d] %s\n" % (job.argv0, shown, code, os.strerror(code)))
    sys.stderr.flush()
    raise SystemExit(2)


def _run_zip(script):
    """A zip archive: run its __main__ as pymain_run_module would (a rare case; its traceback
    keeps one frame of this file)."""
    import runpy

    sys.path.insert(0, script)
    try:
        runpy._run_module_as_main("__main__", False)
    except SystemExit:
        raise
    except BaseException:
        kind, value, tb = sys.exc_info()
        sys.last_type, sys.last_value, sys.last_traceback = kind, value, tb.tb_next
        sys.excepthook(kind, value, tb.tb_next)
        raise SystemExit(1)


if __name__ == "__main__":
    _CONFIG = json.loads(sys.argv[1])
    if _shadowed_own():
        _log("cannot run warm: these would shadow its own modules: %s" % ", ".join(_shadowed_own()))
        sys.exit(3)
    _LOADED, _DROPPED = _preload(_CONFIG.get("preload", []))
    _LISTENER = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _LISTENER.bind(_CONFIG["socket"])
    _LISTENER.listen(128)
    _LISTENER.setblocking(False)
    _ZYGOTE = _Zygote(3, _LISTENER)
    _ZYGOTE.send({
        "op": "ready",
        "pid": os.getpid(),
        "version": "%d.%d.%d" % sys.version_info[:3],
        "preloaded": _LOADED,
        "dropped": _DROPPED,
        "shadowable": _shadowable(),
        "dependencies": _dependencies(),
        "threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 1,
    })
    _JOB = _ZYGOTE.serve()  # returns only in a forked child
    # From here on this process is the script's. Its code runs below this single module-level
    # frame, which must not pass for __main__ (warnings attribute to frames by module name).
    __name__ = "cgibridge_zygote"
    del _ZYGOTE, _LISTENER
    if _main_importer(_JOB.argv[0]) is not None:
        _run_zip(_JOB.argv[0])
    else:
        _FP = _open_script(_JOB)
        # closeit=1: fclose() before the code runs, as pymain_run_file asks.
        if _RUN_FILE(_FP, _JOB.script, 1, ctypes.byref(_CompilerFlags(0, sys.version_info[1]))) != 0:
            # The traceback is printed and sys.last_* set; a KeyboardInterrupt leaves CPython's
            # flag that makes the process end by SIGINT once finalised, as a cold start would.
            if not issubclass(getattr(sys, "last_type", type(None)) or type(None), KeyboardInterrupt):
                raise SystemExit(1)
