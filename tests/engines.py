"""Real engines for tests, chosen like the server chooses them: by environment.

- default: a SQLite file per test (copied from a migrated template) and in-process engines;
- `TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres`: a clean PostgreSQL
  database per test: the worker's databases, cloned once from a migrated template, are
  emptied and reused;
- `TEST_REDIS_URL=redis://127.0.0.1:6379/0`: Redis with a fresh key prefix per test.

Nothing is mocked: every test talks to the engines a user would run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from connecthub.config import Settings, load_settings
from connecthub.infra import migrations

RUN_ID = uuid.uuid4().hex[:8]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")

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


def engine_label() -> str:
    database = "postgresql" if postgres_server_url() else "sqlite"
    cache = "redis" if redis_url() else "in-process"
    return f"{database}+{cache}"


def _asyncpg_dsn(url: str, database: str) -> str:
    parsed = make_url(url.replace("postgresql+asyncpg", "postgresql")).set(database=database)
    return parsed.render_as_string(hide_password=False)


@dataclass
class TestDatabases:
    """One migrated template per test process; each test gets a clean database.

    SQLite: a copy of the template file per test (a few milliseconds). PostgreSQL: the
    worker's databases are cloned from the template once and reused; a returned one is
    emptied (DELETE and sequence restarts, ~20 ms) before the next test gets it. Cloning
    and dropping a database per test cost ~2 s each on a busy machine, and TRUNCATE ~1.5 s
    (it makes new files for every table)."""

    workdir: Path
    template: str = ""
    created: list[str] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    counter: int = 0
    reset_sql: str = ""

    async def prepare(self) -> None:
        server = postgres_server_url()
        if server is None:
            path = self.workdir / "template.db"
            await migrations.upgrade(_settings_for(f"sqlite:///{path}"))
            self.template = str(path)
            return
        self.template = f"ch_tpl_{RUN_ID}_{WORKER}"
        await self._admin(f'CREATE DATABASE "{self.template}"')
        await migrations.upgrade(_settings_for(_asyncpg_dsn(server, self.template)))
        self.reset_sql = await self._reset_statements(_asyncpg_dsn(server, self.template))

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
        return _asyncpg_dsn(server, name)

    async def drop(self, url: str) -> None:
        """The test is done with `url`: a SQLite file goes, a PostgreSQL database is kept
        for the next test (emptied when it is handed out)."""
        if postgres_server_url() is None:
            Path(make_url(url).database or "").unlink(missing_ok=True)
            return
        name = make_url(url).database
        assert name in self.created, name
        self.free.append(name)

    async def drop_template(self) -> None:
        if postgres_server_url() is not None:
            for name in [*self.created, self.template]:
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _empty(self, server: str, name: str) -> None:
        """Back to the template's state: every row but the schema version gone, every
        sequence at its start. Connections a test left behind (a killed server's) are ended
        first, as DROP DATABASE ... WITH (FORCE) would, so none holds a lock."""
        connection = await asyncpg.connect(_asyncpg_dsn(server, name))
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            async with connection.transaction():
                await connection.execute(self.reset_sql)
        finally:
            await connection.close()

    @staticmethod
    async def _reset_statements(dsn: str) -> str:
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
        finally:
            await connection.close()
        # Replica role: foreign-key triggers do not fire, so the order of DELETEs is free.
        statements = ["SET LOCAL session_replication_role = replica"]
        # Names from the catalog, not from input.
        statements += [f'DELETE FROM "{row[0]}"' for row in tables]  # noqa: S608
        statements += [f"SELECT setval('\"{row[0]}\"', {row[1]}, false)" for row in sequences]
        return ";\n".join(statements)

    async def _admin(self, statement: str) -> None:
        server = postgres_server_url()
        assert server is not None
        connection = await asyncpg.connect(_asyncpg_dsn(server, "postgres"))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def _settings_for(database_url: str, **overrides: object) -> Settings:
    overrides.setdefault("environment", "test")  # a test may ask for production
    return load_settings(database_url=database_url, **overrides)


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
        **GENEROUS_LIMITS,
    }
    # Settings fields are lower-case; accept the environment spelling too.
    values.update({key.lower(): value for key, value in overrides.items()})
    if values.get("environment", "test") == "test":
        # Argon2 at full cost is ~40 ms of CPU per user; test_passwords.py checks full cost.
        values.setdefault("fast_password_hashing_for_tests", True)
    return _settings_for(database_url, **values)


async def delete_redis_prefix(prefix: str) -> None:
    url = redis_url()
    if url is None:
        return
    redis = Redis.from_url(url)
    try:
        batch = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
        for start in range(0, len(batch), 500):
            await redis.delete(*batch[start : start + 500])
    finally:
        await redis.aclose()


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]
