_MAIN_KEYS = list(globals())  # the first statement: what a fresh __main__ holds in this Python
# cgibridge warm-start zygote (Python 3.8+).
#
# Started by the gateway as `python3 cgibridge_zygote.py CONFIG` with exactly the scripts' base
# environment and no interpreter flags, so that its start-up state (sys.flags, sys.path, locale,
# stdio encodings, signal dispositions) is what a cold `python3 script.py` would have. It preloads
# an allow-list of standard-library modules, then forks once per request; the child becomes the
# script's process: its own session, the request's three stdio streams on 0/1/2, the request's
# environment, argv and cwd. The script is parsed, compiled and run from its FILE* by CPython's
# own PyRun_FileExFlags; what pymain and Py_FinalizeEx do around it (the __main__ module,
# PyErr_Print and sys.excepthook, SystemExit, atexit, thread joins, the flush that turns a failure
# into status 120, tearing down what the script created) is reproduced step by step below.
#
# Protocol (JSON lines on fd 3, a socketpair the gateway holds; EOF there ends the zygote):
#   zygote -> gateway  {"op":"ready",...} once, then {"op":"pid","id","pid"},
#                      {"op":"fail","id","message"[,"errno","error","syscall"]}, {"op":"exit","id","code"|"signal"}
#   gateway -> zygote  {"op":"spawn","id"[,"limits":{"cpu","as","nproc"}][,"uid","gid"]}
# Each request's stdin/stdout/stderr arrive as three connections to the zygote's Unix socket,
# each starting with the 32-hex-digit request id and the stream number (0, 1, 2). On stdin the
# request itself follows (8 hex digits of length, then name, zip flag, argv0, executable, cwd,
# argc, argv and the environment's key=value items, NUL-separated), then the script's input:
# only the forked child reads it, so no request's environment (cookies, credentials) is ever in
# the zygote's memory, which every later child inherits. What decides the child's limits and user arrives only on fd 3, which no script holds.
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
import _weakref  # noqa: E402
import atexit  # noqa: E402
import builtins  # noqa: E402
import ctypes  # noqa: E402
import errno  # noqa: E402
import gc  # noqa: E402
import importlib.machinery  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import marshal  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zipimport  # noqa: E402

sys.path = _FULL_PATH
_OWN = frozenset(sys.modules) - _BASELINE  # what this program imported for itself

TAG_LENGTH = 33  # 32 hex digits of the request id, then the stream number
PENDING_TIMEOUT = 30.0  # seconds a request or a connection may wait for its other half

# The gateway starts this program with a socketpair on each of 0, 1 and 2, as it starts a cold
# script: sys.stdin, sys.stdout and sys.stderr were made by CPython's create_stdio for the same
# kind of descriptor with the same flags and locale. A child keeps them (after flushing, with
# nothing buffered) and only swaps the descriptors under them.
_STDIO = (sys.stdin, sys.stdout, sys.stderr)
_SIGCHLD_AT_START = signal.getsignal(signal.SIGCHLD)

# CPython's own "run a file as __main__" (what pymain_run_file calls), and libc's fopen for it.
_LIBC = ctypes.CDLL(None, use_errno=True)
_FOPEN = _LIBC.fopen
_FOPEN.restype = ctypes.c_void_p
_FOPEN.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_FILENO = _LIBC.fileno
_FILENO.argtypes = [ctypes.c_void_p]
_FCLOSE = _LIBC.fclose
_FCLOSE.argtypes = [ctypes.c_void_p]
_RUN_FILE = ctypes.pythonapi.PyRun_FileExFlags
_RUN_FILE.restype = ctypes.py_object
_RUN_FILE.argtypes = [
    ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.py_object, ctypes.py_object, ctypes.c_int, ctypes.c_void_p,
]
_FILE_INPUT = 257  # Py_file_input
_PRCTL = _LIBC.prctl  # looked up here, once: a child's lookup would build objects on shared pages
_PR_SET_NAME = 15
_PR_SET_DUMPABLE = 4
# Past the highest descriptor the zygote can open (its soft limit, which it never changes).
_OPEN_MAX = os.sysconf("SC_OPEN_MAX")
_MAX_FD = _OPEN_MAX if _OPEN_MAX > 3 else 65536


