"""Embedded home against distributed home on the same community (issue 26 item 4; figures in
docs/benchmarks.md, "Embedded mode").

Seeds the dense community (bench/community.py: 50 accounts all following each other, 5,000
statuses through the API) twice, in a SQLite file and in a PostgreSQL database with a Redis
prefix of its own, then runs interleaved rounds of wrk (`-t2 -c64`, `--seconds`, a token
rotated per request) on `GET /api/v1/timelines/home?limit=20` against `connecthub serve`
embedded (one process, no Redis) and distributed (`--workers` processes, PostgreSQL + Redis,
jobs in the servers). Prints each round's figures, server CPU per request and the ratio
embedded / distributed of requests/s, and the median ratio.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
      .venv/bin/python bench/embedded_home.py --workdir /tmp/emb_work [--rounds 3]

`--workdir` keeps both seeded communities for the next run (the database `--database` and
the Redis prefix stay too; `--drop` removes them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

import community


def _pg_urls(server: str, name: str) -> tuple[str, str]:
    base = make_url(server)
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    return admin, base.set(database=name).render_as_string(hide_password=False)


async def _recreate(admin: str, name: str, *, drop_only: bool = False) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_prefix(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


def seed(
    name: str, env: dict[str, str], workdir: Path, args: argparse.Namespace, port: int
) -> Path:
    tokens_file = workdir / f"{name}-tokens.txt"
    if tokens_file.exists():
        print(f"{name}: reusing the seeded community", flush=True)
        return tokens_file
    started = time.perf_counter()
    tokens = asyncio.run(community.seed_accounts(env, args.accounts))
    workers = 1 if name == "embedded" else args.workers
    with community.serve(env, port, workers, workdir / f"{name}-seed.log") as server:
        asyncio.run(community.post_statuses(server.base, tokens, args.statuses))
        asyncio.run(community.wait_for_jobs(env))
    tokens_file.write_text("\n".join(tokens) + "\n")
    print(f"{name}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return tokens_file


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--statuses", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="distributed server processes")
    parser.add_argument("--route", default="home", choices=sorted(community.ROUTES))
    parser.add_argument("--database", default="emb_community")
    parser.add_argument("--workdir", help="keep both seeded communities here (reused)")
    parser.add_argument("--drop", action="store_true", help="drop the database and prefix")
    parser.add_argument("--ports", default="18750-18799")
    parser.add_argument("--only", choices=["embedded", "distributed"])
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for embedded")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    server_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL")
    if not server_url.startswith("postgresql") or not redis_url:
        raise SystemExit("set DATABASE_URL (a PostgreSQL server) and REDIS_URL")
    low, high = (int(p) for p in args.ports.split("-"))
    admin, pg_url = _pg_urls(server_url, args.database)
    prefix = f"emb_{args.database}:"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="emb_home-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.drop:
        asyncio.run(_recreate(admin, args.database, drop_only=True))
        asyncio.run(_drop_prefix(redis_url, prefix))
        for stale in workdir.glob("*-tokens.txt"):
            stale.unlink()
        return
    envs = {
        "embedded": community.server_env(workdir, f"sqlite:///{workdir / 'home-seed.db'}"),
        "distributed": community.server_env(workdir, pg_url, redis_url, prefix),
    }
    envs["embedded"].update(item.split("=", 1) for item in args.env)
    if not (workdir / "distributed-tokens.txt").exists():
        asyncio.run(_recreate(admin, args.database))
        asyncio.run(_drop_prefix(redis_url, prefix))
    tokens = {
        name: seed(name, env, workdir, args, community.free_port(low, high))
        for name, env in envs.items()
    }
    script = workdir / "bench.lua"
    script.write_text(community.WRK_SCRIPT)
    modes = [args.only] if args.only else ["embedded", "distributed"]
    results: dict[str, list[community.Figures]] = {mode: [] for mode in modes}
    try:
        for number in range(args.rounds):
            for mode in modes if number % 2 == 0 else list(reversed(modes)):
                workers = 1 if mode == "embedded" else args.workers
                port = community.free_port(low, high)
                log = workdir / f"{mode}-server.log"
                with community.serve(envs[mode], port, workers, log) as server:
                    if args.warmup:
                        community.wrk(server, args.route, tokens[mode], script, seconds=args.warmup)
                    figures = community.wrk(
                        server, args.route, tokens[mode], script, seconds=args.seconds
                    )
                    results[mode].append(figures)
                    print(
                        community.line(f"round {number + 1} {mode} {args.route}", figures)
                        + f", RSS {community.rss_mib(server.pid):.0f} MiB",
                        flush=True,
                    )
            if len(modes) == 2:
                ratio = results["embedded"][-1].rps / results["distributed"][-1].rps
                print(f"round {number + 1}: embedded / distributed = {ratio:.2f}", flush=True)
    finally:
        if not args.workdir:
            asyncio.run(_recreate(admin, args.database, drop_only=True))
            asyncio.run(_drop_prefix(redis_url, prefix))
            shutil.rmtree(workdir, ignore_errors=True)
    if len(modes) == 2:
        ratios = [
            e.rps / d.rps for e, d in zip(results["embedded"], results["distributed"], strict=True)
        ]
        print(
            f"{args.route}: embedded / distributed, median of {len(ratios)} rounds:"
            f" {statistics.median(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
