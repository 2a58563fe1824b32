"""`connecthub migrate-data` on a 100,000-status embedded instance: rows/s and total time
(issue 18; figures in docs/benchmarks.md, "Moving an embedded instance to PostgreSQL").

Seeds a SQLite file quickly with bulk inserts through the ORM (not HTTP): 50 users who all
follow each other, `100,000 x scale` statuses (a tenth of them replies, one in five with a
hashtag), half as many favourites and notifications. Then runs `connecthub migrate-data`
into a scratch PostgreSQL database, as an operator would (a real process), and prints the
rows, each phase's time from the run's own report, rows/s of the copy, and the on-disk size
of the largest tables on both sides (bytes per row: docs/scaling.md uses them).

    .venv/bin/python bench/migrate_data.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/migrate_data.py --postgres … --scale 0.1   # 10,000 statuses

The SQLite file lives in a temporary directory; the scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STATUSES = 100_000
USERS = 50
SCRATCH_DATABASE = "connecthub_bench_migrate_data"
BATCH = 5000


def _settings(database_url: str, workdir: Path) -> Any:
    from connecthub.config import load_settings

    return load_settings(
        database_url=database_url,
        media_storage_url=f"file://{workdir / 'media'}",
        outbox_dir=str(workdir / "outbox"),
        log_level="warning",
    )


async def _scratch(server: str, *, drop_only: bool = False) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(server).set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")
        if not drop_only:
            await connection.execute(f"CREATE DATABASE {SCRATCH_DATABASE}")
    finally:
        await connection.close()
    return make_url(server).set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)


async def seed(database_url: str, workdir: Path, statuses: int) -> None:
    from sqlalchemy import insert, update

    from connecthub.accounts import service as accounts
    from connecthub.accounts.models import Account
    from connecthub.clock import utcnow
    from connecthub.ids import new_id
    from connecthub.infra import migrations
    from connecthub.infra.engines import Engines
    from connecthub.notifications.models import Notification
    from connecthub.relationships.models import Follow
    from connecthub.statuses.models import Favourite, Status, StatusTag, Tag

    settings = _settings(database_url, workdir)
    await migrations.upgrade(settings)
    engines = Engines.from_settings(settings)
    chance = random.Random(18)
    try:
        people: list[int] = []
        for n in range(USERS):
            async with engines.db.transaction() as session:
                account, _user = await accounts.create_user(
                    session, username=f"user{n}", email=f"user{n}@example.com", password="x" * 16
                )
                people.append(account.id)
        async with engines.db.transaction() as session:
            await session.execute(
                insert(Follow),
                [
                    {"account_id": a, "target_account_id": b}
                    for a in people
                    for b in people
                    if a != b
                ],
            )
            await session.execute(
                update(Account).values(followers_count=USERS - 1, following_count=USERS - 1)
            )
            tag_ids = [new_id() for _ in range(20)]
            await session.execute(
                insert(Tag),
                [
                    {"id": tag, "name": f"topic{n}", "name_key": f"topic{n}"}
                    for n, tag in enumerate(tag_ids)
                ],
            )
        ids: list[int] = []
        for start in range(0, statuses, BATCH):
            rows, tags = [], []
            for n in range(start, min(start + BATCH, statuses)):
                status_id = new_id()
                reply_to = chance.choice(ids) if ids and n % 10 == 0 else None
                text = f"status {n} " + " ".join(chance.choices(_WORDS, k=chance.randint(5, 40)))
                rows.append(
                    {
                        "id": status_id,
                        "account_id": chance.choice(people),
                        "text": text,
                        "content": f"<p>{text}</p>",
                        "visibility": 0 if n % 5 else 1,
                        "language": "en",
                        "in_reply_to_id": reply_to,
                        "created_at": utcnow(),
                    }
                )
                if n % 5 == 0:
                    tags.append({"status_id": status_id, "tag_id": chance.choice(tag_ids)})
                ids.append(status_id)
            async with engines.db.transaction() as session:
                await session.execute(insert(Status), rows)
                if tags:
                    await session.execute(insert(StatusTag), tags)
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < statuses // 2:
            pairs.add((chance.choice(people), chance.choice(ids)))
        ordered = sorted(pairs)
        for start in range(0, len(ordered), BATCH):
            chunk = ordered[start : start + BATCH]
            async with engines.db.transaction() as session:
                await session.execute(
                    insert(Favourite), [{"account_id": a, "status_id": s} for a, s in chunk]
                )
                await session.execute(
                    insert(Notification),
                    [
                        {"account_id": people[(i + 1) % USERS], "from_account_id": a,
                         "type": "favourite", "activity_id": s, "status_id": s}
                        for i, (a, s) in enumerate(chunk)
                    ],
                )  # fmt: skip
    finally:
        await engines.stop()


_WORDS = [
    "the",
    "a",
    "social",
    "post",
    "about",
    "coffee",
    "tea",
    "weather",
    "music",
    "friends",
    "code",
    "release",
    "morning",
    "evening",
    "photo",
    "travel",
    "city",
    "book",
    "film",
    "game",
    "news",
    "update",
    "hello",
    "thanks",
    "great",
    "today",
    "tomorrow",
]


def _sqlite_sizes(path: Path) -> dict[str, tuple[int, int]]:
    """Table -> (rows, bytes) from SQLite's dbstat (the table's own b-tree, indexes apart)."""
    with sqlite3.connect(path) as connection:
        sizes = {}
        for name, size in connection.execute(
            "SELECT name, sum(pgsize) FROM dbstat WHERE name IN"
            " (SELECT name FROM sqlite_master WHERE type = 'table') GROUP BY name"
        ):
            rows = connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            sizes[name] = (rows, size)
        return sizes


async def _postgres_sizes(url: str) -> dict[str, tuple[int, int, int]]:
    """Table -> (rows, heap + TOAST bytes, index bytes), after ANALYZE."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
        rows = await connection.fetch(
            "SELECT c.relname, c.reltuples::bigint AS rows,"
            " pg_table_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes"
            " FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        )
        return {row["relname"]: (row["rows"], row["heap"], row["indexes"]) for row in rows}
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", type=Path, help="seed into (or reuse the seed in) this directory")
    arguments = parser.parse_args()
    statuses = int(STATUSES * arguments.scale)
    with tempfile.TemporaryDirectory(prefix="connecthub-migrate-bench-") as directory:
        workdir = arguments.keep or Path(directory)
        workdir.mkdir(parents=True, exist_ok=True)
        source = workdir / f"connecthub-{statuses}.db"
        if not source.exists():
            started = time.perf_counter()
            asyncio.run(seed(f"sqlite:///{source}", workdir, statuses))
            print(f"seeded {statuses} statuses in {time.perf_counter() - started:.1f} s")
        target = asyncio.run(_scratch(arguments.postgres))
        try:
            environ = {**os.environ, "ENVIRONMENT": "development", "LOG_LEVEL": "warning"}
            command = [
                sys.executable, "-m", "connecthub", "migrate-data", "--from", f"sqlite:///{source}",
                "--to", target, "--batch-size", str(arguments.batch_size),
            ]  # fmt: skip
            started = time.perf_counter()
            run = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
            total = time.perf_counter() - started
            print(run.stdout + run.stderr)
            if run.returncode != 0:
                raise SystemExit(run.returncode)
            copied = int(re.search(r"copied (\d+) rows in ([\d.]+) s", run.stdout)[1])  # type: ignore[index]
            copy_seconds = float(re.search(r"copied \d+ rows in ([\d.]+) s", run.stdout)[1])  # type: ignore[index]
            validation = float(re.search(r"rows in ([\d.]+) s, counts", run.stdout)[1])  # type: ignore[index]
            print(f"rows copied: {copied}")
            print(f"validation: {validation:.1f} s, {copied / validation:,.0f} rows/s")
            print(f"copy: {copy_seconds:.1f} s, {copied / copy_seconds:,.0f} rows/s")
            print(f"command total (start-up, schema, copy, validation): {total:.1f} s")
            print(f"end to end: {copied / total:,.0f} rows/s")
            sqlite_sizes = _sqlite_sizes(source)
            postgres_sizes = asyncio.run(_postgres_sizes(target))
            print("\ntable              rows   SQLite B/row   PostgreSQL heap B/row   index B/row")
            largest = sorted(postgres_sizes.items(), key=lambda item: -item[1][1])[:8]
            for name, (rows, heap, indexes) in largest:
                lite_rows, lite_bytes = sqlite_sizes.get(name, (0, 0))
                per = lambda size, count: size / count if count else 0.0  # noqa: E731
                print(
                    f"{name:<16} {lite_rows:>8} {per(lite_bytes, lite_rows):>14.0f}"
                    f" {per(heap, rows):>23.0f} {per(indexes, rows):>13.0f}"
                )
        finally:
            asyncio.run(_scratch(arguments.postgres, drop_only=True))


if __name__ == "__main__":
    main()