def _working_close_range():
    """libc's close_range(2) if this kernel runs it, else None. CPython's os.closerange would
    try each number up to the limit where the call is missing (a kernel before 5.9, a seccomp
    filter, an interpreter built without it): with Node's raised limits, up to a million."""
    func = getattr(_LIBC, "close_range", None)
    if func is None:
        return None
    func.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]
    func.restype = ctypes.c_int
    # An empty range above every descriptor: 0 where the call works, -1 (ENOSYS, EPERM) where not.
    return func if func(0x7FFFFFFE, 0x7FFFFFFE, 0) == 0 else None


_CLOSE_RANGE = _working_close_range()
# The limits a request may ask for, in the order the native spawner sets them.
_LIMITS = (("cpu", "RLIMIT_CPU"), ("as", "RLIMIT_AS"), ("nproc", "RLIMIT_NPROC"))


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


def _startup_additions():
    """Variables CPython itself added to the environment at start-up (PEP 538 sets LC_CTYPE
    when it coerces the C locale): a cold start adds the same, its start-up variables being ours."""
    try:
        with open("/proc/self/environ", "rb") as f:
            items = f.read().split(b"\0")
    except OSError:
        return []
    original = dict(item.split(b"=", 1) for item in items if b"=" in item)
    return [(key, value) for key, value in os.environb.items() if original.get(key) != value]


def _shadowable():
    """Top-level names this zygote imported beyond a cold start's: a file or package of that name
    beside a script would be imported by a cold run instead of the preloaded one."""
    names = {n.partition(".")[0] for n in sys.modules if n not in _BASELINE}
    return sorted(names - set(sys.builtin_module_names) - {"__main__"})


# --- the loop ----------------------------------------------------------------------------------

class _Job(object):
    """What the forked child needs once it has left the loop: the request it read from its own
    stdin stream, and the limits and user the control message asked for."""

    def __init__(self, request, control):
        limits = control.get("limits") or {}
        self.limits = [(name, limits[key]) for key, name in _LIMITS if limits.get(key) is not None]
        self.uid = control.get("uid")
        self.gid = control.get("gid")
        # The gateway's frame: name, zip flag, argv0, executable, cwd, argc, the argv, then the
        # environment's key=value items, each as UTF-8 and NUL-separated (none can hold a NUL).
        self.name, zip_flag, argv0, exe, self.cwd, argc = request[:6]
        argc = int(argc)
        if argc < 1 or len(request) < 6 + argc:
            raise ValueError("a malformed request: %d arguments" % argc)
        self.script = request[6]
        self.argv = [os.fsdecode(a) for a in request[6:6 + argc]]
        self.argv0 = os.fsdecode(argv0)
        self.executable = os.fsdecode(exe)
        self.env = [item.partition(b"=")[::2] for item in request[6 + argc:]]
        self.may_be_zip = zip_flag == b"1"


def _read_exactly(fd, size):
    """Exactly `size` bytes from a blocking descriptor: what follows is the script's."""
    chunks = []
    while size > 0:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the request's stream ended before the request")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_request(fd):
    """The request the gateway sent ahead of the script's input on its stdin stream: its fields.
    Plain bytes, not JSON: every object a child builds or touches is a page it may copy."""
    size = int(_read_exactly(fd, 8), 16)
    return _read_exactly(fd, size).split(b"\0")


