"""`connecthub migrate-data`: an embedded instance's SQLite file copied into PostgreSQL.

The target is migrated to head first (Alembic), then every table of the schema is copied in
foreign-key order (`MetaData.sorted_tables`), in batches read by primary key from one
snapshot of the source and written with binary COPY, ids as they are. Each batch and the
record of how far its table got (`migrate_data_progress`, in the target) commit in one
transaction, so a run killed at any moment leaves whole batches and a record that says
where to go on: the next run continues after the last recorded key and copies no row twice.
Sequences are moved past the copied ids. Before it reports success the run validates every
table: row counts and an order-free checksum of the canonicalised rows on both sides
(`canonical_rows`), naming each table that differs. docs/adr/0043-migrate-data.md;
docs/migrate-data.md."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import make_url

from connecthub.config import Settings
from connecthub.infra import migrations
from connecthub.infra.canonical_rows import (
    ColumnSpec,
    Kind,
    TableSum,
    converter,
    kind_of,
    row_digest,
    row_key,
)

PROGRESS_TABLE = "migrate_data_progress"
# One run at a time per target (a session advisory lock: `--to` is a direct connection,
# not one through a transaction-mode pooler).
_RUN_LOCK_KEY = 7_431_994_202
_FETCH_SIZE = 2000
_DIFFERENCES_SHOWN = 5

Echo = Callable[[str], None]
# An asyncpg connection (asyncpg ships no type information).
PgConnection = Any


class MigrateDataError(Exception):
    """A refusal or a failure, stated for the operator in one line."""


@dataclass
class TablePlan:
    name: str
    columns: list[ColumnSpec]
    key: list[str]
    source_rows: int
    target_rows: int | None  # None: the table is not in the target yet (a dry run)
    rows_copied: int = 0
    last_key: list[Any] | None = None
    finished: bool = False
    source_only: list[str] = field(default_factory=list)  # columns the target lacks
    target_only: list[str] = field(default_factory=list)  # left to their defaults

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def kinds(self) -> list[Kind]:
        return [column.kind for column in self.columns]

    @property
    def key_indexes(self) -> list[int]:
        return [self.names.index(name) for name in self.key]


@dataclass
class TableCheck:
    name: str
    source: TableSum
    target: TableSum
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.source.rows == self.target.rows and self.source.total == self.target.total


@dataclass
class Outcome:
    plans: list[TablePlan]
    checks: list[TableCheck] = field(default_factory=list)
    sequences_reset: int = 0
    copied_rows: int = 0
    copy_seconds: float = 0.0
    validate_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[TableCheck]:
        return [check for check in self.checks if not check.ok]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise MigrateDataError(f"--from: expected sqlite:///<file>, got {url!r}")
    return Path(parsed.database)


def postgres_dsn(url: str, *, hide_password: bool = False) -> str:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise MigrateDataError("--to: expected postgresql://user:password@host:port/database")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=hide_password)


# --- the source: one read-only snapshot of the SQLite file -----------------------------------


class SqliteSource:
    """The SQLite file, read-only, in one read transaction: every batch and the validation
    read the same snapshot (WAL), even if something still wrote to the file meanwhile."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise MigrateDataError(f"--from: no SQLite database at {path}")
        self.path = path
        self.connection = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
        self.connection.execute("BEGIN")

    def close(self) -> None:
        self.connection.close()

    def revision(self) -> str | None:
        try:
            row = self.connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
        return str(row[0]) if row else None

    def tables(self) -> set[str]:
        rows = self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}

    def columns(self, table: str) -> list[str]:
        # table_xinfo's `hidden`: 0 an ordinary column, 2 and 3 generated ones (not copied).
        rows = self.connection.execute(f"PRAGMA table_xinfo({_quote(table)})")
        return [str(row[1]) for row in rows if row[6] == 0]

    def count(self, table: str) -> int:
        row = self.connection.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()  # noqa: S608
        return int(row[0])

    def batch(
        self, plan: TablePlan, after: Sequence[Any] | None, limit: int
    ) -> tuple[list[tuple[Any, ...]], list[Any] | None]:
        """The next rows after key `after`, converted for COPY, and the last one's key (as
        read: the resume point)."""
        columns = ", ".join(_quote(name) for name in plan.names)
        keys = ", ".join(_quote(name) for name in plan.key)
        where, values = "", list(after or [])
        if after is not None:
            where = f"WHERE ({keys}) > ({', '.join('?' for _ in plan.key)})"
        sql = f"SELECT {columns} FROM {_quote(plan.name)} {where} ORDER BY {keys} LIMIT ?"  # noqa: S608
        rows = self.connection.execute(sql, [*values, limit]).fetchall()
        if not rows:
            return [], None
        convert = converter(plan.kinds)
        converted = [convert(row) for row in rows]
        return converted, [rows[-1][index] for index in plan.key_indexes]

    def rows(self, plan: TablePlan) -> Iterator[tuple[Any, ...]]:
        columns = ", ".join(_quote(name) for name in plan.names)
        cursor = self.connection.execute(f"SELECT {columns} FROM {_quote(plan.name)}")  # noqa: S608
        while chunk := cursor.fetchmany(_FETCH_SIZE):
            yield from chunk

    def table_sum(self, plan: TablePlan) -> TableSum:
        total = TableSum()
        total.add_rows(plan.kinds, self.rows(plan))
        return total

    def digests(self, plan: TablePlan) -> dict[str, int]:
        key_kinds = [plan.kinds[index] for index in plan.key_indexes]
        return {
            row_key(key_kinds, [row[index] for index in plan.key_indexes]): row_digest(
                plan.kinds, row
            )
            for row in self.rows(plan)
        }


