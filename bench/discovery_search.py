"""Status search latency (issue 22, item 1; figures in docs/benchmarks.md, "Status search").

Builds a database of its own through the migrations (PostgreSQL: a new database on the
server of DATABASE_URL, dropped at the end; SQLite: a temporary file), bulk-inserts
accounts (a share of them `indexable`), generated statuses in an English and Indonesian
mix (Zipf-distributed words, a spread of visibilities and languages, ids spread over 90
days) and favourites (COPY on PostgreSQL, executemany on SQLite; the search index is kept
by the engine as rows arrive, as in production), then times `discovery.repository.
search_statuses` — THE query of `/api/v2/search`, visibility rule included — for random
viewers over several kinds of query, and prints p50 / p99 per kind and overall.

Full scale is 1,000,000 statuses on PostgreSQL and 200,000 on SQLite; `--scale 0.1` runs
a tenth (the output says which scale ran).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/discovery_search.py --engine postgresql [--scale 0.1]
    .venv/bin/python bench/discovery_search.py --engine sqlite [--scale 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

FULL_SCALE = {"postgresql": 1_000_000, "sqlite": 200_000}
ACCOUNTS_PER_STATUS = 1 / 100
INDEXABLE_SHARE = 0.6
FAVOURITES_PER_STATUS = 0.2
BATCH = 20_000
DATABASE = "connecthub_bench_search"

ENGLISH = [
    "the",
    "time",
    "people",
    "year",
    "way",
    "day",
    "man",
    "thing",
    "woman",
    "life",
    "child",
    "world",
    "school",
    "state",
    "family",
    "student",
    "group",
    "country",
    "problem",
    "hand",
    "part",
    "place",
    "case",
    "week",
    "company",
    "system",
    "program",
    "question",
    "work",
    "government",
    "number",
    "night",
    "point",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "community",
    "name",
    "president",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
    "coffee",
    "rain",
    "garden",
    "music",
    "movie",
    "weekend",
    "train",
    "running",
    "cooking",
    "reading",
    "walking",
    "dinner",
    "breakfast",
    "sunset",
    "mountain",
    "river",
    "beach",
    "forest",
]
INDONESIAN = [
    "yang",
    "dan",
    "di",
    "itu",
    "dengan",
    "untuk",
    "tidak",
    "ini",
    "dari",
    "dalam",
    "akan",
    "pada",
    "juga",
    "saya",
    "ke",
    "karena",
    "tersebut",
    "bisa",
    "ada",
    "mereka",
    "lebih",
    "kata",
    "tahun",
    "sudah",
    "atau",
    "saat",
    "oleh",
    "menjadi",
    "orang",
    "kami",
    "makan",
    "makanan",
    "memakan",
    "minum",
    "minuman",
    "rumah",
    "jalan",
    "kota",
    "pagi",
    "malam",
    "hujan",
    "pantai",
    "gunung",
    "nasi",
    "goreng",
    "sate",
    "bakso",
    "kopi",
    "teh",
    "hari",
    "minggu",
    "kerja",
    "sekolah",
    "teman",
    "keluarga",
    "anak",
    "ibu",
    "bapak",
    "kantor",
    "pasar",
    "belanja",
    "libur",
    "liburan",
    "senang",
    "sedih",
    "cantik",
    "indah",
    "enak",
    "pedas",
    "manis",
    "berjalan",
    "berlari",
    "membaca",
    "menulis",
    "bermain",
    "belajar",
    "bekerja",
    "tidur",
    "bangun",
    "masak",
    "memasak",
    "jakarta",
    "bandung",
    "surabaya",
    "bali",
    "yogyakarta",
    "musik",
    "film",
    "lagu",
    "buku",
    "cerita",
    "berita",
    "cuaca",
]
VISIBILITIES = (0, 1, 2, 3)  # public, unlisted, private, direct
VISIBILITY_WEIGHTS = (80, 10, 8, 2)


def zipf_weights(count: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(count)]


def status_text(rng: random.Random, words: list[str], weights: list[float]) -> str:
    return " ".join(rng.choices(words, weights=weights, k=rng.randint(6, 30)))


class Corpus:
    """Generated rows, the same for a given seed and scale."""

    def __init__(self, statuses: int, seed: int = 22) -> None:
        from connecthub.ids import id_for_time

        self.rng = rng = random.Random(seed)
        self.now = datetime.now(UTC)
        accounts = max(50, int(statuses * ACCOUNTS_PER_STATUS))
        start_ms = int((self.now - timedelta(days=90)).timestamp() * 1000)
        self.account_ids = [id_for_time(start_ms - 1000) + n for n in range(accounts)]
        self.indexable = {a for a in self.account_ids if rng.random() < INDEXABLE_SHARE}
        english_weights, indonesian_weights = (
            zipf_weights(len(ENGLISH)),
            zipf_weights(len(INDONESIAN)),
        )
        span_ms = 90 * 86_400_000
        self.statuses: list[tuple[Any, ...]] = []
        for n in range(statuses):
            ms = start_ms + span_ms * n // statuses
            status_id = id_for_time(ms) + n % 65_536
            indonesian = rng.random() < 0.5
            text = (
                status_text(rng, INDONESIAN, indonesian_weights)
                if indonesian
                else status_text(rng, ENGLISH, english_weights)
            )
            self.statuses.append(
                (
                    status_id,
                    rng.choice(self.account_ids),
                    text,
                    rng.choices(VISIBILITIES, weights=VISIBILITY_WEIGHTS)[0],
                    "id" if indonesian else "en",
                    datetime.fromtimestamp(ms / 1000, UTC),
                )
            )
        picks = rng.sample(range(statuses), int(statuses * FAVOURITES_PER_STATUS))
        self.favourites = [
            (id_for_time(start_ms + span_ms) + n, rng.choice(self.account_ids), self.statuses[i][0])
            for n, i in enumerate(picks)
        ]
        self.favourites = list({(f[1], f[2]): f for f in self.favourites}.values())

    def account_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": account_id,
                "username": f"u{n}",
                "username_key": f"u{n}",
                "indexable": account_id in self.indexable,
                "created_at": self.now,
            }
            for n, account_id in enumerate(self.account_ids)
        ]


QUERIES: dict[str, Callable[[random.Random], str]] = {
    "common word": lambda rng: rng.choice(ENGLISH[:5] + INDONESIAN[:5]),
    "rare word": lambda rng: rng.choice(ENGLISH[-20:] + INDONESIAN[-20:]),
    "two words": lambda rng: f"{rng.choice(ENGLISH[:40])} {rng.choice(ENGLISH[:40])}",
    "stemmed (id)": lambda rng: rng.choice(("makan", "masak", "main", "jalan", "libur")),
    "phrase": lambda rng: rng.choice(('"nasi goreng"', '"the coffee"', '"di rumah"')),
    "word + from:": lambda rng: f"{rng.choice(ENGLISH[:30])} from:u{rng.randrange(50)}",
    "word + has:poll -word": lambda rng: f"{rng.choice(INDONESIAN[:30])} -yang has:poll",
}


async def create_schema(url: str) -> None:
    from connecthub.config import load_settings
    from connecthub.infra import migrations

    await migrations.upgrade(load_settings(database_url=url))


async def insert_postgresql(dsn: str, corpus: Corpus) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(
            "INSERT INTO accounts (id, username, username_key, display_name, note, fields, "
            "locked, bot, discoverable, indexable, followers_count, following_count, "
            "statuses_count, created_at, updated_at) VALUES "
            "($1, $2, $3, '', '', '[]', false, false, true, $4, 0, 0, 0, $5, $5)",
            [
                (r["id"], r["username"], r["username_key"], r["indexable"], r["created_at"])
                for r in corpus.account_rows()
            ],
        )
        columns = [
            "id",
            "account_id",
            "text",
            "content",
            "spoiler_text",
            "sensitive",
            "visibility",
            "language",
            "has_media",
            "replies_count",
            "reblogs_count",
            "favourites_count",
            "created_at",
        ]
        for start in range(0, len(corpus.statuses), BATCH):
            rows = [
                (sid, author, text, text, "", False, vis, lang, False, 0, 0, 0, at)
                for sid, author, text, vis, lang, at in corpus.statuses[start : start + BATCH]
            ]
            await connection.copy_records_to_table("statuses", records=rows, columns=columns)
        await connection.copy_records_to_table(
            "favourites",
            records=[(*f, corpus.now) for f in corpus.favourites],
            columns=["id", "account_id", "status_id", "created_at"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def insert_sqlite(path: str, corpus: Corpus) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.executemany(
            "INSERT INTO accounts (id, username, username_key, display_name, note, fields, "
            "locked, bot, discoverable, indexable, followers_count, following_count, "
            "statuses_count, created_at, updated_at) VALUES "
            "(?, ?, ?, '', '', '[]', 0, 0, 1, ?, 0, 0, 0, ?, ?)",
            [
                (r["id"], r["username"], r["username_key"], r["indexable"], iso, iso)
                for r in corpus.account_rows()
                for iso in [r["created_at"].isoformat()]
            ],
        )
        connection.executemany(
            "INSERT INTO statuses (id, account_id, text, content, spoiler_text, sensitive, "
            "visibility, language, has_media, replies_count, reblogs_count, favourites_count, "
            "created_at) VALUES (?, ?, ?, ?, '', 0, ?, ?, 0, 0, 0, 0, ?)",
            [
                (sid, author, text, text, vis, lang, at.isoformat())
                for sid, author, text, vis, lang, at in corpus.statuses
            ],
        )
        connection.executemany(
            "INSERT INTO favourites (id, account_id, status_id, created_at) VALUES (?, ?, ?, ?)",
            [(*f, corpus.now.isoformat()) for f in corpus.favourites],
        )
        connection.commit()
        connection.execute("ANALYZE")
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(url: str, corpus: Corpus, rounds: int) -> dict[str, list[float]]:
    from connecthub.config import load_settings
    from connecthub.discovery import query as search_query
    from connecthub.discovery import repository
    from connecthub.ids import new_id
    from connecthub.infra.db import Database

    db = Database(load_settings(database_url=url))
    rng = random.Random(7)
    timings: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    names = {f"u{n}": a for n, a in enumerate(corpus.account_ids)}
    try:
        for _ in range(rounds):
            for kind, make in QUERIES.items():
                parsed = search_query.parse(make(rng))
                criteria = repository.StatusCriteria(
                    text=parsed.text(),
                    authors=[(names[flag.value], flag.negated) for flag in parsed.authors],
                    has=[(flag.value, flag.negated) for flag in parsed.has],
                )
                viewer = rng.choice(corpus.account_ids)
                async with db.session(readonly=True) as session:
                    started = time.perf_counter()
                    await repository.search_statuses(
                        session, viewer, criteria, now_id=new_id(), limit=20, offset=0
                    )
                    timings[kind].append((time.perf_counter() - started) * 1000)
    finally:
        await db.dispose()
    return timings


def report(engine: str, statuses: int, scale: float, timings: dict[str, list[float]]) -> None:
    label = "full scale" if scale == 1 else f"scale {scale:g} of the full {FULL_SCALE[engine]:,}"
    print(f"\n{engine}: {statuses:,} statuses ({label}), limit 20, ms per query")
    print(f"{'query':<24}{'n':>5}{'p50':>9}{'p99':>9}")
    everything: list[float] = []
    for kind, values in timings.items():
        everything += values
        print(
            f"{kind:<24}{len(values):>5}{percentile(values, 0.5):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}"
        )
    print(
        f"{'all':<24}{len(everything):>5}{percentile(everything, 0.5):>9.1f}"
        f"{percentile(everything, 0.99):>9.1f}  (mean {statistics.mean(everything):.1f})"
    )


async def run(engine: str, scale: float, rounds: int) -> None:
    statuses = int(FULL_SCALE[engine] * scale)
    started = time.perf_counter()
    corpus = Corpus(statuses)
    print(f"{engine}: generated {statuses:,} statuses in {time.perf_counter() - started:.0f} s")
    if engine == "postgresql":
        server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        base = make_url(server.replace("postgresql+asyncpg", "postgresql"))
        admin = base.set(database="postgres").render_as_string(hide_password=False)
        url = base.set(database=DATABASE).render_as_string(hide_password=False)
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{DATABASE}"')
        try:
            await create_schema(url)
            started = time.perf_counter()
            await insert_postgresql(url, corpus)
            print(f"inserted (index kept) in {time.perf_counter() - started:.0f} s")
            report(engine, statuses, scale, await measure(url, corpus, rounds))
        finally:
            await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await connection.close()
        return
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "bench.db")
        url = f"sqlite:///{path}"
        await create_schema(url)
        started = time.perf_counter()
        insert_sqlite(path, corpus)
        print(f"inserted (index kept) in {time.perf_counter() - started:.0f} s")
        report(engine, statuses, scale, await measure(url, corpus, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full scale")
    parser.add_argument("--rounds", type=int, default=30, help="queries of each kind")
    args = parser.parse_args()
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    for engine in engines:
        asyncio.run(run(engine, args.scale, args.rounds))


if __name__ == "__main__":
    main()
