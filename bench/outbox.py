"""What the job outbox costs a post (docs/adr/0007-transactional-outbox.md; figures in
docs/benchmarks.md, "Job outbox").

Drives the app in-process over ASGI (no sockets): `--accounts` accounts that all follow
each other post `--posts` statuses, `--concurrency` at a time, while the app's own job
worker runs their fan-out. Every SQL statement the primary runs is counted, the jobs'
included, and the outbox's own split out: the INSERT each post makes in its transaction,
and the DELETEs that follow it in the background (one per batch of acknowledged rows, so
fewer than one per post when posts come together). Prints the figures per post.

    .venv/bin/python bench/outbox.py                       # a temporary SQLite file
    .venv/bin/python bench/outbox.py --postgres postgresql://postgres@127.0.0.1:5432/postgres \
        --redis redis://127.0.0.1:6379/0                   # a scratch database, dropped after

On a tree without the outbox (e.g. `git archive main src migrations` unpacked somewhere and
put first on PYTHONPATH) the same run gives the figures before it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

SCRATCH_DATABASE = "connecthub_bench_outbox"


async def _admin(server: str, statement: str) -> None:
    admin = make_url(server).set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _settle(app: Any) -> None:
    quiet = 0
    while quiet < 5:
        stats = await app.state.engines.jobs.stats()
        quiet = quiet + 1 if stats.ready == 0 and stats.running == 0 else 0
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace, database_url: str) -> None:
    from connecthub.accounts import service as accounts
    from connecthub.app import create_app
    from connecthub.config import load_settings
    from connecthub.infra import migrations
    from connecthub.oauth.tokens import issue_token

    overrides: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": args.redis,
        "redis_key_prefix": f"bench-outbox-{uuid.uuid4().hex[:8]}:",
        "rate_limit_enabled": False,
        "log_level": "warning",
        "jobs_in_server": True,
    }
    await migrations.upgrade(load_settings(**overrides))
    app = create_app(load_settings(**overrides))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        engines = app.state.engines
        tokens: list[str] = []
        ids: list[int] = []
        for n in range(args.accounts):
            async with engines.db.transaction() as session:
                account, _user = await accounts.create_user(
                    session,
                    username=f"poster{n}",
                    email=f"poster{n}@example.com",
                    password="a long bench password 1",
                )
            async with engines.db.transaction() as session:
                issued = await issue_token(
                    session,
                    account_id=account.id,
                    application_id=None,
                    scopes=frozenset({"read", "write", "follow"}),
                )
            tokens.append(issued.access_token)
            ids.append(account.id)
        for token in tokens:
            for target in ids:
                headers = {"Authorization": f"Bearer {token}"}
                await client.post(f"/api/v1/accounts/{target}/follow", headers=headers)
        await _settle(app)

        statements: list[str] = []
        outbox_rows: list[int] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            statements.append(statement)
            if statement.startswith("INSERT INTO job_outbox"):
                outbox_rows.append(len(parameters) // 5)  # five columns a row

        primary = engines.db.primary.sync_engine
        event.listen(primary, "before_cursor_execute", record)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.posts):
            queue.put_nowait(n)

        async def poster() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                body = {"status": f"bench post {n}"}
                response = await client.post("/api/v1/statuses", json=body, headers=headers)
                assert response.status_code == 200, response.text

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(args.concurrency)))
        await _settle(app)
        await asyncio.sleep(0.5)  # the last batch of deletes
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(primary, "before_cursor_execute", record)

    def about_outbox(kind: str) -> int:
        return sum(
            1 for s in statements if s.lstrip().upper().startswith(kind) and "job_outbox" in s
        )

    inserts, deletes = about_outbox("INSERT"), about_outbox("DELETE")
    posts = args.posts
    print(
        f"{posts} posts by {args.accounts} accounts following each other, "
        f"{args.concurrency} at a time ({make_url(database_url).get_backend_name()}"
        f"{', Redis' if args.redis else ', in-process queue'}):"
    )
    print(f"  statements on the primary per post, jobs included: {len(statements) / posts:.1f}")
    print(f"  outbox INSERTs per post:                           {inserts / posts:.2f}")
    print(
        f"  outbox DELETEs per post (background):              {deletes / posts:.2f}"
        + (f" ({sum(outbox_rows) / deletes:.1f} rows each)" if deletes else "")
    )
    print(f"  CPU ms per post (requests and jobs):               {cpu * 1000 / posts:.1f}")
    print(f"  wall ms per post:                                  {wall * 1000 / posts:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (scratch database)")
    parser.add_argument("--redis", help="a Redis URL (distributed queue, feeds and cache)")
    args = parser.parse_args()
    if args.postgres:
        asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}"'))
        asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
        url = make_url(args.postgres).set(database=SCRATCH_DATABASE)
        try:
            asyncio.run(run(args, url.render_as_string(hide_password=False)))
        finally:
            asyncio.run(
                _admin(args.postgres, f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)')
            )
        return
    with tempfile.TemporaryDirectory() as workdir:
        asyncio.run(run(args, f"sqlite:///{Path(workdir) / 'bench.db'}"))


if __name__ == "__main__":
    main()
