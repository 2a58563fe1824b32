"""`connecthub` commands run as real processes forked from a fork server that imported the
app once per test worker, instead of a new interpreter each: the import was ~2.5 CPU-s of
every `serve` and `worker` a test started (about twenty in the suite). The process is still the
command's own: its own pid, `cli.main` with the test's arguments and environment, its
signals, exit code (-N when a signal ended it), stdout and stderr in a file; its atexit
handlers run as a real interpreter's do at exit. What a fork cannot show — the installed
entry point, the interpreter's start — `tests/test_cli.py` runs as a new interpreter.

`ForkedCommand` answers what the tests ask of a `subprocess.Popen`: `pid`, `poll`, `wait`,
`returncode`, `send_signal`, `terminate`, `kill`."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# What the commands import. (A `serve --workers N` forked from here starts a fork server of
# its own for its server processes, as it does in production: serving.py.)
_CONTEXT = multiprocessing.get_context("forkserver")
_PRELOAD = ["connecthub.app", "connecthub.cli", "connecthub.serving"]


def _run(
    args: list[str], environ: dict[str, str], output: str, cwd: str | None, script: str | None
) -> None:
    """In the forked process: the command's stdout and stderr, working directory,
    environment (its PYTHONPATH on sys.path, as the interpreter would put it) and arguments,
    then its main (or the script's body, as `python script` would run it)."""
    import atexit
    import runpy

    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    if cwd is not None:
        os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environ)
    extra = [entry for entry in environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:0] = [entry for entry in extra if entry not in sys.path]
    sys.argv = [script or "connecthub", *args]
    try:
        if script is not None:
            runpy.run_path(script, run_name="__main__")
        else:
            from connecthub.cli import main

            main()
    finally:
        atexit._run_exitfuncs()  # multiprocessing ends its processes with os._exit


class ForkedCommand:
    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        output: Path,
        cwd: Path | None = None,
        script: Path | None = None,
    ) -> None:
        """`connecthub <args>`; with `script`, `python <script> <args>` instead (a script
        that imports the app: the fork server has imported it, and configured nothing)."""
        _CONTEXT.set_forkserver_preload(_PRELOAD)
        output.touch()  # there at once, as a Popen's output file is
        self.args = list(args)
        where = str(cwd) if cwd else None
        self._process = _CONTEXT.Process(
            target=_run,
            args=(self.args, dict(env), str(output), where, str(script) if script else None),
            name="connecthub",
        )
        _started.append(self)
        self._process.start()
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(["connecthub", *self.args], timeout or 0)
        return code

    def send_signal(self, number: int) -> None:
        if self._process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_started: list[ForkedCommand] = []


def kill_left_running() -> None:
    """At the end of a worker: any command a test left running is killed (multiprocessing
    would otherwise wait for it as the worker exits)."""
    for command in _started:
        command.kill()
        command.wait(15)
    _started.clear()
