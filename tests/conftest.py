"""Fixtures: a fresh database and key prefix per test, the app in-process over ASGI or on
a real socket, and real `connecthub` processes for tests about the process. See
tests/engines.py for engines."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connecthub.core import collector
from tests.engines import (
    GENEROUS_LIMITS,
    RUN_ID,
    WORKER,
    TestDatabases,
    build_settings,
    delete_redis_prefix,
    engine_label,
    pooler_settings,
    postgres_server_url,
    redis_url,
    through_pooler,
)
from tests.schemas.checking import CheckedApp, take_violations
from tests.servers import InProcessServer, free_port, start_inprocess_server
from tests.support import compiled_statements, scheduling, tally, zygote
from tests.support.forked_command import ForkedCommand, kill_left_running
from tests.support.redis_server import RedisProcess

if TYPE_CHECKING:  # the app and its libraries are imported where used: see tests/engines.py
    import httpx
    from fastapi import FastAPI

    from connecthub.config import Settings

__all__ = ["InProcessServer", "LiveServer", "free_port", "start_inprocess_server"]


def pytest_configure(config: pytest.Config) -> None:
    # pytest's last act is one more full garbage collection, to report errors raised in
    # finalizers; by then a worker's heap holds millions of objects and that pass took 6-10 s
    # at the end of every worker. Errors from finalizers during the tests are still reported,
    # test by test.
    from _pytest.unraisableexception import gc_collect_iterations_key

    config.stash[gc_collect_iterations_key] = 0
    # The collector's thresholds the server runs with (core/collector.py) for the whole
    # session, not only while a test's app runs: with CPython's defaults its passes between
    # and around the apps were ~2 % of the tests' CPU (gc.callbacks over tests/accounts,
    # tests/oauth and tests/statuses: 0.58 -> 0.21 CPU-s of 17).
    collector.use_long_lived_thresholds()
    _temporary_files_in_memory()
    tally.register(config)  # TEST_TALLY=<dir>: per test wall/CPU (tests/support/tally.py)
    scheduling.register(config)  # longest tests first (tests/support/scheduling.py)
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        zygote.start()  # the workers are forked from it (tests/support/zygote.py)


def pytest_xdist_setupnodes(specs: list[Any]) -> None:
    """Each worker a fork of the run's preloaded process (tests/support/zygote.py) rather
    than a new interpreter that imports the app and pytest again."""
    started = zygote.current()
    for spec in specs:
        if started is not None and spec.popen and not spec.python and not spec.via:
            spec.python = started.worker_python()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure() -> None:
    """Everything left is frozen out of the collector: the interpreter's exit collects once
    more, over a heap of millions of objects, and each pytest process took 2.6-3 s to exit
    after its last test (0.1 s frozen; `tests/statuses tests/timelines tests/accounts`)."""
    zygote.stop()
    gc.freeze()


def _temporary_files_in_memory() -> None:
    """pytest's temporary directories (each test's SQLite database, media, Redis and
    PostgreSQL data) on tmpfs where the machine has one. SQLite runs with synchronous=FULL,
    and waiting for each commit's fsync on the disk was ~0.4 s of every database test
    (measured with the tally); the pragmas are unchanged, only the storage is faster.
    Workers inherit the setting; PYTEST_DEBUG_TEMPROOT given by the caller wins."""
    shm = Path("/dev/shm")
    if "PYTEST_DEBUG_TEMPROOT" not in os.environ and shm.is_dir() and os.access(shm, os.W_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(shm)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[object]:
    """Collection with the garbage collector paused: it imports the app and every test
    module, objects that live as long as the worker, and the collector's passes over them
    while they were made were ~11 % of each worker's collection (3.99 -> 3.55 CPU-s for
    the whole tree, measured with `-k` matching nothing)."""
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[object]:
    """A test fails when the app answered it with a JSON entity that differs from
    Mastodon's (tests/schemas/checking.py), naming the route and the field."""
    take_violations()
    result = yield
    violations = take_violations()
    if violations:
        raise AssertionError("answers unlike Mastodon's entities:\n" + "\n".join(violations))
    return result


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that starts processes is slow too. `slow` marks what `make test-fast` (the
    edit-test loop) leaves out: the tests measured at over 0.2 CPU-s or 0.4 s of waiting
    (`TEST_TALLY=<dir> make test`, then `.ci/tally.py <dir>` lists the unmarked ones)."""
    for item in items:
        if item.get_closest_marker("processes") is not None:
            item.add_marker(pytest.mark.slow)
    scheduling.slow_first(config, items)


def pytest_report_header() -> str:
    return f"connecthub engines: {engine_label()}"


@pytest.fixture(scope="session", autouse=True)
def _shared_between_apps() -> None:
    """The apps of this process share their compiled SQL (tests/support/compiled_statements.py)
    and, on PostgreSQL, their connections (tests/support/kept_connections.py)."""
    from tests.support import kept_connections  # asyncpg: imported where used

    compiled_statements.install()
    if postgres_server_url() is not None:
        kept_connections.install()


@pytest.fixture(scope="session")
def databases(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[TestDatabases]:
    kept = getattr(pytestconfig, "cache", None)  # none with `-p no:cacheprovider`
    cache = kept.mkdir("connecthub-templates") if kept else None
    store = TestDatabases(workdir=tmp_path_factory.mktemp("databases"), cache_dir=cache)
    asyncio.run(store.prepare())
    yield store
    asyncio.run(store.drop_databases())


@dataclass
class TestEnv:
    __test__ = False  # a fixture's value, not a test class (modules import it by name)

    database_url: str
    key_prefix: str
    workdir: Path

    def settings(self, **overrides: Any) -> Settings:
        overrides.setdefault("media_storage_url", f"file://{self.workdir / 'media'}")
        overrides.setdefault("outbox_dir", str(self.workdir / "outbox"))
        return build_settings(self.database_url, self.key_prefix, **overrides)

    def environ(self, **overrides: str) -> dict[str, str]:
        """Environment for a real `connecthub` process on this test's engines."""
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": self.database_url,
            "REDIS_KEY_PREFIX": self.key_prefix,
            "MEDIA_STORAGE_URL": f"file://{self.workdir / 'media'}",
            "OUTBOX_DIR": str(self.workdir / "outbox"),
            "LOG_LEVEL": "warning",
            "JOBS_IN_SERVER": "true",
            "OUTSIDE_WRITES_POLL_SECONDS": "0",  # as build_settings: heard by the next request
            **{name.upper(): value for name, value in GENEROUS_LIMITS.items()},
            **{name.upper(): value for name, value in pooler_settings(self.database_url).items()},
        }
        env.pop("REDIS_URL", None)
        if redis_url():
            env["REDIS_URL"] = redis_url() or ""
        env.update(overrides)
        if env["ENVIRONMENT"] == "test":
            env.setdefault("FAST_PASSWORD_HASHING_FOR_TESTS", "true")  # see engines.py
        return env


