"""Runs the `connecthub` command inside the test process: the same entry function as the
installed command, with its own argv, environment, working directory and captured output,
without the seconds a new interpreter spends importing everything.

Tests about the process itself (the real entry point starts and exits) still run it as a
subprocess; everything else uses `run_cli`."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from connecthub import cli
from connecthub.accounts import passwords
from connecthub.config import get_settings


@dataclass(frozen=True)
class CliResult:
    """What a finished `connecthub` invocation left: the shape of `CompletedProcess`."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(environ: Mapping[str, str], *args: str, cwd: Path | None = None) -> CliResult:
    """`connecthub *args` with exactly `environ` as its environment (and `cwd` for `.env`).

    It runs on a thread of its own so the command's `asyncio.run` works whether or not the
    calling test has an event loop running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_invoke, dict(environ), list(args), cwd).result()


def _invoke(environ: dict[str, str], args: list[str], cwd: Path | None) -> CliResult:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with (
        _process_state_restored(),
        _environment(environ),
        _working_directory(cwd),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        sys.argv = ["connecthub", *args]
        get_settings.cache_clear()  # settings come from this invocation's environment
        try:
            cli.main()
        except SystemExit as exit_:
            code = _exit_code(exit_.code, stderr)
    return CliResult(returncode=code, stdout=stdout.getvalue(), stderr=stderr.getvalue())


def _exit_code(code: object, stderr: io.StringIO) -> int:
    """As the interpreter maps `sys.exit(value)` to a process exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)
    return 1


@contextlib.contextmanager
def _environment(environ: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _working_directory(cwd: Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    with contextlib.chdir(cwd):
        yield


@contextlib.contextmanager
def _process_state_restored() -> Iterator[None]:
    """A process-wide choice the command makes for itself (logging set up to print to its
    stdout, the password hasher, cached settings) is undone for the tests that follow."""
    argv = sys.argv
    root = logging.getLogger()
    root_state = (root.handlers[:], root.level)
    loggers = {
        name: (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    structlog_config: dict[str, Any] = structlog.get_config()
    hasher = (passwords._hasher, passwords._DUMMY_HASH)
    try:
        yield
    finally:
        sys.argv = argv
        get_settings.cache_clear()
        root.handlers = root_state[0]
        root.setLevel(root_state[1])
        for name, (handlers, level, propagate, disabled) in loggers.items():
            logger = logging.getLogger(name)
            logger.handlers = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
        structlog.configure(**structlog_config)
        passwords._hasher, passwords._DUMMY_HASH = hasher
