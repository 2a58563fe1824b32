"""Home timeline benchmark on PostgreSQL + Redis (issue 4; figures in docs/benchmarks.md).

Creates its own database (`--database`, dropped at the end), seeds accounts with tokens, a
heavy-tail follower graph (a few accounts followed by everyone, the rest following a
Zipf-like sample) and statuses with bulk INSERTs, builds the home feeds through the real
regeneration code (`RedisFeedStore.rebuild`), starts `connecthub serve`, then measures
with `wrk` (Debian package; a Lua script picks a random token per request) at 64
connections: `GET /api/v1/timelines/home?limit=20`, `POST /api/v1/statuses` and
`GET /api/v1/instance`, each for `--seconds`.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/timelines.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

SERVER_URL_ENV = "DATABASE_URL"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_urls(server_url: str, name: str) -> tuple[str, str]:
    """(admin DSN on the `postgres` database, the bench database's URL)."""
    base = make_url(server_url.replace("postgresql+asyncpg", "postgresql"))
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    bench = base.set(database=name).render_as_string(hide_password=False)
    return admin, bench


async def recreate_database(admin: str, name: str, *, drop_only: bool = False) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def seed(args: argparse.Namespace) -> tuple[list[str], list[int]]:
    """Returns the raw tokens and account ids of every seeded account."""
    from sqlalchemy import insert, text

    from connecthub.accounts.models import Account, OAuthToken, User
    from connecthub.clock import utcnow
    from connecthub.config import load_settings
    from connecthub.ids import new_id
    from connecthub.infra import migrations
    from connecthub.infra.engines import Engines
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from connecthub.relationships.models import Follow
    from connecthub.statuses.models import Status, Visibility
    from connecthub.timelines.feeds import RedisFeedStore, feed_store

    settings = load_settings()
    await migrations.upgrade(settings)
    engines = Engines.from_settings(settings)
    rng = random.Random(42)
    now = utcnow()
    started = time.perf_counter()

    ids = [new_id() for _ in range(args.accounts)]
    raw_tokens = [generate_secret() for _ in ids]
    accounts = [
        {"id": i, "username": f"u{n}", "username_key": f"u{n}", "created_at": now}
        for n, i in enumerate(ids)
    ]
    users = [
        {
            "id": new_id(),
            "account_id": i,
            "email": f"u{n}@bench.example",
            "email_key": f"u{n}@bench.example",
            "password_hash": "!unusable",
            "confirmed_at": now,
        }
        for n, i in enumerate(ids)
    ]
    tokens = []
    for account_id, secret in zip(ids, raw_tokens, strict=True):
        token_id = new_id()
        tokens.append(
            {
                "id": token_id,
                "family_id": token_id,
                "token_hash": hash_secret(secret),
                "account_id": account_id,
                "scopes": "read write follow",
            }
        )
    # Heavy tail: `--stars` accounts followed by everyone; every other account follows a
    # Zipf-like sample of the rest (popular accounts are picked far more often).
    stars = ids[: args.stars]
    rest = ids[args.stars :]
    weights = [1.0 / (rank + 1) for rank in range(len(rest))]
    edges: set[tuple[int, int]] = set()
    for follower in ids:
        for star in stars:
            if star != follower:
                edges.add((follower, star))
        for target in rng.choices(rest, weights=weights, k=args.follows):
            if target != follower:
                edges.add((follower, target))
    follows = [
        {"id": new_id(), "account_id": a, "target_account_id": b, "created_at": now}
        for a, b in edges
    ]
    # Statuses: stars write a quarter of them; visibility mostly public.
    authors = rng.choices(ids, weights=[30.0] * len(stars) + weights, k=args.statuses)
    visibilities = rng.choices(
        [Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE],
        weights=[80, 10, 10],
        k=len(authors),
    )

    async with engines.db.transaction() as session:
        for table, rows in (
            (Account, accounts),
            (User, users),
            (OAuthToken, tokens),
            (Follow, follows),
        ):
            for start in range(0, len(rows), 5000):
                await session.execute(insert(table), rows[start : start + 5000])
    batch: list[dict[str, object]] = []
    for author, visibility in zip(authors, visibilities, strict=True):
        status_id = new_id()
        body = f"status {status_id} from {author}"
        batch.append(
            {
                "id": status_id,
                "account_id": author,
                "text": body,
                "content": f"<p>{body}</p>",
                "visibility": int(visibility),
                "created_at": now,
                "conversation_id": status_id,
            }
        )
        if len(batch) == 10_000:
            async with engines.db.transaction() as session:
                await session.execute(insert(Status), batch)
            batch = []
    async with engines.db.transaction() as session:
        if batch:
            await session.execute(insert(Status), batch)
        await session.execute(
            text(
                "UPDATE accounts SET statuses_count = s.n FROM (SELECT account_id, count(*) n "
                "FROM statuses GROUP BY account_id) s WHERE s.account_id = accounts.id"
            )
        )
        await session.execute(
            text(
                "UPDATE accounts SET followers_count = f.n FROM (SELECT target_account_id, "
                "count(*) n FROM follows GROUP BY target_account_id) f "
                "WHERE f.target_account_id = accounts.id"
            )
        )
    async with engines.db.transaction() as session:
        await session.execute(text("ANALYZE"))
    seeded = time.perf_counter() - started
    print(
        f"seeded {len(ids)} accounts, {len(follows)} follows "
        f"({args.stars} followed by everyone), {len(authors)} statuses in {seeded:.1f} s"
    )

    started = time.perf_counter()
    store = feed_store(engines)
    assert isinstance(store, RedisFeedStore), "REDIS_URL must be set"
    await store.redis.delete(*[store.key(i) for i in ids])
    readers = ids[: args.readers]
    sem = asyncio.Semaphore(8)

    async def build(account_id: int) -> None:
        async with sem, engines.db.session(readonly=True) as session:
            await store.rebuild(session, account_id)

    await asyncio.gather(*(build(i) for i in readers))
    print(
        f"built {len(readers)} home feeds (regeneration path)"
        f" in {time.perf_counter() - started:.1f} s"
    )
    await engines.stop()
    return raw_tokens, ids


WRK_SCRIPT = r"""
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH")
local counter = 0
math.randomseed(os.time())
request = function()
  counter = counter + 1
  local token = tokens[math.random(#tokens)]
  local headers = {["Authorization"] = "Bearer " .. token}
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    body = '{"status":"bench post ' .. counter .. ' #bench"}'
  end
  return wrk.format(method, path, headers, body)
end
"""


@contextlib.contextmanager
def server(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[None]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connecthub",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(log.read_text())
            if time.monotonic() > deadline:
                raise SystemExit("the server did not get ready:\n" + log.read_text()[-4000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).is_success:
                    break
            time.sleep(0.3)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    url: str, env: dict[str, str], args: argparse.Namespace, script: Path
) -> dict[str, str]:
    done = subprocess.run(
        [
            "wrk",
            f"-t{args.wrk_threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            f"--timeout={args.timeout}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=args.seconds + 60,
    )
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    output = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"\s50%\s+(\S+)", output)
    p99 = re.search(r"\s99%\s+(\S+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    total = re.search(r"(\d+) requests in", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if socket_errors or not total or total.group(1) == "0":
        print(output, file=sys.stderr)
    return {
        "rps": f"{float(rps.group(1)):,.0f}" if rps else "?",
        "p50": f"{_ms(p50.group(1)):.1f} ms" if p50 else "?",
        "p99": f"{_ms(p99.group(1)):.1f} ms" if p99 else "?",
        "requests": total.group(1) if total else "?",
        "non_2xx": errors.group(1) if errors else "0",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="connecthub_bench")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--stars", type=int, default=10, help="accounts followed by everyone")
    parser.add_argument("--follows", type=int, default=40, help="other follows per account")
    parser.add_argument("--statuses", type=int, default=200_000)
    parser.add_argument("--readers", type=int, default=1000, help="accounts whose tokens read home")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--timeout", type=int, default=10, help="seconds before wrk counts a request as lost"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="seconds of unmeasured home reads first (token and entity caches, as on a server"
        " that has been up a while)",
    )
    parser.add_argument("--port", type=int, help="the server's port (default: a free one)")
    parser.add_argument("--redis-prefix", help="Redis key prefix (default: from the database)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database, feeds and tokens afterwards"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database an earlier --keep run left"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    server_url = os.environ.get(SERVER_URL_ENV, "")
    if not server_url.startswith("postgresql") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL server) and REDIS_URL")
    admin, bench_url = database_urls(server_url, args.database)
    kept_tokens = Path(tempfile.gettempdir()) / f"{args.database}-tokens.txt"
    if not args.reuse:
        asyncio.run(recreate_database(admin, args.database))
    elif not kept_tokens.exists():
        raise SystemExit(f"--reuse needs an earlier --keep run ({kept_tokens} is missing)")
    keep = args.keep or args.reuse
    prefix = f"bench-timelines-{args.database}:" if keep else f"bench-timelines-{os.getpid()}:"
    prefix = args.redis_prefix or prefix
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "ENVIRONMENT": "development",
        "JOBS_IN_SERVER": "true",
        # One connection per concurrent request a worker holds (64 connections over 2
        # workers): a smaller pool churns overflow connections, each re-preparing statements.
        "DATABASE_POOL_SIZE": str(max(10, -(-args.connections // args.workers))),
    }
    os.environ.update(env)
    workdir = Path(tempfile.mkdtemp(prefix="bench-timelines-"))
    try:
        token_file = workdir / "tokens.txt"
        if args.reuse:
            shutil.copy(kept_tokens, token_file)
            # An earlier run's posts may have left fan-out jobs queued; the server would
            # run them during this run's measurements.
            dropped = asyncio.run(_drop_prefix(os.environ["REDIS_URL"], f"{prefix}jobs:"))
            print(f"dropped {dropped} job keys an earlier run left queued", flush=True)
        else:
            tokens, _ids = asyncio.run(seed(args))
            token_file.write_text("\n".join(tokens[: args.readers]) + "\n")
            if keep:
                shutil.copy(token_file, kept_tokens)
        # The tree may have gained a migration since seeding began (the server refuses
        # to start on an old schema).
        asyncio.run(_migrate())
        script = workdir / "bench.lua"
        script.write_text(WRK_SCRIPT)
        port = args.port or free_port()
        base = f"http://127.0.0.1:{port}"
        results = []
        with server(env, port, args.workers, workdir / "server.log"):
            if args.warmup:
                warm_env = {**os.environ, "BENCH_TOKENS": str(token_file), "BENCH_METHOD": "GET"}
                home = "/api/v1/timelines/home?limit=20"
                warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup})
                figures = run_wrk(base + home, {**warm_env, "BENCH_PATH": home}, warm, script)
                print(f"warm-up (not measured): {figures['requests']} home reads", flush=True)
            for label, method, path in (
                ("GET /api/v1/timelines/home?limit=20", "GET", "/api/v1/timelines/home?limit=20"),
                ("POST /api/v1/statuses", "POST", "/api/v1/statuses"),
                ("GET /api/v1/instance", "GET", "/api/v1/instance"),
                (
                    "GET /api/v1/timelines/home?limit=20 (again, after the posts)",
                    "GET",
                    "/api/v1/timelines/home?limit=20",
                ),
            ):
                wrk_env = {
                    **os.environ,
                    "BENCH_TOKENS": str(token_file),
                    "BENCH_METHOD": method,
                    "BENCH_PATH": path,
                }
                figures = run_wrk(base + path, wrk_env, args, script)
                results.append((label, figures))
                print(
                    f"{label}: {figures['rps']} req/s, p50 {figures['p50']}, p99 {figures['p99']}"
                    f" ({figures['requests']} requests, non-2xx {figures['non_2xx']})",
                    flush=True,
                )
        print()
        print("| endpoint | connections | requests/s | p50 | p99 | non-2xx |")
        print("|---|---|---|---|---|---|")
        for label, f in results:
            print(
                f"| `{label}` | {args.connections} | {f['rps']} | {f['p50']} | {f['p99']}"
                f" | {f['non_2xx']} |"
            )
    finally:
        if not keep:
            asyncio.run(recreate_database(admin, args.database, drop_only=True))
            asyncio.run(_drop_prefix(os.environ["REDIS_URL"], prefix))
        shutil.rmtree(workdir, ignore_errors=True)


async def _migrate() -> None:
    from connecthub.config import load_settings
    from connecthub.infra import migrations

    await migrations.upgrade(load_settings())


async def _drop_prefix(url: str, prefix: str) -> int:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    main()