_counter = 0


@pytest.fixture
async def test_env(databases: TestDatabases, tmp_path: Path) -> AsyncIterator[TestEnv]:
    global _counter
    _counter += 1
    url = through_pooler(await databases.new_database_url())
    prefix = f"test:{RUN_ID}:{WORKER}:{_counter}:"
    yield TestEnv(database_url=url, key_prefix=prefix, workdir=tmp_path)
    await databases.drop(url)
    await delete_redis_prefix(prefix)


@contextlib.asynccontextmanager
async def running_app(
    env: TestEnv, *, peer: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan running, and a client speaking ASGI to it from `peer`."""
    import httpx

    from connecthub.app import create_app

    app = create_app(env.settings(**overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=CheckedApp(app), client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


# Rate limits count in fixed windows aligned to the epoch, as Mastodon's do (a window of an
# hour ends on the hour): a test counting up to a lockout across an edge sees its count
# start again. The tests' windows are 1,800 s or a multiple of it, so a test that counts
# waits out the last WINDOW_EDGE_MARGIN seconds of a half-hour (at most once in 60 runs).
RATE_WINDOW_GRAIN = 1800
WINDOW_EDGE_MARGIN = 30


@pytest.fixture
def clear_of_rate_window_edges() -> None:
    left = RATE_WINDOW_GRAIN - time.time() % RATE_WINDOW_GRAIN
    if left < WINDOW_EDGE_MARGIN:
        time.sleep(left + 0.1)


@pytest.fixture
def app_factory(test_env: TestEnv) -> Callable[..., Any]:
    """`async with app_factory(SETTING=value, peer="10.0.0.1") as (app, client): ...`"""
    return lambda **overrides: running_app(test_env, **overrides)


@pytest.fixture
async def app_and_client(test_env: TestEnv) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(test_env) as pair:
        yield pair


@pytest.fixture
def app(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return app_and_client[0]


@pytest.fixture
def client(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


def connecthub_command(*args: str) -> list[str]:
    """A new interpreter running the command (what the forked ones below do not show)."""
    return [sys.executable, "-m", "connecthub", *args]


def start_connecthub(
    *args: str, env: Mapping[str, str], output: Path, cwd: Path | None = None
) -> ForkedCommand:
    """`connecthub <args>` as a process of its own, forked from a process that imported the
    app once (tests/support/forked_command.py), its stdout and stderr appended to `output`."""
    return ForkedCommand(args, env=env, output=output, cwd=cwd)


@pytest.fixture(scope="session", autouse=True)
def _no_command_left_running() -> Iterator[None]:
    yield
    kill_left_running()


@dataclass
class LiveServer:
    url: str
    process: ForkedCommand
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(env: TestEnv, *args: str, port: int | None = None, **environ: str) -> LiveServer:
    import httpx

    from tests.support import probe

    port = port or free_port()
    # The address clients use: links and URLs the server emits are built from it.
    environ.setdefault("LOCAL_DOMAIN", f"127.0.0.1:{port}")
    log_path = env.workdir / f"server-{port}.log"
    process = start_connecthub(
        "serve", "--port", str(port), *args, env=env.environ(**environ), output=log_path
    )
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    # Generous: on a shared 2-core machine under load, imports alone can take a minute.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.logs()}")
        with contextlib.suppress(httpx.HTTPError):
            if probe.get(f"{server.url}/health/ready", timeout=1).status_code == 200:
                return server
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{server.logs()}")


def stop_process(process: subprocess.Popen[bytes] | ForkedCommand) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def live_server(test_env: TestEnv) -> Iterator[InProcessServer]:
    """The app behind uvicorn on a real socket, in this test process (tests/servers.py);
    a test about the process itself calls `start_server` instead."""
    server = start_inprocess_server(test_env)
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of the test's own on a free port (tests/support/redis_server.py)."""
    redis = RedisProcess(free_port(), directory=tmp_path)
    redis.start()
    yield redis
    redis.stop()