class _Zygote(object):
    def __init__(self, control, listener):
        self.control = control
        self.listener = listener
        self.inbox = b""
        self.conns = {}  # fd -> [tag bytes so far, since]
        self.streams = {}  # request id -> [{stream number: fd}, since]
        self.requests = {}  # request id -> [request, since]
        self.children = {}  # pid -> request id (None: failed before it was reported)
        self.forking = {}  # the zygote's end of a child's first-word socketpair -> [pid, request id, since]
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
        elif fd in self.forking:
            self.read_answer(fd)
        return None

    def read_control(self):
        data = os.read(self.control, 65536)
        if not data:
            self.shutdown()
        self.inbox += data
        while b"\n" in self.inbox:
            line, self.inbox = self.inbox.split(b"\n", 1)
            request = json.loads(line.decode("utf-8"))  # the id, limits and user: nothing secret
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
            return _become_child(self, request, fds, theirs)
        for fd in fds + [theirs]:
            _close(fd)  # the child holds the only copies of the streams now
        if pid < 0:
            _close(ours)
            return None
        # Its answer comes through the loop: waiting here would make every fork wait for the
        # previous child to be scheduled.
        self.children[pid] = None
        self.forking[ours] = [pid, ident, time.monotonic()]
        self.poll.register(ours, select.POLLIN)
        return None

    def read_answer(self, fd):
        """The child's first word: b"\0" once it leads its session with the request's stdio in
        place, an error text otherwise, or b"" if it died."""
        pid, ident, _ = self.forking.pop(fd)
        self.poll.unregister(fd)
        try:
            answer = os.read(fd, 4096)
        except OSError:
            answer = b""
        self.answer(fd, pid, ident, answer)

    def answer(self, fd, pid, ident, answer):
        try:
            if answer == b"\0":
                self.send({"op": "pid", "id": ident, "pid": pid})
                self.children[pid] = ident
                # Only now may the child run the script: a zygote that died before this write
                # leaves a child that exits instead of running a script the gateway knows nothing of.
                os.write(fd, b"g")
                return
            # Reaped before the gateway hears of it, as a cold spawner's failed child is: it
            # must not count against its user's process limit when the next spawn is tried.
            self.reap_now(pid)
            if answer[:1] == b"!":
                # A refusal a cold start would have given too (setuid, setrlimit...): the spawn fails.
                self.send(dict(json.loads(answer[1:].decode("utf-8")), op="fail", id=ident))
            else:
                self.send({"op": "fail", "id": ident, "message": answer.decode("utf-8", "replace") or "child died"})
        except OSError:
            pass
        finally:
            _close(fd)

    def reap_now(self, pid):
        """Waits for a child that has ended or is ending (it failed before it was reported)."""
        self.children.pop(pid, None)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass

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
        for fd in [fd for fd, entry in self.forking.items() if entry[2] < limit]:
            pid, ident, _ = self.forking.pop(fd)
            self.poll.unregister(fd)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            self.answer(fd, pid, ident, b"child did not start in time")

    def shutdown(self):
        """The gateway is gone: nobody can read the scripts' output or be told how they ended.
        The socket and its private directory go too (a gateway that died cannot remove them)."""
        path = self.listener.getsockname()
        for remove in (os.unlink, os.rmdir):
            try:
                remove(path)
            except OSError:
                pass
            path = os.path.dirname(path)
        for fd in list(self.forking):
            _close(fd)  # a child still waiting for its go-ahead reads EOF and exits
        for pid in list(self.children):
            for kill in (os.killpg, os.kill):  # its group, or itself if it has none yet
                try:
                    kill(pid, signal.SIGKILL)
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


# --- the child ---------------------------------------------------------------------------------

def _become_child(zygote, control, fds, sync):
    """Turns the forked child into a fresh interpreter's state for the script and returns its
    job, or exits. The steps and their order are the native spawner's (its child.c): a session of
    its own, the streams on 0-2, the working directory, the limits, the user; only then is the
    pid reported, and nothing of the script runs before the zygote's go-ahead."""
    try:
        job = _Job(_read_request(fds[0]), control)
        os.setsid()  # before the pid is reported: the gateway's kill(-pid) must reach this group
        for number, fd in enumerate(fds):
            os.dup2(fd, number)
        os.chdir(job.cwd)  # before the user switch: the server may enter directories the script's user cannot
    except OSError as error:
        _answer_and_exit(sync, "%s: %s" % (errno.errorcode.get(error.errno, "EIO"), error.strerror))
    except BaseException as error:
        _answer_and_exit(sync, repr(error))
    _limit_and_switch_user(job, sync)
    try:
        os.write(sync, b"\0")
        go = os.read(sync, 1)
    except OSError:
        go = b""
    if go != b"g":
        os._exit(127)
    try:
        _reset_process(zygote, job)
        _reset_interpreter(job)
    except BaseException as error:
        try:
            os.write(2, ("cgibridge zygote: cannot prepare the script: %r\n" % (error,)).encode())
        finally:
            os._exit(127)
    return job


