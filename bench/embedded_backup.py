"""Embedded backups, timed (issue 18; docs/backups.md; figures in docs/benchmarks.md).

Seeds an embedded instance (SQLite: accounts with tokens, statuses; media files in its
local directory), starts `connecthub serve` on it (`--http-port`, loopback) with a write
load through the API, runs `connecthub backup create` meanwhile, then stops the load and
runs `connecthub backup restore` into an empty directory. Prints the sizes, both commands'
wall times and the writes the server acknowledged while the backup ran.

    .venv/bin/python bench/embedded_backup.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pitr_drill import Load, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--media-files", type=int, default=200)
    parser.add_argument("--media-kib", type=int, default=256, help="size of each media file")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--http-port", type=int, default=8122)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="connecthub-backup-bench-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        data = work / "data"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "REDIS_", "MEDIA_"))
        }
        env.update(
            DATABASE_URL=f"sqlite:///{data / 'connecthub.db'}",
            MEDIA_STORAGE_URL=f"file://{data / 'media'}",
            OUTBOX_DIR=str(data / "outbox"),
            LOCAL_DOMAIN=f"127.0.0.1:{args.http_port}",
            LOG_LEVEL="warning",
            RATE_LIMIT_ENABLED="false",
            TRENDS_ENABLED="false",
        )
        command = [sys.executable, "-m", "connecthub"]
        subprocess.run([*command, "migrate"], env=env, check=True, cwd=work)
        tokens = asyncio.run(seed(env["DATABASE_URL"], args.accounts, args.statuses))
        for number in range(args.media_files):
            path = data / "media" / f"{number % 16:02x}" / f"file-{number}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.media_kib * 1024))
        database_bytes = (data / "connecthub.db").stat().st_size
        server = subprocess.Popen(
            [*command, "serve", "--port", str(args.http_port)],
            env=env,
            cwd=work,
            stdout=(work / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{args.http_port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("connecthub serve did not become ready")
            time.sleep(0.2)
        load = Load(url, tokens[: args.writers * 50], args.writers)
        load.start()
        time.sleep(3)
        acked_before = len(load.ledger)
        started = time.monotonic()
        created = subprocess.run(
            [*command, "backup", "create", str(work / "backup")],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        backup_seconds = time.monotonic() - started
        acked_during = len(load.ledger) - acked_before
        load.stop()
        started = time.monotonic()
        restored = subprocess.run(
            [*command, "backup", "restore", str(work / "backup"), "--data-dir", str(work / "r")],
            env={key: value for key, value in env.items() if key != "DATABASE_URL"},
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        restore_seconds = time.monotonic() - started
        print(
            f"instance: {args.accounts} accounts, {args.statuses} statuses, SQLite "
            f"{database_bytes / 1024 / 1024:.0f} MB; {args.media_files} media files of "
            f"{args.media_kib} KiB ({args.media_files * args.media_kib / 1024:.0f} MiB)"
        )
        print(
            f"backup create: {backup_seconds:.1f} s wall (the command, start-up included), "
            f"while the server acknowledged {acked_during} writes "
            f"({len(load.errors)} errors)"
        )
        print(f"  {created.stdout.strip().splitlines()[-2]}")
        print(f"backup restore (verified): {restore_seconds:.1f} s wall")
        print(f"  {restored.stdout.strip().splitlines()[0]}")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