# --- the target ------------------------------------------------------------------------------


_PROGRESS_DDL = """
CREATE TABLE IF NOT EXISTS migrate_data_progress (
    table_name text PRIMARY KEY,
    last_key text,
    rows_copied bigint NOT NULL DEFAULT 0,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
)"""

_RECORD_BATCH = """
INSERT INTO migrate_data_progress (table_name, last_key, rows_copied) VALUES ($1, $2, $3)
ON CONFLICT (table_name) DO UPDATE SET last_key = EXCLUDED.last_key,
    rows_copied = migrate_data_progress.rows_copied + EXCLUDED.rows_copied, updated_at = now()"""

_RECORD_FINISHED = """
INSERT INTO migrate_data_progress (table_name, rows_copied, finished_at) VALUES ($1, 0, now())
ON CONFLICT (table_name) DO UPDATE SET finished_at = now(), updated_at = now()"""

# Every sequence owned by a column of a public table (serial columns and identities).
_OWNED_SEQUENCES = """
SELECT s.oid::regclass::text AS sequence, t.relname AS table_name, a.attname AS column_name
FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE s.relkind = 'S' AND t.relnamespace = 'public'::regnamespace
ORDER BY 2, 3"""


async def _target_columns(connection: PgConnection) -> dict[str, dict[str, str]]:
    """Each public table's writable columns and their data types (generated ones left out)."""
    rows = await connection.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND is_generated = 'NEVER'"
        " ORDER BY table_name, ordinal_position"
    )
    tables: dict[str, dict[str, str]] = {}
    for row in rows:
        tables.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
    return tables


async def _progress(connection: PgConnection) -> dict[str, Any]:
    exists = await connection.fetchval("SELECT to_regclass($1)", f"public.{PROGRESS_TABLE}")
    if exists is None:
        return {}
    rows = await connection.fetch(f"SELECT * FROM {PROGRESS_TABLE}")  # noqa: S608
    return {row["table_name"]: row for row in rows}


