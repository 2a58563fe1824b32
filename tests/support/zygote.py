"""One process per test run that imports the app and the test tools once, and from which
every test worker and every `connecthub` command the tests start is forked.

Each xdist worker was a new interpreter that imported the app and pytest (~3 CPU-s), and
then started a fork server of its own that imported the app again for the commands its
tests ran (tests/support/forked_command.py): four workers paid that eight times per run,
all of it before or beside their first tests. Now the run's first process starts this one
(`start`, from `pytest_configure`); it imports `PRELOAD`, freezes what it imported out of
the collector's passes, and forks on request:

- a test worker: xdist starts `tests/support/zygote_client.py` instead of the interpreter
  (`worker_python`), which sends its standard streams, arguments, environment and
  directory; the fork becomes `python -u -c <xdist's bootstrap>` with them;
- a command (`fork_command`): `connecthub <args>` (or a script) with its environment,
  directory and output file, as `ForkedCommand` describes.

Each requester keeps its connection open for the fork's life: it gets the fork's pid, then
its exit status (negative: the signal that ended it). A requester that goes away takes its
fork with it (SIGKILL), and this process ends, its forks with it, when the run's first
process closes its end of the pipe it reads (that process ending, however it ends).

Run as a script by path (`python -c` running it), so the fork's `tests` package and its
assertion rewriting are the worker's own; it imports only the standard library until it
preloads. POSIX only, as the suite is."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import gc
import importlib
import io
import json
import os
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path
from typing import Any

# What the test workers import as they collect, and the commands as they start: the app and
# its modules the tests import beyond it (those the app loads where first used among them:
# cards.page, denylists.mx, push.sending), the test tools. (A module that reads the
# environment as it is imported must not be here: the forks' environments differ.)
PRELOAD = [
    "connecthub.app",
    "connecthub.cards.page",
    "connecthub.cli",
    "connecthub.denylists.mx",
    "connecthub.serving",
    "connecthub.detection.packaged_model",
    "connecthub.infra.migrations",
    "connecthub.media.tasks",
    "connecthub.ops.metrics_server",
    "connecthub.portability.tasks",
    "connecthub.preforked",  # the routes compiled once, for every fork
    "connecthub.privacy.tasks",
    "connecthub.push.sending",
    "httpx",
    "hypothesis",
    "mastodon",
    "pytest",
    "pytest_asyncio",
    "websockets",
    "xdist.remote",
]
SOCKET_ENV = "CONNECTHUB_TEST_ZYGOTE"
_PR_SET_PDEATHSIG = 1
_HERE = Path(__file__).resolve()
_CLIENT = _HERE.with_name("zygote_client.py")


# -- the run's first process --------------------------------------------------------------


class Zygote:
    """The preloaded process, as started by the run's first process."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="connecthub-zygote-")
        self.path = os.path.join(self.directory, "socket")
        # Started by `python -c`, as a worker is: `sys.path[0]` is '' in both.
        code = f"import runpy; runpy.run_path({str(_HERE)!r}, run_name='__zygote__')"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, self.path], stdin=subprocess.PIPE
        )
        # It listens before it preloads (requests wait in its backlog meanwhile).
        deadline = time.monotonic() + 60
        while not os.path.exists(self.path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the preloaded process did not start")
            time.sleep(0.01)

    def worker_python(self) -> str:
        """xdist's `python=` for a worker: the client, which asks for the fork."""
        return f"{sys.executable} -S {_CLIENT} {self.path}"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # its signal to end
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for name in os.listdir(self.directory):
            os.unlink(os.path.join(self.directory, name))
        os.rmdir(self.directory)


_started: Zygote | None = None


def start() -> Zygote:
    """This run's preloaded process, its socket named in the environment for the workers
    and commands this process starts."""
    global _started
    if _started is None:
        _started = Zygote()
        os.environ[SOCKET_ENV] = _started.path
    return _started


def current() -> Zygote | None:
    return _started


def stop() -> None:
    global _started
    if _started is not None:
        _started.stop()
        os.environ.pop(SOCKET_ENV, None)
        _started = None


# -- a requester (a test worker's commands) -------------------------------------------------


class Fork:
    """A fork made for this process: its pid, and its exit status once it has one."""

    def __init__(self, request: dict[str, Any]) -> None:
        self._connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if SOCKET_ENV not in os.environ:  # a run without workers: started on first use
            start()
            atexit.register(stop)
        self._connection.connect(os.environ[SOCKET_ENV])
        payload = json.dumps(request).encode()
        self._connection.sendall(struct.pack("!I", len(payload)) + payload)
        (self.pid,) = struct.unpack("!i", read_exactly(self._connection, 4))
        self.exit_status: int | None = None

    def wait(self, timeout: float | None) -> int | None:
        """The exit status, waiting at most `timeout` seconds (0: a look)."""
        if self.exit_status is None:
            ready, _, _ = select.select([self._connection], [], [], timeout)
            if not ready:
                return None
            (self.exit_status,) = struct.unpack("!i", read_exactly(self._connection, 4))
            self._connection.close()
        return self.exit_status


def fork_command(
    args: list[str], env: dict[str, str], output: str, cwd: str | None, script: str | None
) -> Fork:
    """`connecthub <args>` (or `python <script> <args>`) forked from the preloaded process."""
    request = {"mode": "command", "argv": args, "env": env, "output": output}
    return Fork({**request, "cwd": cwd, "script": script})


def read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError("the preloaded process went away")
        data += chunk
    return data


# -- the preloaded process ------------------------------------------------------------------


def _serve(path: str) -> None:
    # A terminal's Ctrl-C reaches the run's processes, its forks among them, not this one:
    # it ends when the run does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    # What it imports lives as long as the run: the collector is paused meanwhile (as in
    # connecthub/preforked.py), then what exists is frozen, inherited by every fork and never
    # walked by its collector.
    gc.disable()
    for name in PRELOAD:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    gc.enable()
    waker_read, waker_write = socket.socketpair()
    waker_read.setblocking(False)
    waker_write.setblocking(False)
    signal.set_wakeup_fd(waker_write.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the loop through the fd
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(waker_read, selectors.EVENT_READ, "waker")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")
    forks: dict[int, socket.socket] = {}  # pid -> its requester's connection
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    for pid in forks:
                        _kill(pid)
                    return
            elif key.data == "waker":  # a fork ended (SIGCHLD): reaped below
                with contextlib.suppress(BlockingIOError):
                    while waker_read.recv(4096):
                        pass
            elif key.data == "listener":
                connection, _ = listener.accept()
                inherited = [selector, listener, waker_read, waker_write, *forks.values()]
                pid = _fork(connection, inherited)
                forks[pid] = connection
                selector.register(connection, selectors.EVENT_READ, pid)
            else:  # a requester's connection: it said nothing more, so it went away
                _kill(key.data)
        _reap(forks, selector)


def _reap(forks: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    while forks:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = forks.pop(pid, None)
        if connection is None:
            continue
        selector.unregister(connection)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        with contextlib.suppress(OSError):  # the requester went away
            connection.sendall(struct.pack("!i", code))
        connection.close()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _fork(connection: socket.socket, inherited: list[Any]) -> int:
    header, fds, _, _ = socket.recv_fds(connection, 4, 3)
    header += read_exactly(connection, 4 - len(header))
    (size,) = struct.unpack("!I", header)
    request = json.loads(read_exactly(connection, size))
    parent = os.getpid()
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        connection.sendall(struct.pack("!i", pid))
        return pid
    code = 1
    try:
        _die_with(parent)
        for thing in [connection, *inherited]:
            thing.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if request["mode"] == "python":
            code = _as_interpreter(request, fds)
        else:
            code = _as_command(request)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)
    raise AssertionError("unreachable")


def _die_with(parent: int) -> None:
    """A fork ends with this process (Linux; elsewhere its requester's going away ends
    it): one left behind by a run that crashed would serve, or restart its own processes,
    for ever."""
    libc = ctypes.util.find_library("c")
    if libc is not None and sys.platform.startswith("linux"):
        ctypes.CDLL(libc, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # it ended before the request took effect
            os._exit(1)


def _environment(request: dict[str, Any], path_at: int) -> None:
    """The requester's directory and environment, its PYTHONPATH on `sys.path` at `path_at`
    as the interpreter would put it."""
    if request.get("cwd"):
        os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[path_at:path_at] = [entry for entry in extra if entry not in sys.path]
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))


def _as_interpreter(request: dict[str, Any], fds: list[int]) -> int:
    """`python [-u] [-B] -c <code> <args>` with the requester's standard streams."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    _environment(request, path_at=1)
    argv: list[str] = request["argv"]
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    while argv[0] != "-c":
        flag = argv.pop(0)
        if flag == "-u":
            unbuffered = True
        elif flag == "-B":
            sys.dont_write_bytecode = True
        else:
            raise ValueError(f"an interpreter option the stand-in does not know: {flag}")
    code_text = argv[1]
    sys.argv = ["-c", *argv[2:]]
    sys.path[0] = ""
    sys.stdin = sys.__stdin__ = open(0, closefd=False)  # noqa: SIM115 - the process's own
    if unbuffered:
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        stderr = io.FileIO(2, "w", closefd=False)
    else:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        stderr = io.BufferedWriter(io.FileIO(2, "w", closefd=False))  # type: ignore[assignment]
    sys.__stdout__ = sys.stdout
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        stderr, errors="backslashreplace", line_buffering=True, write_through=unbuffered
    )
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    # What `python -c` runs: xdist's bootstrap of the worker.
    code = compile(code_text, "<string>", "exec")
    return _run_to_exit(lambda: exec(code, main.__dict__))  # noqa: S102


def _as_command(request: dict[str, Any]) -> int:
    """What tests/support/forked_command.py describes: the command's output in its file."""
    fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    _environment(request, path_at=0)
    script = request.get("script")
    sys.argv = [script or "connecthub", *request["argv"]]

    def run() -> None:
        if script is not None:
            import runpy

            runpy.run_path(script, run_name="__main__")
        else:
            from connecthub.cli import main

            main()

    return _run_to_exit(run)


def _run_to_exit(body: Any) -> int:
    """The body, then what an interpreter does at exit: its exit code, the atexit handlers,
    the streams flushed."""
    code = 0
    try:
        body()
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or its reader left
            stream.flush()
    return code


if __name__ == "__zygote__":
    _serve(sys.argv[1])
