"""Real engines for tests, chosen like the server chooses them: by environment.

- default: a SQLite file per test (copied from a migrated template) and in-process engines;
- `TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres`: a clean PostgreSQL
  database per test: the worker's databases, cloned once from a migrated template, are
  emptied and reused;

The migrated template is kept from one run to the next, named after a digest of the
migrations (`migrations/`) and of what the harness puts in it (`TEMPLATE_SEED`): a SQLite
file in pytest's cache directory, a PostgreSQL database `ch_tpl_<digest>`. Migrating took
each worker of each run 2-3 s on SQLite (fsyncs) and ~7 s on a busy PostgreSQL (every
migration run waits on one server-wide advisory lock).
- `TEST_REDIS_URL=redis://127.0.0.1:6379/0`: Redis with a fresh key prefix per test.
- `TEST_PGBOUNCER=1` (with `TEST_DATABASE_URL`): the app's connections go through a real
  PgBouncer in transaction pooling mode, one per worker on a spare port
  (tests/support/pgbouncer.py), with `DATABASE_POOLER=transaction`; migrations and the
  harness's own statements go straight to the server (`DATABASE_DIRECT_URL`). CI runs the
  subset in tests/pgbouncer_subset.txt this way (`.ci/run`).

Nothing is mocked: every test talks to the engines a user would run.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from connecthub.config import Settings
    from tests.support.pgbouncer import PgBouncerProcess

# The engines' client libraries and the app are imported where they are used: xdist's
# controller process loads this module (through conftest.py) before it starts the workers,
# and importing them there held every run up by ~3 CPU-seconds.

RUN_ID = uuid.uuid4().hex[:8]
_BASE64URL = re.compile(r"[A-Za-z0-9_=-]+")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")

# What the template holds beyond the schema: the instance's VAPID key pair, which every
# app's first start otherwise made and wrote in a transaction of its own (push/service.py):
# ~6 CPU-ms and one more write through SQLite's thread in every test. The first start's
# key-making is tested on a database without it (tests/push/test_subscription.py). Part of
# the template's name: change it when the seed changes.
TEMPLATE_SEED = "vapid-key-pair-1"

# Tests that do not exercise the limiter must not trip it.
GENEROUS_LIMITS = {
    name: "100000/60"
    for name in (
        "rate_limit_ip",
        "rate_limit_token",
        "rate_limit_account",
        "rate_limit_sign_up",
        "rate_limit_sign_in_ip",
        "rate_limit_sign_in_email",
        "rate_limit_password",
    )
}


def postgres_server_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def redis_url() -> str | None:
    return os.environ.get("TEST_REDIS_URL") or None


def pgbouncer_wanted() -> bool:
    return postgres_server_url() is not None and os.environ.get("TEST_PGBOUNCER") == "1"


# The worker's PgBouncer, when `TEST_PGBOUNCER=1` (started by `TestDatabases.prepare`).
_pooler: PgBouncerProcess | None = None


def through_pooler(direct_url: str) -> str:
    """The URL the app gets for a test database: through the worker's PgBouncer if any."""
    if _pooler is None:
        return direct_url
    from sqlalchemy.engine import make_url

    return make_url(direct_url).set(port=_pooler.port).render_as_string(hide_password=False)


def pooler_settings(database_url: str) -> dict[str, str]:
    """Settings for an app whose `database_url` goes through the worker's PgBouncer."""
    if _pooler is None or postgres_server_url() is None:
        return {}
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server_url() or "")
    direct = make_url(database_url).set(port=server.port or 5432)
    return {
        # TEST_DATABASE_POOLER=none shows what the setting prevents (docs/database.md).
        "database_pooler": os.environ.get("TEST_DATABASE_POOLER", "transaction"),
        "database_direct_url": direct.render_as_string(hide_password=False),
    }


def engine_label() -> str:
    database = "postgresql" if postgres_server_url() else "sqlite"
    if pgbouncer_wanted():
        database += " through pgbouncer (transaction pooling)"
    cache = "redis" if redis_url() else "in-process"
    return f"{database}+{cache}"


