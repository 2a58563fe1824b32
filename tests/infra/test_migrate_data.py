"""`connecthub migrate-data`: an embedded instance seeded through the API, copied into
PostgreSQL, answers the same reads from PostgreSQL (+ Redis when the run has it); a run killed
halfway completes on the next with validation passing; a corrupted target fails validation
naming the table. PostgreSQL is the target, so these run in the PostgreSQL pass of CI."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cli_runner import run_cli
from tests.conftest import start_connecthub
from tests.engines import postgres_server_url
from tests.infra.migrate_data_support import (
    Embedded,
    answers,
    drop_progress,
    make_embedded,
    seed,
    serving,
    target_fetch,
)

if TYPE_CHECKING:
    from tests.conftest import TestEnv

needs_postgres = pytest.mark.skipif(
    postgres_server_url() is None, reason="the target of migrate-data is PostgreSQL"
)


@pytest.mark.slow
async def test_refusals_name_the_option(test_env: TestEnv, tmp_path: Path) -> None:
    """Wrong URLs and a source that is not this release's schema are refused in one line
    (exit 2), before anything is written."""
    source = (await make_embedded(test_env)).url
    target = "postgresql://nobody@127.0.0.1:1/none"
    missing, unmigrated = tmp_path / "missing.db", tmp_path / "empty.db"
    sqlite3.connect(unmigrated).close()
    cases = [
        (f"sqlite:///{missing}", target, f"--from: no SQLite database at {missing}"),
        (target, target, "--from: expected sqlite:///<file>"),
        (f"sqlite:///{unmigrated}", target, "--from: the source is at migration none"),
        (source, "sqlite:///other.db", "--to: expected postgresql://"),
        (source, target, "--to: cannot connect"),
    ]
    for origin, destination, message in cases:
        result = run_cli(test_env.environ(), "migrate-data", "--from", origin, "--to", destination)
        assert result.returncode == 2, (origin, destination, result.stdout, result.stderr)
        assert message in result.stderr, (origin, destination, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.fixture
async def embedded(test_env: TestEnv) -> AsyncIterator[Embedded]:
    yield await make_embedded(test_env)
    await drop_progress(test_env)


def _migrate(env: TestEnv, source: Embedded, *args: str) -> tuple[int, str]:
    result = run_cli(
        env.environ(), "migrate-data", "--from", source.url, "--to", env.database_url, *args
    )
    return result.returncode, result.stdout + result.stderr


@needs_postgres
@pytest.mark.timeout(300)
async def test_the_same_reads_answer_from_postgresql(test_env: TestEnv, embedded: Embedded) -> None:
    async with serving(embedded.settings()) as (app, client):
        seeded = await seed(app, client)
        before = await answers(client, seeded)

    code, output = _migrate(test_env, embedded, "--batch-size", "7")
    assert code == 0, output
    assert "counts and checksums: valid" in output, output

    async with serving(test_env.settings()) as (app, client):
        after = await answers(client, seeded)
        # New writes get ids past the copied ones (sequences and id generator alike).
        posted = (
            await client.post(
                "/api/v1/statuses",
                json={"status": "After the move"},
                headers={"Authorization": f"Bearer {seeded.tokens['alice']}"},
            )
        ).json()
        assert int(posted["id"]) > int(seeded.ids["direct"])

    # The reads have substance: timelines, notifications and conversations are not empty.
    for read in (
        "alice /api/v1/timelines/home",
        "bob /api/v1/timelines/home",
        "alice /api/v1/notifications",
        "bob /api/v1/conversations",
    ):
        assert len(before[read]) >= (1 if "conversations" in read else 2), (read, before[read])
    assert before[f"alice /api/v1/statuses/{seeded.ids['with_media']}"]["media_attachments"]
    assert list(after) == list(before)
    for read, answer in before.items():
        assert after[read] == answer, read
    # Every kind of row went over.
    counts = {
        table: int(rows[0][0])
        for table in (
            "accounts", "oauth_tokens", "follows", "statuses", "media_attachments", "polls",
            "poll_votes", "notifications", "conversations", "filters", "filter_keywords",
            "lists", "list_accounts", "markers", "consents", "favourites", "bookmarks",
        )
        if (rows := await target_fetch(test_env, f"SELECT count(*) FROM {table}"))  # noqa: S608
    }  # fmt: skip
    assert all(count > 0 for count in counts.values()), counts


@needs_postgres
@pytest.mark.timeout(300)
async def test_killed_halfway_it_resumes_and_a_corrupted_row_is_named(
    test_env: TestEnv, embedded: Embedded
) -> None:
    async with serving(embedded.settings()) as (app, client):
        await seed(app, client, statuses=60)

    code, output = _migrate(test_env, embedded, "--dry-run", "--batch-size", "10")
    assert code == 0, output
    statuses = _sqlite_count(embedded, "statuses")
    assert re.search(rf"statuses +source +{statuses} +target +0 +copy", output), output
    assert await _progress_absent(test_env)  # a dry run writes nothing

    # A real process, killed (SIGKILL) once a table is partly copied.
    log = test_env.workdir / "first-run.log"
    process = start_connecthub(
        "migrate-data", "--from", embedded.url, "--to", test_env.database_url,
        "--batch-size", "10", "--pause", "0.5",
        env=test_env.environ(), output=log,
    )  # fmt: skip
    try:
        partial = await _wait_for_partial_table(test_env, embedded, process)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    table, copied = partial
    source_rows = _sqlite_count(embedded, table)
    held = (await target_fetch(test_env, f"SELECT count(*) FROM {table}"))[0][0]  # noqa: S608
    assert 0 < held < source_rows, (table, held, source_rows)
    assert held >= copied

    code, output = _migrate(test_env, embedded, "--batch-size", "10")
    assert code == 0, output
    assert f"{table}: resuming after" in output, output
    assert "counts and checksums: valid" in output, output
    held = (await target_fetch(test_env, f"SELECT count(*) FROM {table}"))[0][0]  # noqa: S608
    assert held == source_rows

    # Run again: nothing left to copy, validation again; then a corrupted row fails it.
    code, output = _migrate(test_env, embedded)
    assert code == 0, output
    assert "copied 0 rows" in output, output
    victim = (await target_fetch(test_env, "SELECT id FROM statuses ORDER BY id LIMIT 1"))[0][0]
    await target_fetch(test_env, "UPDATE statuses SET text = text || '!' WHERE id = $1", victim)
    await target_fetch(test_env, "DELETE FROM markers")
    code, output = _migrate(test_env, embedded)
    assert code == 1, output
    assert "DIFFERS statuses" in output, output
    assert f"id={victim}: values differ" in output, output
    assert "DIFFERS markers: rows 1 (source) vs 0 (target)" in output, output
    assert "INVALID (2 tables differ)" in output, output

    # A target holding rows no run recorded is refused, not mixed into.
    await drop_progress(test_env)
    code, output = _migrate(test_env, embedded)
    assert code == 2, output
    assert "already holds" in output, output


async def _progress_absent(env: TestEnv) -> bool:
    rows = await target_fetch(env, "SELECT to_regclass('migrate_data_progress') IS NULL")
    return bool(rows[0][0])


async def _wait_for_partial_table(
    env: TestEnv, embedded: Embedded, process: subprocess.Popen[bytes]
) -> tuple[str, int]:
    """The first table the run has started and not finished, as its record says."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it was killed"
        if not await _progress_absent(env):
            started = await target_fetch(
                env,
                "SELECT table_name, rows_copied FROM migrate_data_progress"
                " WHERE finished_at IS NULL AND rows_copied > 0",
            )
            for table, copied in started:
                if copied < _sqlite_count(embedded, table):
                    return str(table), int(copied)
        await asyncio.sleep(0.05)
    raise AssertionError("no table was seen partly copied")


