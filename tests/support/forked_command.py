"""`connecthub` commands run as real processes forked from the run's preloaded process
(tests/support/zygote.py), which imported the app once, instead of a new interpreter each:
the import was ~2.5 CPU-s of every `serve` and `worker` a test started (about twenty in the
suite). The process is still the command's own: its own pid, `cli.main` with the test's
arguments and environment, its signals, exit code (-N when a signal ended it), stdout and
stderr in a file; its atexit handlers run as a real interpreter's do at exit. What a fork
cannot show — the installed entry point, the interpreter's start — `tests/test_cli.py`
runs as a new interpreter.

`ForkedCommand` answers what the tests ask of a `subprocess.Popen`: `pid`, `poll`, `wait`,
`returncode`, `send_signal`, `terminate`, `kill`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support import zygote


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
        that imports the app: the preloaded process has imported it, and configured nothing)."""
        output.touch()  # there at once, as a Popen's output file is
        self.args = list(args)
        where = str(cwd) if cwd else None
        self._fork = zygote.fork_command(
            self.args, dict(env), str(output), where, str(script) if script else None
        )
        _started.append(self)
        self.pid: int = self._fork.pid

    @property
    def returncode(self) -> int | None:
        return self._fork.exit_status

    def poll(self) -> int | None:
        return self._fork.wait(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._fork.wait(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(["connecthub", *self.args], timeout or 0)
        return code

    def send_signal(self, number: int) -> None:
        if self._fork.wait(0) is None:
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_started: list[ForkedCommand] = []


def kill_left_running() -> None:
    """At the end of a worker: any command a test left running is killed."""
    for command in _started:
        command.kill()
        command.wait(15)
    _started.clear()