def _limit_and_switch_user(job, sync):
    """The limits (soft = hard, but CPU time's hard limit a second later: SIGXCPU says why,
    SIGKILL follows if it is ignored), then no supplementary groups, the group, the user; as
    root any limit can be set. A failure refuses the spawn as a cold start would, and nothing
    of the script runs. The CPU time counts from the fork: the limit measures the script."""
    step = "setrlimit"
    try:
        switching = job.uid is not None and (os.getuid() != job.uid or os.geteuid() != job.uid)
        # The kernel checks RLIMIT_NPROC when the user changes and fails the execve that follows
        # (EAGAIN) when that user already had more processes than the limit. There is no execve
        # here: starting a process under a limit two higher (the count then includes this
        # process and the new one) fails in exactly that case.
        probe = [value for name, value in job.limits if name == "RLIMIT_NPROC" and switching]
        _set_limits(job.limits, 2 if probe else 0)
        if job.uid is not None:
            step = "setgroups"
            try:
                os.setgroups([])
            except OSError:
                pass  # an unprivileged server cannot, and need not: its groups stay (as cold)
            step = "setgid"
            os.setgid(job.gid)
            step = "setuid"
            os.setuid(job.uid)
        if probe:
            step = "execve"
            _probe_fork()
            step = "setrlimit"
            _set_limits([("RLIMIT_NPROC", probe[0])], 0)
    except (OSError, ValueError, OverflowError) as error:
        code = error.errno if isinstance(error, OSError) and error.errno else errno.EINVAL
        refusal = {"errno": code, "error": errno.errorcode.get(code, "EIO"), "syscall": step}
        refusal["message"] = "%s: %s" % (step, os.strerror(code))
        _answer_and_exit(sync, "!" + json.dumps(refusal))


def _set_limits(limits, nproc_extra):
    """prlimit() for each (name, value), reporting errno (setrlimit's Python wrapper turns EPERM
    into a ValueError). `resource` is imported here and forgotten: the script imports its own."""
    if not limits:
        return
    loaded = "resource" in sys.modules
    import resource

    try:
        for name, value in limits:
            soft = value + (nproc_extra if name == "RLIMIT_NPROC" else 0)
            hard = soft + 1 if name == "RLIMIT_CPU" else soft
            resource.prlimit(0, getattr(resource, name), (soft, hard))
    finally:
        if not loaded:
            _forget(["resource"])


def _probe_fork():
    """A process that ends at once (EAGAIN when the user is over its process limit): posix_spawn
    clones vfork-style, so nothing of this process is copied, and the empty program fails."""
    try:
        os.posix_spawn("", ["probe"], {})
    except FileNotFoundError:
        pass  # it was started, and is gone (posix_spawn reaped it): the limit let it


def _answer_and_exit(sync, message):
    try:
        os.write(sync, message.encode("utf-8", "replace"))
    finally:
        os._exit(127)


def _reset_process(zygote, job):
    """Signals and descriptors as a freshly executed python3 has them."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL if _SIGCHLD_AT_START is None else _SIGCHLD_AT_START)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    zygote.listener.detach()  # its descriptor goes with all the others below
    _close_from(3)
    if job.uid is not None:
        # Changing the user made the process non-dumpable: /proc/self owned by root, no core
        # dump, no ptrace by its own user. An execve as that user makes it dumpable again; here
        # that waits until no descriptor of the zygote's is left for another process to take.
        _PRCTL(_PR_SET_DUMPABLE, 1, 0, 0, 0)


def _close_from(low):
    """Closes every descriptor from `low` up: one close_range(2) where it works, nothing listed
    and no object built; else those /proc/self/fd lists."""
    if _CLOSE_RANGE is not None and _CLOSE_RANGE(low, 0xFFFFFFFF, 0) == 0:
        return
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(low, _MAX_FD)
    for fd in fds:
        if fd >= low:
            _close(fd)


def _reset_interpreter(job):
    # What os.environ.clear() and os.environ.update() do (unsetenv and putenv, so that getenv()
    # in C code agrees), without their per-item overhead: the same order, the same C environ.
    data = os.environ._data
    for key in data:
        os.unsetenv(key)
    data.clear()
    for key, value in job.env + _ENV_ADDED:
        os.putenv(key, value)
        data[key] = value
    _PRCTL(_PR_SET_NAME, job.name, 0, 0, 0)  # /proc/self/comm, as execve would have set it
    sys.argv = job.argv
    if hasattr(sys, "orig_argv"):
        sys.orig_argv = [job.argv0] + job.argv
    sys.executable = job.executable
    if hasattr(sys, "_base_executable"):
        sys._base_executable = job.executable
    script = job.argv[0]
    if not _SAFE_PATH:
        sys.path.insert(0, os.path.dirname(script))
    sys.stdin, sys.stdout, sys.stderr = _STDIO
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = _STDIO
    if hasattr(time, "tzset"):
        time.tzset()  # time.tzname and friends as a fresh import would compute them now
    if "linecache" in sys.modules:
        sys.modules["linecache"].clearcache()
    sys.modules["__main__"] = _fresh_main()


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


def _standard_path_hooks():
    """zipimporter, then FileFinder's hook (which refuses anything but a directory)."""
    hooks = sys.path_hooks
    return (
        len(hooks) == 2
        and hooks[0] is zipimport.zipimporter
        and getattr(hooks[1], "__qualname__", "").startswith("FileFinder.path_hook")
    )