async def build_plan(
    source: SqliteSource, connection: PgConnection | None, tables: Sequence[Table]
) -> list[TablePlan]:
    """What to copy, table by table in dependency order, with counts on both sides and how
    far an earlier run got. `connection` None or a target without the schema: a dry run."""
    target = await _target_columns(connection) if connection is not None else {}
    progress = await _progress(connection) if connection is not None else {}
    present = source.tables()
    plans: list[TablePlan] = []
    for table in tables:
        if table.name not in present:
            raise MigrateDataError(f"--from: the source has no table {table.name}")
        source_columns = await asyncio.to_thread(source.columns, table.name)
        # Without the target's schema (a dry run before it is migrated) the model's columns
        # stand in; the kinds only matter for copying.
        target_types = target.get(table.name) or {column.name: "text" for column in table.columns}
        columns = [
            ColumnSpec(name, kind_of(data_type))
            for name, data_type in target_types.items()
            if name in source_columns
        ]
        key = [column.name for column in table.primary_key.columns]
        plan = TablePlan(
            name=table.name,
            columns=columns,
            key=key,
            source_rows=await asyncio.to_thread(source.count, table.name),
            target_rows=None,
            source_only=[name for name in source_columns if name not in target_types],
            target_only=[name for name in target_types if name not in source_columns],
        )
        if table.name in target and connection is not None:
            plan.target_rows = int(
                await connection.fetchval(f"SELECT count(*) FROM {_quote(table.name)}")  # noqa: S608
            )
        record = progress.get(table.name)
        if record is not None:
            plan.rows_copied = int(record["rows_copied"])
            plan.last_key = json.loads(record["last_key"]) if record["last_key"] else None
            plan.finished = record["finished_at"] is not None
        plans.append(plan)
    return plans


def _refuse_foreign_rows(plans: Sequence[TablePlan]) -> None:
    """A table that holds rows no run of ours recorded: copying into it would mix data."""
    for plan in plans:
        if plan.target_rows and plan.target_rows != plan.rows_copied:
            raise MigrateDataError(
                f"--to: table {plan.name} already holds {plan.target_rows} rows that "
                f"migrate-data did not copy ({plan.rows_copied} recorded): the target must be "
                "an empty database (or one an interrupted run of migrate-data left)"
            )


