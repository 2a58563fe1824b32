"""Where the suite's wall time goes: per test wall, CPU and idle time, per worker.

Enabled by `TEST_TALLY=<directory>` (tests/conftest.py registers it): each pytest process
(each xdist worker) writes one JSON line per test to `<directory>/<worker>.jsonl`, plus one
line for its start-up (process start to first test) and one for its end. A test's CPU is
the process's (all its threads: an in-process server's included) plus that of the child
processes it waited for; `queued` is the time the main thread was ready to run but waited
for a core (other work on a shared machine), so `idle = wall - cpu - queued` is time spent
sleeping or waiting on something else (a timer, a child process, a socket), whatever the
machine's load. `.ci/tally.py <directory>` prints the report.

CPU of a process that others run beside it (another test's background thread) is charged
to the test that is running, which is what the wall clock sees too.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _queued_seconds() -> float:
    """Time the main thread has spent runnable but waiting for a core."""
    with open("/proc/thread-self/schedstat") as schedstat:
        return int(schedstat.read().split()[1]) / 1e9


def _process_started_at() -> float:
    """Wall-clock time at which this process started (from /proc), for its start-up cost."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    started_ticks = int(fields[19])  # field 22, counted after the command name
    with open("/proc/uptime") as uptime:
        seconds_since_boot = float(uptime.read().split()[0])
    return time.time() - seconds_since_boot + started_ticks / _CLOCK_TICKS


class Tally:
    def __init__(self, directory: Path, worker: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._out = (directory / f"{worker}.jsonl").open("a", buffering=1)
        self._worker = worker
        self._first = True

    def _write(self, **record: Any) -> None:
        self._out.write(json.dumps({"worker": self._worker, **record}) + "\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        start, cpu, queued = time.time(), _cpu_seconds(), _queued_seconds()
        if self._first:
            self._first = False
            started = _process_started_at()
            self._write(kind="startup", start=started, wall=start - started, cpu=cpu, queued=queued)
        yield
        wall, used = time.time() - start, _cpu_seconds() - cpu
        waited = _queued_seconds() - queued
        slow = item.get_closest_marker("slow") is not None
        self._write(
            kind="test", id=item.nodeid, start=start, wall=wall, cpu=used, queued=waited, slow=slow
        )

    def pytest_sessionfinish(self) -> None:
        self._write(
            kind="end", start=time.time(), wall=0.0, cpu=_cpu_seconds(), queued=_queued_seconds()
        )
        self._out.close()


def register(config: pytest.Config) -> None:
    directory = os.environ.get("TEST_TALLY")
    if directory:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        config.pluginmanager.register(Tally(Path(directory), worker), "connecthub-tally")