def _asyncpg_dsn(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url.replace("postgresql+asyncpg", "postgresql")).set(database=database)
    return parsed.render_as_string(hide_password=False)


@dataclass
class TestDatabases:
    """One migrated template (kept between runs); each test gets a clean database.

    SQLite: a copy of the template file per test (a few milliseconds). PostgreSQL: the
    worker's databases are cloned from the template once and reused; a returned one is
    emptied (DELETE and sequence restarts) before the next test gets it, on a connection
    held open for it (`_Emptiers`). Cloning and dropping a database per test cost ~2 s each
    on a busy machine, and TRUNCATE ~1.5 s (it makes new files for every table)."""

    __test__ = False  # not a test class, despite its name

    workdir: Path
    cache_dir: Path | None = None  # where the SQLite template is kept between runs
    template: str = ""
    created: list[str] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    counter: int = 0
    reset_sql: str = ""
    emptiers: _Emptiers | None = None

    async def prepare(self) -> None:
        server = postgres_server_url()
        if server is None:
            self.template = str(await self._sqlite_template())
        else:
            self.template = await self._postgres_template(server)
            if pgbouncer_wanted():
                start_pgbouncer(server)

    async def _sqlite_template(self) -> Path:
        from connecthub.infra import migrations

        directory = self.cache_dir or self.workdir
        path = directory / f"template-{template_digest()}.db"
        if path.exists():
            return path
        # Built under a name of its own and moved into place whole: another worker may be
        # building the same one, and either copy is right.
        building = directory / f"{path.stem}-{RUN_ID}-{WORKER}.db"
        await migrations.upgrade(_settings_for(f"sqlite:///{building}"))
        await _seed_template(f"sqlite:///{building}")
        if Path(f"{building}-wal").exists():  # not checkpointed: its copies would miss rows
            return building
        building.replace(path)
        return path

    async def _postgres_template(self, server: str) -> str:
        import asyncpg

        from connecthub.infra import migrations
        from tests.support import kept_connections

        template = f"ch_tpl_{template_digest()}"
        if await self._admin_value("SELECT 1 FROM pg_database WHERE datname = $1", template):
            return template
        building = f"{template}_{RUN_ID}_{WORKER}"
        await self._admin(f'CREATE DATABASE "{building}"')
        await migrations.upgrade(_settings_for(_asyncpg_dsn(server, building)))
        await _seed_template(_asyncpg_dsn(server, building))
        # The keeper (installed for the session) holds the connections the build closed.
        await kept_connections.close_idle()
        try:
            await self._admin(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
        except asyncpg.DuplicateDatabaseError:  # another worker finished first: use theirs
            await self._admin(f'DROP DATABASE "{building}" WITH (FORCE)')
        return template

    async def new_database_url(self) -> str:
        self.counter += 1
        server = postgres_server_url()
        if server is None:
            path = self.workdir / f"test_{self.counter}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        if self.free:
            name = self.free.pop()
            await self._empty(server, name)
            return _asyncpg_dsn(server, name)
        name = f"ch_{RUN_ID}_{WORKER}_{len(self.created) + 1}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        if not self.reset_sql:  # read from a fresh clone: a connection to the template
            # itself would make other workers' clones of it fail
            self.reset_sql = await self._reset_statements(_asyncpg_dsn(server, name))
        return _asyncpg_dsn(server, name)

    async def drop(self, url: str) -> None:
        """The test is done with `url`: a SQLite file goes, a PostgreSQL database is kept
        for the next test (emptied when it is handed out)."""
        from sqlalchemy.engine import make_url

        if postgres_server_url() is None:
            Path(make_url(url).database or "").unlink(missing_ok=True)
            return
        name = make_url(url).database
        assert name in self.created, name
        self.free.append(name)

    async def drop_databases(self) -> None:
        """The worker's databases go; the template stays for the next run."""
        stop_pgbouncer()
        if self.emptiers is not None:
            self.emptiers.close()
        if postgres_server_url() is not None:
            for name in self.created:
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _empty(self, server: str, name: str) -> None:
        """Back to the template's state: every row but the schema version gone, every
        sequence at its start."""
        if self.emptiers is None:
            self.emptiers = _Emptiers()
        await self.emptiers.empty(_asyncpg_dsn(server, name), self.reset_sql)

    @staticmethod
    async def _reset_statements(dsn: str) -> str:
        import asyncpg

        connection = await asyncpg.connect(dsn)
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version' ORDER BY tablename"
            )
            sequences = await connection.fetch(
                "SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = 'public'"
                " ORDER BY sequencename"
            )
            seeded = await connection.fetch(
                "SELECT id, private_key, public_key FROM web_push_vapid_keys"
            )
        finally:
            await connection.close()
        # Replica role: foreign-key triggers do not fire, so the order of DELETEs is free.
        statements = ["SET LOCAL session_replication_role = replica"]
        # Names from the catalog, not from input.
        statements += [f'DELETE FROM "{row[0]}"' for row in tables]  # noqa: S608
        statements += [f"SELECT setval('\"{row[0]}\"', {row[1]}, false)" for row in sequences]
        # The template's seed back (TEMPLATE_SEED): base64url keys, checked before quoting.
        for row in seeded:
            assert all(_BASE64URL.fullmatch(value) for value in (row[1], row[2])), row
            statements.append(
                "INSERT INTO web_push_vapid_keys (id, private_key, public_key, created_at)"  # noqa: S608
                f" VALUES ({int(row[0])}, '{row[1]}', '{row[2]}', now())"
            )
        return ";\n".join(statements)

    async def _admin(self, statement: str) -> None:
        import asyncpg

        server = postgres_server_url()
        assert server is not None
        connection = await asyncpg.connect(_asyncpg_dsn(server, "postgres"))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def _admin_value(self, query: str, *args: object) -> object:
        import asyncpg

        server = postgres_server_url()
        assert server is not None
        connection = await asyncpg.connect(_asyncpg_dsn(server, "postgres"))
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()