async def _copy_table(
    source: SqliteSource,
    connection: PgConnection,
    plan: TablePlan,
    batch_size: int,
    pause_seconds: float,
) -> int:
    """Copies the rest of `plan`'s table; returns the rows it wrote. While one batch is
    written the next is read and converted on a thread."""
    written = 0
    fetch = asyncio.create_task(asyncio.to_thread(source.batch, plan, plan.last_key, batch_size))
    while True:
        records, last_key = await fetch
        if not records:
            break
        if len(records) == batch_size:
            fetch = asyncio.create_task(asyncio.to_thread(source.batch, plan, last_key, batch_size))
        try:
            async with connection.transaction():
                await connection.copy_records_to_table(
                    plan.name, records=records, columns=plan.names, schema_name="public"
                )
                await connection.execute(
                    _RECORD_BATCH, plan.name, json.dumps(last_key), len(records)
                )
        except Exception as exc:
            # The read ahead runs on a thread (it cannot be cancelled): let it finish before
            # the source closes under it.
            with contextlib.suppress(Exception):
                await fetch
            raise MigrateDataError(
                f"{plan.name}: the rows after key {plan.last_key} could not be written: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        written += len(records)
        plan.rows_copied += len(records)
        plan.last_key = last_key
        if len(records) < batch_size:
            break
        if pause_seconds:
            await asyncio.sleep(pause_seconds)
    await connection.execute(_RECORD_FINISHED, plan.name)
    plan.finished = True
    return written


async def reset_sequences(connection: PgConnection) -> int:
    """Every column-owned sequence set past its column's largest value (ids are made in
    Python, but a sequence that a default still uses must not hand out a copied id)."""
    owned = await connection.fetch(_OWNED_SEQUENCES)
    for row in owned:
        table, column = _quote(row["table_name"]), _quote(row["column_name"])
        await connection.execute(
            f"SELECT setval($1::regclass, COALESCE((SELECT max({column}) FROM {table}), 0) + 1,"  # noqa: S608
            " false)",
            row["sequence"],
        )
    return len(owned)


async def _target_sum(connection: PgConnection, plan: TablePlan) -> TableSum:
    columns = ", ".join(_quote(name) for name in plan.names)
    total = TableSum()
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        cursor = await connection.cursor(f"SELECT {columns} FROM {_quote(plan.name)}")  # noqa: S608
        while chunk := await cursor.fetch(_FETCH_SIZE):
            total.add_rows(plan.kinds, chunk)
    return total


async def _differences(
    source: SqliteSource, connection: PgConnection, plan: TablePlan
) -> list[str]:
    """The first few keys that differ between the sides, for the report."""
    expected = await asyncio.to_thread(source.digests, plan)
    found: list[str] = []
    key_kinds = [plan.kinds[index] for index in plan.key_indexes]
    columns = ", ".join(_quote(name) for name in plan.names)
    keys = ",".join(plan.key)
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        cursor = await connection.cursor(f"SELECT {columns} FROM {_quote(plan.name)}")  # noqa: S608
        while chunk := await cursor.fetch(_FETCH_SIZE):
            for row in chunk:
                key = row_key(key_kinds, [row[index] for index in plan.key_indexes])
                digest = expected.pop(key, None)
                if digest is None:
                    found.append(f"{keys}={key}: only on the target")
                elif digest != row_digest(plan.kinds, row):
                    found.append(f"{keys}={key}: values differ")
    found += [f"{keys}={key}: missing on the target" for key in expected]
    return found[:_DIFFERENCES_SHOWN] + (
        [f"… and {len(found) - _DIFFERENCES_SHOWN} more"] if len(found) > _DIFFERENCES_SHOWN else []
    )


async def validate(
    source: SqliteSource, connection: PgConnection, plans: Sequence[TablePlan]
) -> list[TableCheck]:
    """Counts and checksums of every table on both sides (the source's on a thread while
    the target's are read); a table that differs gets the first differing keys."""
    checks: list[TableCheck] = []
    for plan in plans:
        source_sum = asyncio.create_task(asyncio.to_thread(source.table_sum, plan))
        target_sum = await _target_sum(connection, plan)
        check = TableCheck(plan.name, await source_sum, target_sum)
        if not check.ok:
            check.differences = await _differences(source, connection, plan)
        checks.append(check)
    return checks


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    source_url: str
    target_url: str
    batch_size: int = 5000
    dry_run: bool = False
    pause_seconds: float = 0.0  # between batches (tests interrupt a run mid-table)


async def _connect(options: Options) -> PgConnection:
    import asyncpg  # type: ignore[import-untyped]

    try:
        return await asyncpg.connect(postgres_dsn(options.target_url), timeout=30)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MigrateDataError(f"--to: cannot connect ({reason})") from None


async def dry_run(options: Options, tables: Sequence[Table], echo: Echo) -> list[TablePlan]:
    """The plan and the counts; nothing is written anywhere."""
    source = SqliteSource(sqlite_path(options.source_url))
    try:
        _check_source_revision(source)
        source_revision = source.revision()
        connection = await _connect(options)
        try:
            revision = await _target_revision(connection)
            plans = await build_plan(source, connection, tables)
        finally:
            await connection.close()
    finally:
        source.close()
    echo(f"source: {source.path} (migration {source_revision})")
    echo(
        f"target: {postgres_dsn(options.target_url, hide_password=True)} "
        f"(migration {revision or 'none'}; would be migrated to {migrations.head_revision()})"
    )
    echo(f"plan: {len(plans)} tables in dependency order, batches of {options.batch_size} rows")
    for line in describe_plan(plans):
        echo(line)
    return plans


def describe_plan(plans: Sequence[TablePlan]) -> list[str]:
    lines = []
    for plan in plans:
        state = "done" if plan.finished else ("resume" if plan.rows_copied else "copy")
        target = "-" if plan.target_rows is None else str(plan.target_rows)
        line = f"  {plan.name:<28} source {plan.source_rows:>9}  target {target:>9}  {state}"
        if plan.source_only:
            line += f"  (not in the target: {', '.join(plan.source_only)})"
        lines.append(line)
    total = sum(plan.source_rows for plan in plans)
    lines.append(f"  {'total':<28} source {total:>9}")
    return lines


def _check_source_revision(source: SqliteSource) -> None:
    revision, head = source.revision(), migrations.head_revision()
    if revision != head:
        raise MigrateDataError(
            f"--from: the source is at migration {revision or 'none'} but this release's "
            f"schema is {head}: run `connecthub migrate` on it first (DATABASE_URL={source.path})"
        )


async def _target_revision(connection: PgConnection) -> str | None:
    if await connection.fetchval("SELECT to_regclass('public.alembic_version')") is None:
        return None
    value = await connection.fetchval("SELECT version_num FROM alembic_version")
    return str(value) if value is not None else None


async def migrate(
    options: Options, tables: Sequence[Table], settings: Settings, echo: Echo
) -> Outcome:
    """Migrates the target to head, copies what is left to copy, resets sequences and
    validates. Raises MigrateDataError for a refusal or a write that failed."""
    source = SqliteSource(sqlite_path(options.source_url))
    try:
        _check_source_revision(source)
        connection = await _connect(options)
        try:
            target_settings = settings.model_copy(update={"database_url": options.target_url})
            revision = await migrations.upgrade(target_settings)
            echo(f"target schema at migration {revision}")
            if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", _RUN_LOCK_KEY):
                raise MigrateDataError("--to: another migrate-data run is writing this target")
            await connection.execute(_PROGRESS_DDL)
            return await _copy_and_validate(source, connection, tables, options, echo)
        finally:
            await connection.close()  # the advisory lock goes with the session
    finally:
        source.close()


async def _copy_and_validate(
    source: SqliteSource,
    connection: PgConnection,
    tables: Sequence[Table],
    options: Options,
    echo: Echo,
) -> Outcome:
    plans = await build_plan(source, connection, tables)
    _refuse_foreign_rows(plans)
    outcome = Outcome(plans)
    started = time.perf_counter()
    for plan in plans:
        if plan.finished:
            continue
        if plan.rows_copied:
            echo(f"{plan.name}: resuming after {plan.rows_copied} rows (key {plan.last_key})")
        table_started = time.perf_counter()
        written = await _copy_table(
            source, connection, plan, options.batch_size, options.pause_seconds
        )
        outcome.copied_rows += written
        if written:
            seconds = time.perf_counter() - table_started
            echo(f"{plan.name}: {written} rows in {seconds:.1f} s")
    outcome.sequences_reset = await reset_sequences(connection)
    outcome.copy_seconds = time.perf_counter() - started
    echo(f"copied {outcome.copied_rows} rows in {outcome.copy_seconds:.1f} s; validating")
    started = time.perf_counter()
    outcome.checks = await validate(source, connection, plans)
    outcome.validate_seconds = time.perf_counter() - started
    return outcome


def describe_checks(outcome: Outcome) -> list[str]:
    lines = []
    for check in outcome.checks:
        if check.ok:
            continue
        counts = f"rows {check.source.rows} (source) vs {check.target.rows} (target)"
        sums = (
            "checksums equal"
            if check.source.total == check.target.total
            else f"checksum {check.source.hexdigest[:16]} vs {check.target.hexdigest[:16]}"
        )
        lines.append(f"  DIFFERS {check.name}: {counts}, {sums}")
        lines += [f"    {difference}" for difference in check.differences]
    rows = sum(check.source.rows for check in outcome.checks)
    verdict = "valid" if outcome.ok else f"INVALID ({len(outcome.failed)} tables differ)"
    lines.append(
        f"validation: {len(outcome.checks)} tables, {rows} rows in "
        f"{outcome.validate_seconds:.1f} s, counts and checksums: {verdict}"
    )
    return lines
