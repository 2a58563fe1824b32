"""Longest tests first, one at a time, across xdist workers.

xdist's default (`--dist load`) hands each worker chunks of consecutive tests in collection
order, so a long test (a real server process, a visibility part) collected late starts late
and the run waits for it alone at the end. Here the controller keeps each worker two tests
ahead (the least xdist allows: a worker needs the next test to know which fixtures to
keep) and hands out the longest first, by the durations of the previous run on the same
engines kept in pytest's cache (`.pytest_cache`, key `connecthub/durations-<engines>`). A
test the cache does not know counts as long (new tests are often the slow kind); with no
cache at all (a fresh clone, as in CI) the tests marked `slow` come first, as every worker
collects them first.

Tests marked `processes` start real processes (each imports the app: seconds of CPU) and
wait for them with deadlines, so no more of them run at once than there are cores: while
that many are out, a worker gets the longest other test instead. (The first worker writes
their ids to the cache, `connecthub/processes`, as it collects: the controller sees no
marks.)

Another `--dist` mode given on the command line is left alone.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from xdist.scheduler import LoadScheduling

from tests.engines import engine_label

CACHE_KEY = "connecthub/durations"
PROCESSES_KEY = "connecthub/processes"
UNKNOWN_SECONDS = 5.0  # a test run for the first time: assume one of the long ones


class LongestFirstScheduling(LoadScheduling):
    def __init__(self, config: pytest.Config, log: Any, expected: dict[str, float]) -> None:
        super().__init__(config, log)
        self.maxschedchunk = 1
        self.expected = expected
        self.processes: set[int] = set()
        self.processes_at_once = os.cpu_count() or 1

    def schedule(self) -> None:
        if self.collection is not None or not self._check_nodes_have_same_collection():
            super().schedule()  # more nodes later, or collections that differ (it aborts)
            return
        collection = self.collection = next(iter(self.node2collection.values()))
        default = UNKNOWN_SECONDS if self.expected else 0.0
        # Stable: equal estimates (no cache at all) keep the collection order.
        self.pending[:] = sorted(
            range(len(collection)), key=lambda index: -self.expected.get(collection[index], default)
        )
        assert self.config.cache is not None
        ids = set(self.config.cache.get(PROCESSES_KEY, []))
        self.processes = {index for index, nodeid in enumerate(collection) if nodeid in ids}
        if not collection:
            return
        for _ in range(2):  # round robin: the two longest go to different workers
            for node in self.nodes:
                self._send_tests(node, 1)
        if not self.pending:
            for node in self.nodes:
                node.shutdown()

    def _send_tests(self, node: Any, num: int) -> None:
        chosen = []
        for _ in range(min(num, len(self.pending))):
            chosen.append(self._take())
            self.node2pending[node].append(chosen[-1])  # counted by the next `_take`
        if chosen:
            node.send_runtest_some(chosen)

    def _take(self) -> int:
        """The longest pending test, unless it starts processes and enough such are out:
        then the longest other one (or that one after all, when nothing else is left)."""
        out = sum(
            index in self.processes for pending in self.node2pending.values() for index in pending
        )
        if out >= self.processes_at_once:
            for position, index in enumerate(self.pending):
                if index not in self.processes:
                    return self.pending.pop(position)
        return self.pending.pop(0)


class Durations:
    """The controller's record of each test's duration (setup, call and teardown)."""

    def __init__(self, config: pytest.Config) -> None:
        assert config.cache is not None
        self.cache = config.cache
        # Kept per engine: a test skipped on SQLite (the PostgreSQL-only ledger and replica
        # tests, 15-120 s there) took ~0 s, and the PostgreSQL pass then started it last.
        self.key = f"{CACHE_KEY}-{re.sub(r'[^a-z0-9]+', '-', engine_label())}"
        # (The engine-blind record of earlier runs serves until this one exists.)
        self.known: dict[str, float] = self.cache.get(self.key, None) or self.cache.get(
            CACHE_KEY, {}
        )
        self.measured: dict[str, float] = {}

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "load":
            return None
        return LongestFirstScheduling(config, log, self.known)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.measured[report.nodeid] = self.measured.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        # Only a run that went to its end (passed or failed): an interrupted or crashed
        # one would record the tests it cut short as short.
        if self.measured and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.cache.set(self.key, {**self.known, **self.measured})


def register(config: pytest.Config) -> None:
    """In the controller (or a run without xdist): record durations and schedule by them."""
    # Without the cache plugin (`-p no:cacheprovider`) there is no `config.cache` at all.
    if hasattr(config, "workerinput") or getattr(config, "cache", None) is None:
        return
    config.pluginmanager.register(Durations(config), "connecthub-scheduling")


def slow_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` first, in every worker alike (xdist needs the same order); the
    first worker tells the controller which start processes."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    worker = getattr(config, "workerinput", {}).get("workerid")
    cache = getattr(config, "cache", None)
    if worker == "gw0" and cache is not None:
        ids = [item.nodeid for item in items if item.get_closest_marker("processes") is not None]
        cache.set(PROCESSES_KEY, ids)