def start_pgbouncer(server: str) -> None:
    global _pooler
    from sqlalchemy.engine import make_url

    from tests.servers import free_port
    from tests.support.pgbouncer import PgBouncerProcess

    parsed = make_url(server)
    _pooler = PgBouncerProcess(free_port(), parsed.host or "127.0.0.1", parsed.port or 5432)
    _pooler.start()


def stop_pgbouncer() -> None:
    global _pooler
    if _pooler is not None:
        _pooler.stop()
        _pooler = None


async def _seed_template(url: str) -> None:
    """The template's rows beyond the schema (TEMPLATE_SEED): a VAPID key pair, as the
    instance's first start would make it."""
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from connecthub.clock import utcnow
    from connecthub.infra.db import async_url
    from connecthub.push.keys import VapidKeys
    from connecthub.push.models import VapidKeyPair

    keys = VapidKeys.generate()
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(VapidKeyPair).values(
                    id=1,
                    private_key=keys.private_key,
                    public_key=keys.public_key,
                    created_at=utcnow(),
                )
            )
    finally:
        await engine.dispose()


def template_digest() -> str:
    """Names the template: the migrations and the harness's seed."""
    return hashlib.sha256(f"{migrations_digest()}:{TEMPLATE_SEED}".encode()).hexdigest()[:16]


def migrations_digest() -> str:
    """Names the migrated state: every file of the migrations directory, by path and bytes."""
    from connecthub.infra import migrations

    root = migrations.migrations_dir()
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# What the environment and `.env` give Settings, kept by their state: pydantic-settings
# reads both for each of ~200 fields on every construction (~12 CPU-ms, the largest part of
# a test's app fixture after the VAPID seed). The values are validated with the overrides
# as `load_settings` does: the same validators, the same one-line errors.
_FROM_ENVIRONMENT: dict[object, dict[str, object]] = {}
# pytest sets PYTEST_CURRENT_TEST anew for every phase of every test; no setting reads it.
# Kept in the key, it made every test read the environment again (a miss per test).
_NOT_SETTINGS = frozenset({"PYTEST_CURRENT_TEST"})