def _main_importer(script, may_be_zip):
    """What pymain_get_importer finds for the script path (a zip archive is run as a package),
    cached in sys.path_importer_cache exactly as a cold start caches it. With the standard
    hooks and no zip signature in the file (the gateway looked), every hook would refuse it."""
    cache = sys.path_importer_cache
    if script in cache:
        return cache[script]
    if not may_be_zip and _STANDARD_HOOKS:
        cache[script] = None
        return None
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
    _write_stderr("%s: can't open file %s: [Errno %d] %s\n" % (job.argv0, shown, code, os.strerror(code)))
    raise SystemExit(2)


def _is_pyc(fp, script):
    """maybe_pyc_file: a .pyc name, or the first two bytes of this Python's magic number."""
    if script.endswith(".pyc"):
        return True
    return os.pread(_FILENO(fp), 2, 0) == importlib.util.MAGIC_NUMBER[:2]


def _run_pyc(fp, namespace):
    """run_pyc_file: the code object after the 16-byte header."""
    _FCLOSE(fp)
    with open(namespace["__file__"], "rb") as f:
        data = f.read()
    if data[:4] != importlib.util.MAGIC_NUMBER:
        raise RuntimeError("Bad magic number in .pyc file")
    code = marshal.loads(data[16:])
    if not isinstance(code, type(_run_pyc.__code__)):
        raise RuntimeError("Bad code object in .pyc file")
    exec(code, namespace, namespace)


def _run_zip(script):
    """A zip archive: its __main__ run as pymain_run_module runs it."""
    import runpy

    sys.path.insert(0, script)
    runpy._run_module_as_main("__main__", False)


def _run(job, main):
    """_PyRun_SimpleFileObject up to its PyErr_Print (an exception leaves through here).
    Parsing and compiling are CPython's own: PyRun_FileExFlags on the FILE*."""
    script = job.argv[0]
    if _main_importer(script, job.may_be_zip) is not None:
        _run_zip(script)
        return
    fp = _open_script(job)
    namespace = main.__dict__
    namespace["__file__"] = script
    namespace["__cached__"] = None
    if _is_pyc(fp, script):
        namespace["__loader__"] = importlib.machinery.SourcelessFileLoader("__main__", script)
        _run_pyc(fp, namespace)
    else:
        namespace["__loader__"] = importlib.machinery.SourceFileLoader("__main__", script)
        flags = _CompilerFlags(0, sys.version_info[1])
        # closeit=1: the FILE is closed before the code runs, as pymain_run_file asks.
        _RUN_FILE(fp, job.script, _FILE_INPUT, namespace, namespace, 1, ctypes.byref(flags))


def _flush_io():
    """flush_io: stderr then stdout, errors ignored, once the script's code has returned."""
    for name in ("stderr", "stdout"):
        try:
            getattr(sys, name).flush()
        except BaseException:
            pass


def _write_stderr(text):
    try:
        sys.stderr.write(text)
    except BaseException:
        pass


def _below_us(tb):
    """A traceback without the frames of this file it propagated through: it starts in the script."""
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb


class _Outcome(object):
    """How the script ended, as Py_RunMain would settle it."""

    def __init__(self, status=0, interrupted=False, system_exit=False):
        self.status = status
        self.interrupted = interrupted  # an uncaught KeyboardInterrupt: end by SIGINT
        self.system_exit = system_exit  # handle_system_exit's Py_Exit: skips the rest of the run


