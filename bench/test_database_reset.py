"""What emptying a test's PostgreSQL database costs (tests/engines.py): on a connection
opened for it, as the harness did, and on one held open, as it does now. Server CPU from
/proc (the postmaster's reaped backends and its live ones), the client's from
`time.process_time`, per reset.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/test_database_reset.py [--resets 100]

Run it on the machine's own PostgreSQL: it reads the server's processes under /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engines import END_OTHER_BACKENDS, TestDatabases, _asyncpg_dsn, postgres_server_url


def server_cpu_seconds() -> float:
    """The postmaster's CPU and its children's: reaped (cutime) and live."""
    pid_files = list(Path("/var/run/postgresql").glob("*.pid"))
    postmaster = int(pid_files[0].read_text().split()[0])

    def fields(pid: int | str) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    ticks = sum(int(value) for value in fields(postmaster)[11:15])
    for task in Path(f"/proc/{postmaster}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            with contextlib.suppress(FileNotFoundError):  # ended: in the postmaster's cutime
                ticks += sum(int(value) for value in fields(child)[11:13])
    return ticks / os.sysconf("SC_CLK_TCK")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import asyncpg

    server = postgres_server_url()
    if server is None:
        raise SystemExit("set TEST_DATABASE_URL")
    store = TestDatabases(workdir=Path(tempfile.mkdtemp()))
    await store.prepare()
    url = await store.new_database_url()
    dsn = _asyncpg_dsn(server, url.rsplit("/", 1)[1].split("?")[0])
    try:
        for _ in range(args.rounds):
            for way in ("a new connection", "a held connection"):
                held = await asyncpg.connect(dsn) if way == "a held connection" else None
                server_before, client_before = server_cpu_seconds(), time.process_time()
                started = time.perf_counter()
                for _ in range(args.resets):
                    connection = held or await asyncpg.connect(dsn)
                    await connection.execute(END_OTHER_BACKENDS)
                    async with connection.transaction():
                        await connection.execute(store.reset_sql)
                    if held is None:
                        await connection.close()
                wall = (time.perf_counter() - started) / args.resets
                server_ms = (server_cpu_seconds() - server_before) / args.resets * 1000
                client_ms = (time.process_time() - client_before) / args.resets * 1000
                if held is not None:
                    await held.close()
                print(
                    f"{way:18s} per reset: PostgreSQL {server_ms:5.1f} ms CPU, "
                    f"client {client_ms:4.2f} ms CPU, {wall * 1000:5.1f} ms wall"
                )
    finally:
        await store.drop(url)
        await store.drop_databases()


if __name__ == "__main__":
    asyncio.run(main())