def _environment_values() -> dict[str, object]:
    from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

    from connecthub.config import Settings

    dotenv = Path(".env")
    key = (
        os.getcwd(),
        dotenv.stat().st_mtime_ns if dotenv.exists() else None,
        tuple(sorted(item for item in os.environ.items() if item[0] not in _NOT_SETTINGS)),
    )
    found = _FROM_ENVIRONMENT.get(key)
    if found is None:  # the environment's values win over `.env`'s, as in Settings()
        found = {**DotEnvSettingsSource(Settings)(), **EnvSettingsSource(Settings)()}
        _FROM_ENVIRONMENT[key] = found
    return found


@functools.cache
def _settings_class() -> type[Settings]:
    """Settings whose environment and `.env` values come from `_environment_values`."""
    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

    from connecthub.config import Settings

    class Environment(PydanticBaseSettingsSource):
        def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[object, str, bool]:
            raise NotImplementedError  # __call__ gives them all at once

        def __call__(self) -> dict[str, object]:
            return dict(_environment_values())

    class TestSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, Environment(settings_cls))

    # Importable by name (module `__getattr__` below), so its settings pickle like Settings.
    TestSettings.__qualname__ = TestSettings.__name__
    TestSettings.__module__ = __name__
    return TestSettings


def __getattr__(name: str) -> object:
    if name == "TestSettings":
        return _settings_class()
    raise AttributeError(name)


def _settings_for(database_url: str, **overrides: object) -> Settings:
    from pydantic import ValidationError

    from connecthub.config import ConfigurationError, describe_validation_error

    overrides.setdefault("environment", "test")  # a test may ask for production
    try:
        return _settings_class()(database_url=database_url, **overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_validation_error(exc)) from None


def build_settings(database_url: str, key_prefix: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "redis_url": redis_url(),
        "redis_key_prefix": key_prefix,
        "log_level": "warning",
        # With Redis the app consumes the durable queue itself, so flows that rely on jobs
        # (fan-out, notifications) complete without a separate worker process.
        "jobs_in_server": True,
        # Repeated cache invalidations land at once, so they never fall between the reads
        # a query-count test compares (test_entity_cache.py checks the delayed repeat).
        "entity_cache_repeat_seconds": 0,
        # Embedded: a command's writes (tests run them with run_cli, in this process) are
        # heard by the very next request, as the tests read right after them.
        "outside_writes_poll_seconds": 0,
        **GENEROUS_LIMITS,
    }
    # Settings fields are lower-case; accept the environment spelling too.
    values.update(pooler_settings(database_url))
    values.update({key.lower(): value for key, value in overrides.items()})
    if values.get("environment", "test") == "test":
        # Argon2 at full cost is ~40 ms of CPU per user; test_passwords.py checks full cost.
        values.setdefault("fast_password_hashing_for_tests", True)
    return _settings_like(database_url, values)


# Fields that differ from one test to the next (its database file, key prefix and working
# directory) and that no validator reads beyond the URL's scheme.
_PER_TEST_FIELDS = ("redis_key_prefix", "media_storage_url", "outbox_dir")
_BUILT: dict[str, Settings] = {}


def _plain(value: object) -> bool:
    """Whether `repr` tells the value apart from every other (a key for `_BUILT`)."""
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False


