"""Export of a large account: time and peak memory of the archive build (issue 20;
figures in docs/benchmarks.md, "Data export").

Generates one account with `50,000 x scale` statuses and `500 MB x scale` of media
originals (random bytes in 256 KiB files, one per status until they run out), then runs
the export job (`portability.build_export`'s work: archive on a temporary file, stored
through the media storage) in a fresh worker process and prints its wall time, the
Python heap's peak (tracemalloc) and the process's peak RSS (VmHWM) against its peak
before the build. Run at two scales to see that memory does not grow with the account:

    .venv/bin/python bench/export.py                       # scales 0.1 and 1 (50k, 500 MB)
    .venv/bin/python bench/export.py --scales 0.02,0.1     # smaller: prints which it ran
    .venv/bin/python bench/export.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Each scale runs in a temporary directory (SQLite file or a scratch PostgreSQL database,
media directory, archive) removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STATUSES = 50_000
MEDIA_BYTES = 500 * 1024 * 1024
FILE_BYTES = 256 * 1024
SCRATCH_DATABASE = "connecthub_bench_export"


def _high_water_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent across fork and exec, so the generator's memory would show in the worker's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _settings(database_url: str, media_dir: Path) -> Any:
    from connecthub.config import load_settings

    return load_settings(
        database_url=database_url,
        media_storage_url=f"file://{media_dir}",
        log_level="warning",
        outbox_dir=str(media_dir.parent / "outbox"),
    )


async def _scratch(server: str, drop_only: bool = False) -> str:
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


async def generate(database_url: str, media_dir: Path, scale: float) -> tuple[int, int, int]:
    """The account, its statuses and media; returns (export id, statuses, media bytes)."""
    from sqlalchemy import insert

    from connecthub.accounts import service as accounts
    from connecthub.clock import utcnow
    from connecthub.ids import new_id
    from connecthub.infra import migrations
    from connecthub.infra.engines import Engines
    from connecthub.media.models import MediaAttachment, MediaKind, MediaState
    from connecthub.portability.models import DataExport
    from connecthub.statuses.models import Status

    settings = _settings(database_url, media_dir)
    await migrations.upgrade(settings)
    engines = Engines.from_settings(settings)
    statuses = int(STATUSES * scale)
    files = int(MEDIA_BYTES * scale) // FILE_BYTES
    try:
        async with engines.db.transaction() as session:
            account, _user = await accounts.create_user(
                session, username="archivist", email="archivist@example.com", password="x" * 16
            )
        ids = [new_id() for _ in range(statuses)]
        for start in range(0, statuses, 5000):
            rows = [
                {
                    "id": status_id,
                    "account_id": account.id,
                    "text": f"status {n} " + "words " * 30,
                    "content": f"<p>status {n} " + "words " * 30 + "</p>",
                    "visibility": n % 4,
                    "language": "en",
                    "has_media": n < files,
                    "created_at": utcnow(),
                }
                for n, status_id in enumerate(ids[start : start + 5000], start=start)
            ]
            async with engines.db.transaction() as session:
                await session.execute(insert(Status), rows)
        media_rows = []
        for n in range(files):
            data = os.urandom(FILE_BYTES)
            digest = f"{n:064x}"
            key = f"original/{digest[:2]}/{digest[2:4]}/{digest}.png"
            await engines.storage.put(key, data, "image/png")
            media_rows.append(
                {
                    "id": new_id(),
                    "account_id": account.id,
                    "status_id": ids[n % max(1, statuses)],
                    "kind": MediaKind.IMAGE,
                    "state": MediaState.READY,
                    "content_type": "image/png",
                    "file_key": key,
                    "stored_bytes": FILE_BYTES,
                    "meta": {},
                }
            )
            if len(media_rows) == 500 or n == files - 1:
                async with engines.db.transaction() as session:
                    await session.execute(insert(MediaAttachment), media_rows)
                media_rows = []
        async with engines.db.transaction() as session:
            export = DataExport(account_id=account.id)
            session.add(export)
            await session.flush()
            export_id = export.id
    finally:
        await engines.stop()
    return export_id, statuses, files * FILE_BYTES


async def build_one(database_url: str, media_dir: Path, export_id: int) -> dict[str, Any]:
    """The worker's side: run the export build and measure it (in this fresh process)."""
    import tracemalloc

    from connecthub.infra.engines import Engines
    from connecthub.portability import tasks
    from connecthub.portability.models import DataExport

    engines = Engines.from_settings(_settings(database_url, media_dir))
    try:
        rss_before = _high_water_mb()
        tracemalloc.start()
        started = time.perf_counter()
        await tasks.build(engines, export_id)
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        async with engines.db.session() as session:
            export = await session.get(DataExport, export_id)
            assert export is not None
            assert export.state == "ready", export.state
            size = export.size_bytes
    finally:
        await engines.stop()
    return {
        "seconds": round(elapsed, 1),
        "archive_mb": round(size / 2**20, 1),
        "heap_peak_mb": round(peak / 2**20, 1),
        "rss_before_mb": rss_before,
        "rss_peak_mb": _high_water_mb(),
    }


def one_scale(scale: float, postgres: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="connecthub-bench-export-") as directory:
        root = Path(directory)
        media_dir = root / "media"
        database_url = (
            asyncio.run(_scratch(postgres)) if postgres else f"sqlite:///{root / 'db.sqlite'}"
        )
        try:
            export_id, statuses, media = asyncio.run(generate(database_url, media_dir, scale))
            command = [sys.executable, __file__, "--build-one", database_url]
            child = subprocess.run(
                [*command, str(media_dir), str(export_id)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
        finally:
            if postgres:
                asyncio.run(_scratch(postgres, drop_only=True))
    return {"scale": scale, "statuses": statuses, "media_mb": media // 2**20, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.1,1", help="comma list of scales (1 = 50k, 500 MB)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--build-one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_one:
        database_url, media_dir, export_id = args.build_one
        print(json.dumps(asyncio.run(build_one(database_url, Path(media_dir), int(export_id)))))
        return
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"engine: {engine}; scales: {args.scales} (1 = {STATUSES:,} statuses, 500 MB media)")
    header = (
        "scale",
        "statuses",
        "media_mb",
        "archive_mb",
        "seconds",
        "heap_peak_mb",
        "rss_before_mb",
        "rss_peak_mb",
    )
    print(" | ".join(header))
    for scale in (float(value) for value in args.scales.split(",")):
        row = one_scale(scale, args.postgres)
        print(" | ".join(str(row[name]) for name in header), flush=True)


if __name__ == "__main__":
    main()