def _system_exit(error):
    """handle_system_exit: None is 0, an int is the status, anything else is printed and 1."""
    code = getattr(error, "code", error)
    if code is None:
        return _Outcome(0, system_exit=True)
    if isinstance(code, int):
        # exit() takes a C int: only the low byte reaches the parent; PyLong_AsLong overflows to -1.
        return _Outcome((code if -(2**63) <= code < 2**63 else -1) & 0xFF, system_exit=True)
    _write_stderr(str(code))
    _write_stderr("\n")
    return _Outcome(1, system_exit=True)


def _print_uncaught(error):
    """_PyErr_PrintEx: sys.last_*, the audit event and sys.excepthook (and what CPython prints
    when the hook itself fails), with a traceback that starts in the script."""
    kind, tb = type(error), _below_us(error.__traceback__)
    error.__traceback__ = tb
    sys.last_type, sys.last_value, sys.last_traceback = kind, error, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = error
    missing = object()
    hook = getattr(sys, "excepthook", missing)
    try:
        sys.audit("sys.excepthook", None if hook is missing else hook, kind, error, tb)
    except RuntimeError:
        return _Outcome(1, interrupted=issubclass(kind, KeyboardInterrupt))
    if hook is missing:
        _write_stderr("sys.excepthook is missing\n")
        sys.__excepthook__(kind, error, tb)
    else:
        hook_error = _call_hook(hook, kind, error, tb)
        if isinstance(hook_error, SystemExit):
            return _system_exit(hook_error)
        if hook_error is not None:
            _write_stderr("Error in sys.excepthook:\n")
            hook_error.__traceback__ = _below_us(hook_error.__traceback__)
            sys.__excepthook__(type(hook_error), hook_error, hook_error.__traceback__)
            _write_stderr("\nOriginal exception was:\n")
            sys.__excepthook__(kind, error, tb)
    return _Outcome(1, interrupted=issubclass(kind, KeyboardInterrupt))


def _call_hook(hook, kind, error, tb):
    """Calls the hook; returns what it raised, or None."""
    try:
        hook(kind, error, tb)
    except BaseException as hook_error:
        return hook_error
    return None


def _unraisable(error, obj, message=None):
    """PyErr_WriteUnraisable(obj) through sys.unraisablehook, as the C function calls it."""
    args = _UNRAISABLE_ARGS((type(error), error, _below_us(error.__traceback__), message, obj))
    try:
        sys.unraisablehook(args)
    except BaseException:
        sys.__unraisablehook__(args)


def _flush_std_files():
    """flush_std_files: False when flushing failed (the exit status becomes 120)."""
    ok = True
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        try:
            if stream is None or stream.closed:
                continue
        except BaseException:
            pass
        try:
            stream.flush()
        except BaseException as error:
            if name == "stdout" and sys.version_info >= (3, 13):
                _unraisable(error, None, "Exception ignored on flushing sys.stdout")
            elif name == "stdout":
                _unraisable(error, stream)
            ok = False
    return ok