def _settings_like(database_url: str, values: dict[str, object]) -> Settings:
    """Settings validated once for each set of the other values (the environment's among
    them), then copied with this test's own: validating ~300 fields was ~2.4 ms of every
    test's CPU. `tests/test_harness.py` holds a copy equal to a fresh build."""
    per_test = {name: values.pop(name) for name in _PER_TEST_FIELDS if name in values}
    if not all(_plain(value) for value in (*values.values(), *per_test.values())):
        return _settings_for(database_url, **values, **per_test)  # no key of its own
    scheme = database_url.split(":", 1)[0]
    # Which per-test fields are given is part of the key: a copy keeps the base's others.
    key = repr((scheme, id(_environment_values()), sorted(values.items()), sorted(per_test)))
    base = _BUILT.get(key)
    if base is None:
        base = _BUILT[key] = _settings_for(database_url, **values, **per_test)
    return base.model_copy(update={"database_url": database_url, **per_test})


async def delete_redis_prefix(prefix: str) -> None:
    url = redis_url()
    if url is None:
        return
    redis = _cleaner(url)
    batch = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
    for start in range(0, len(batch), 500):
        await redis.delete(*batch[start : start + 500])


_cleaners: dict[asyncio.AbstractEventLoop, Redis] = {}


def _cleaner(url: str) -> Redis:
    """One client per event loop for the tests' clean-ups: a client per test opened a
    connection (and told the server who it is) each time. The tests of a worker share one
    loop (pyproject.toml); a client of a loop that ended is dropped with it. A command that
    finds its connection gone (a Redis restarted since) reconnects and runs once more."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    loop = asyncio.get_running_loop()
    for ended in [other for other in _cleaners if other.is_closed()]:
        del _cleaners[ended]
    client = _cleaners.get(loop)
    if client is None:
        client = _cleaners[loop] = Redis.from_url(url, retry=Retry(NoBackoff(), retries=1))
    return client


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


# Every other backend of the connection's database ends (as DROP DATABASE ... WITH (FORCE)).
# Spared: the connections the tests' apps keep idle between tests (they hold no lock;
# tests/support/kept_connections.py).
END_OTHER_BACKENDS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> ALL($1::int[])"
)


class _Emptiers:
    """One connection per database of the worker, held open to empty it between tests.

    A new server backend builds its catalog caches for every table it touches: emptying a
    database on a fresh connection cost 15-21 ms of PostgreSQL's CPU and ~2 ms of the
    worker's, on a held one 1.6-2.4 ms and 0.2-0.4 ms (docs/benchmarks.md, "The PostgreSQL
    pass: each test's database emptied on a held connection"). The connections live on a
    thread and event loop of their own, as a connection belongs to the loop that opened it:
    the session's teardown closes them from another loop than the tests'. A connection a
    test ended (tests that terminate every backend of their database) is opened again."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="test-database-emptier", daemon=True
        )
        self.thread.start()
        self.connections: dict[str, Any] = {}

    async def empty(self, dsn: str, reset_sql: str) -> None:
        from tests.support.kept_connections import idle_pids

        spared = idle_pids()
        done = asyncio.run_coroutine_threadsafe(self._empty(dsn, reset_sql, spared), self.loop)
        await asyncio.wrap_future(done)

    async def _empty(self, dsn: str, reset_sql: str, spared: list[int]) -> None:
        import asyncpg

        for attempt in (1, 2):
            connection = self.connections.get(dsn)
            if connection is None or connection.is_closed():
                connection = self.connections[dsn] = await asyncpg.connect(dsn)
            try:
                # Connections a test left behind (a killed server's) end first, as DROP
                # DATABASE ... WITH (FORCE) would end them, so none holds a lock.
                await connection.execute(END_OTHER_BACKENDS, spared)
                async with connection.transaction():
                    await connection.execute(reset_sql)
                return
            except Exception:
                # Ended by a test (or the server), which shows on its next statement or
                # in the middle of one: nothing was committed; again on a new connection.
                # A reset that fails twice is the harness's error, raised.
                del self.connections[dsn]
                connection.terminate()
                if attempt == 2:
                    raise

    def close(self) -> None:
        async def close_all() -> None:
            for connection in self.connections.values():
                if not connection.is_closed():
                    await connection.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()