def _sqlite_count(embedded: Embedded, table: str) -> int:
    with sqlite3.connect(embedded.path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


@needs_postgres
@pytest.mark.timeout(300)
async def test_a_row_postgresql_refuses_stops_the_run_and_fixed_it_goes_on(
    test_env: TestEnv, embedded: Embedded
) -> None:
    """SQLite does not enforce VARCHAR lengths; PostgreSQL does. The run stops naming the
    table and where, keeps what it copied, and after the row is fixed it completes."""
    with sqlite3.connect(embedded.path) as connection:
        rows = [(n, f"tag{n}", f"tag{n}", "2026-12-04 21:40:52.123456") for n in range(1, 26)]
        rows.append((26, "x" * 200, "x" * 200, "2026-12-04 21:40:52.123456"))
        connection.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", rows)

    code, output = _migrate(test_env, embedded, "--batch-size", "10")
    assert code == 2, output
    assert "tags: the rows after key [20] could not be written: StringDataRightTruncation" in output
    held = await target_fetch(test_env, "SELECT count(*), max(id) FROM tags")
    assert tuple(held[0]) == (20, 20)

    with sqlite3.connect(embedded.path) as connection:
        connection.execute("UPDATE tags SET name = 'long', name_key = 'long' WHERE id = 26")
    code, output = _migrate(test_env, embedded, "--batch-size", "10")
    assert code == 0, output
    assert "tags: resuming after 20 rows (key [20])" in output, output
    assert "counts and checksums: valid" in output, output