def _flush_quietly():
    """The streams' last flush: CPython clears the sys module after the teardown, and the
    streams flush as they are freed, errors unreported and the status unchanged."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _clear_module_dict(namespace):
    """_PyModule_ClearDict: names with one leading underscore first, then all but __builtins__."""
    for key in list(namespace):
        if isinstance(key, str) and key[:1] == "_" and key[1:2] != "_" and namespace[key] is not None:
            namespace[key] = None
    for key in list(namespace):
        if isinstance(key, str) and key != "__builtins__" and namespace[key] is not None:
            namespace[key] = None


def _tear_down_script_modules():
    """finalize_modules for what the script brought: __main__ and every module imported since
    the fork. The preloaded standard library is left standing: tearing it down would touch (and
    so copy) every page the child shares with the zygote, which costs more than a cold start."""
    builtins._ = None
    names = ["path", "argv", "ps1", "ps2", "last_type", "last_value", "last_traceback", "path_hooks"]
    names += ["path_importer_cache", "meta_path", "__interactivehook__"]
    if sys.version_info >= (3, 12):
        names.append("last_exc")
    for name in names:
        setattr(sys, name, None)
    for name in ("stdin", "stdout", "stderr"):
        setattr(sys, name, getattr(sys, "__%s__" % name, None))
    # Modules imported since the fork are the newest keys of sys.modules (the fresh __main__
    # took over an old key). Walking only those leaves the preloaded module objects untouched:
    # even a reference count written is a page copied.
    names = []
    for name in reversed(sys.modules):
        if name in _ZYGOTE_MODULES:
            break
        names.append(name)
    weak = []
    for name in ["__main__"] + names[::-1]:
        module = sys.modules.get(name)
        if isinstance(module, type(sys)):
            weak.append(_weakref.ref(module))
        sys.modules[name] = None
    # finalize_restore_builtins: what the script added is released only once the dict is whole again.
    replaced = dict(builtins.__dict__)
    builtins.__dict__.clear()
    builtins.__dict__.update(_BUILTINS)
    del replaced
    gc.collect()
    for ref in reversed(weak):
        module = ref()
        if module is not None:
            _clear_module_dict(module.__dict__)
    gc.collect()


def _finalize(outcome):
    """Py_FinalizeEx as a script can observe it, then the exit: non-daemon threads joined,
    atexit handlers run, stdio flushed (120 when that fails), garbage collected, the script's
    modules torn down; an uncaught KeyboardInterrupt ends the process by SIGINT."""
    status = outcome.status
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException as error:
            _unraisable(error, threading)
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass  # before 3.10 it re-raises the last callback's exception, which finalisation drops
    if not _flush_std_files():
        status = 120
    if gc.isenabled():
        gc.collect()
    _tear_down_script_modules()
    _flush_quietly()
    if outcome.interrupted:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        status = 130
    os._exit(status)


def _unraisable_args_type():
    """sys.UnraisableHookArgs is not exposed: catch one to learn its type."""
    caught = []
    saved, sys.unraisablehook = sys.unraisablehook, caught.append

    class _Probe(object):
        def __del__(self):
            raise ValueError

    _Probe()
    sys.unraisablehook = saved
    return type(caught[0])


if __name__ == "__main__":
    _CONFIG = json.loads(sys.argv[1])
    _ENV_ADDED = _startup_additions()
    _STANDARD_HOOKS = _standard_path_hooks()
    if _shadowed_own():
        _log("cannot run warm: these would shadow its own modules: %s" % ", ".join(_shadowed_own()))
        sys.exit(3)
    _UNRAISABLE_ARGS = _unraisable_args_type()
    # What finalize_restore_builtins restores: builtins as they were before site added its names.
    _BUILTINS = dict(builtins.__dict__)
    if "site" in sys.modules:
        for _NAME in ("exit", "quit", "copyright", "credits", "license", "help"):
            _BUILTINS.pop(_NAME, None)
    _LOADED, _DROPPED = _preload(_CONFIG.get("preload", []))
    _LISTENER = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _LISTENER.bind(_CONFIG["socket"])
    _LISTENER.listen(1024)  # three connections per request, a burst of them at a time
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
    _ZYGOTE_MODULES = frozenset(sys.modules)
    # Children's garbage collections then skip everything preloaded: fewer pages touched and copied.
    gc.collect()
    gc.freeze()
    _JOB = _ZYGOTE.serve()  # returns only in a forked child
    # From here on this process is the script's. Its code runs below this single module-level
    # frame, which must not pass for __main__ (warnings attribute to frames by module name).
    __name__ = "cgibridge_zygote"
    del _ZYGOTE, _LISTENER
    _MAIN = sys.modules["__main__"]
    _UNCAUGHT = None
    try:
        _run(_JOB, _MAIN)
    except BaseException as _ERROR:
        _UNCAUGHT = _ERROR
    _flush_io()
    # Out of the except clause: the hooks must not see this exception as being handled.
    if _UNCAUGHT is None:
        _OUTCOME = _Outcome()
    elif isinstance(_UNCAUGHT, SystemExit):
        _OUTCOME = _system_exit(_UNCAUGHT)
    else:
        _OUTCOME = _print_uncaught(_UNCAUGHT)
    _UNCAUGHT = None
    if not _OUTCOME.system_exit:
        # The end of _PyRun_SimpleFileObject: __file__ and __cached__ go (Py_Exit skips this).
        _MAIN.__dict__.pop("__file__", None)
        _MAIN.__dict__.pop("__cached__", None)
    del _MAIN, _JOB
    _finalize(_OUTCOME)
