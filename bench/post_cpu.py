"""What one `POST /api/v1/statuses` costs, its fan-out included, by part (issue 26 item 3;
figures in docs/benchmarks.md, "The write path, fan-out included").

Seeds its own PostgreSQL database and starts a redis-server of its own (no persistence;
`redis-server` on PATH), so every figure below belongs to this run alone: `--accounts`
accounts that all follow each other (the issue's community: each has `--accounts - 1`
followers), every home feed built, a token each. Then two passes:

1. **Processes** (what a deployment runs): `connecthub serve --workers 1` and
   `connecthub worker`; `--warmup` posts, then `--posts` posts, `--concurrency` at a
   time, from every account in turn; it waits until every job is done and the outbox is
   empty, and prints the CPU per post of: the web process (the request, the outbox relay
   and deletes), the job worker (fan-out, notifications, stream events, queue upkeep), the
   PostgreSQL backends of this database (/proc of each backend pid) and Redis (its
   INFO cpu), and Redis commands per post (INFO commandstats).
2. **In process** (`--statements`, on by default): the app over ASGI without its job worker
   counts the statements of the requests alone, then runs the job worker until the queue
   is empty and counts the fan-out's; with `--profile` each half runs under cProfile, timed
   by process CPU (waits on PostgreSQL and Redis left out; the in-process httpx client's
   own CPU is in the requests' half).

    .venv/bin/python bench/post_cpu.py [--accounts 51] [--posts 200] [--concurrency 4] \
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--profile] \
        [--tag-followers N]

`--py-spy PREFIX` records the web process and the worker during the measured posts (py-spy,
collapsed stacks: `PREFIX-web.txt`, `PREFIX-worker.txt`; `bench/collapsed.py` sums them up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

TICKS = os.sysconf("SC_CLK_TCK")


def free_port(low: int, high: int) -> int:
    for port in range(low, high):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {low}-{high}")


@contextlib.contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server must be on PATH"
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.05)
            yield process
        finally:
            process.terminate()
            process.wait()


# -- CPU of processes -----------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, CPU seconds, of which in the kernel) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    user, kernel = int(fields[11]), int(fields[12])
    return int(fields[1]), (user + kernel) / TICKS, kernel / TICKS


CPU = tuple[float, float]  # (CPU seconds, of which in the kernel: system calls, socket writes)


def tree_cpu(root: int) -> dict[int, CPU]:
    """CPU seconds of `root` and every descendant, by pid."""
    stats: dict[int, tuple[int, float, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = found
    wanted, changed = {root}, True
    while changed:
        changed = False
        for pid, (parent, _, _) in stats.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return {pid: stats[pid][1:] for pid in wanted if pid in stats}


def cpu_of(pids: list[int]) -> dict[int, CPU]:
    return {pid: found[1:] for pid in pids if (found := _stat(pid)) is not None}


def spent(before: dict[int, CPU], after: dict[int, CPU]) -> CPU:
    """CPU between two snapshots; a process born in between counts whole."""
    total = sum(cpu - before.get(pid, (0.0, 0.0))[0] for pid, (cpu, _) in after.items())
    kernel = sum(sys - before.get(pid, (0.0, 0.0))[1] for pid, (_, sys) in after.items())
    return total, kernel


async def backend_pids(admin: str, database: str) -> list[int]:
    connection = await asyncpg.connect(admin)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", database
        )
        return [int(row["pid"]) for row in rows]
    finally:
        await connection.close()


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def redis_calls(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def calls_between(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        name: count - before.get(name, 0)
        for name, count in after.items()
        if count - before.get(name, 0) > 0 and name not in {"info", "config|resetstat"}
    }


# -- seeding ----------------------------------------------------------------------------


async def seed(
    settings: Any, accounts: int, *, notify: bool = False, tag_followers: int = 0
) -> list[str]:
    """Accounts that all follow each other, a token each, every home feed built; returns
    the tokens. `tag_followers` more accounts follow nobody but the hashtag every post
    carries (#bench), their feeds built too: the fan-out walks them as well."""
    from sqlalchemy import insert, text

    from connecthub.accounts.models import Account, OAuthToken, User
    from connecthub.clock import utcnow
    from connecthub.ids import new_id
    from connecthub.infra import migrations
    from connecthub.infra.engines import Engines
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from connecthub.relationships.models import Follow
    from connecthub.statuses.models import Tag, TagFollow
    from connecthub.timelines.feeds import RedisFeedStore, feed_store

    await migrations.upgrade(settings)
    engines = Engines.from_settings(settings)
    now = utcnow()
    community = [new_id() for _ in range(accounts)]
    ids = [*community, *(new_id() for _ in range(tag_followers))]
    tag_id = new_id()
    secrets = [generate_secret() for _ in ids]
    rows: dict[Any, list[dict[str, Any]]] = {
        Account: [
            {
                "id": i,
                "username": f"u{n}",
                "username_key": f"u{n}",
                "created_at": now,
                "followers_count": accounts - 1 if n < accounts else 0,
                "following_count": accounts - 1 if n < accounts else 0,
            }
            for n, i in enumerate(ids)
        ],
        User: [
            {
                "id": new_id(),
                "account_id": i,
                "email": f"u{n}@bench.example",
                "email_key": f"u{n}@bench.example",
                "password_hash": "!unusable",
                "confirmed_at": now,
            }
            for n, i in enumerate(ids)
        ],
        OAuthToken: [
            {
                "id": (token_id := new_id()),
                "family_id": token_id,
                "token_hash": hash_secret(secret),
                "account_id": account_id,
                "scopes": "read write follow",
            }
            for account_id, secret in zip(ids, secrets, strict=True)
        ],
        Follow: [
            {
                "id": new_id(),
                "account_id": a,
                "target_account_id": b,
                "created_at": now,
                "notify": notify,
            }
            for a in community
            for b in community
            if a != b
        ],
        Tag: [{"id": tag_id, "name": "bench", "name_key": "bench", "created_at": now}],
        TagFollow: [
            {"id": new_id(), "account_id": a, "tag_id": tag_id, "created_at": now}
            for a in ids[accounts:]
        ],
    }
    async with engines.db.transaction() as session:
        for table, values in rows.items():
            if values:
                await session.execute(insert(table), values)
    async with engines.db.transaction() as session:
        await session.execute(text("ANALYZE"))
    store = feed_store(engines)
    assert isinstance(store, RedisFeedStore)
    for account_id in ids:
        async with engines.db.session(readonly=True) as session:
            await store.rebuild(session, account_id)
    await engines.stop()
    return secrets[:accounts]


# -- posting ------------------------------------------------------------------------------


async def post_all(
    client: httpx.AsyncClient, tokens: list[str], count: int, concurrency: int, label: str
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def poster() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            body = {"status": f"{label} post {n} #bench"}
            response = await client.post("/api/v1/statuses", json=body, headers=headers)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(poster() for _ in range(concurrency)))


async def settle(settings: Any, redis: Redis, database_url: str) -> None:
    """Until no job is queued, delayed or running and the outbox is empty, five looks in a
    row (the outbox deletes linger 0.2 s)."""
    from connecthub.infra.job_queues import RedisJobQueue
    from connecthub.infra.redis import KeySpace

    queue = RedisJobQueue(redis, KeySpace(settings.redis_key_prefix), settings)
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    try:
        quiet = 0
        deadline = time.monotonic() + 300
        while quiet < 5:
            stats = await queue.stats()
            rows = await connection.fetchval("SELECT count(*) FROM job_outbox")
            idle = stats.ready == stats.running == stats.delayed == 0 and rows == 0
            quiet = quiet + 1 if idle else 0
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs did not settle: {stats}, outbox rows {rows}")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def wait_ready(port: int, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        if child.poll() is not None:
            raise SystemExit(log.read_text())
        if time.monotonic() > deadline:
            raise SystemExit("the server did not get ready:\n" + log.read_text()[-4000:])
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).is_success:
                return
        time.sleep(0.3)


def record(binary: str, pid: int, output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling `pid` into `output` (collapsed stacks) until interrupted."""
    argv = [binary, "record", "--pid", str(pid), "--rate", "250", "--nonblocking"]
    argv += ["--format", "raw", "--output", output]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


async def processes_pass(
    args: argparse.Namespace, env: dict[str, str], tokens: list[str], workdir: Path
) -> None:
    from connecthub.config import load_settings

    settings = load_settings()
    redis = Redis.from_url(env["REDIS_URL"])
    port = free_port(args.port_low, args.port_low + 40)
    python = sys.executable
    server_log, worker_log = workdir / "server.log", workdir / "worker.log"
    serve = [python, "-m", "connecthub", "serve", "--port", str(port), "--workers", "1"]
    work = [python, "-m", "connecthub", "worker", "--concurrency", str(args.worker_concurrency)]
    with process(serve, env, server_log) as web, process(work, env, worker_log) as worker:
        wait_ready(port, web, server_log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await post_all(client, tokens, args.warmup, args.concurrency, "warm-up")
            await settle(settings, redis, env["DATABASE_URL"])
            admin = args.admin
            pg_before = cpu_of(await backend_pids(admin, args.database))
            web_before, worker_before = tree_cpu(web.pid), tree_cpu(worker.pid)
            redis_before, calls_before = await redis_cpu(redis), await redis_calls(redis)
            spies = []
            if args.py_spy and (binary := py_spy()):
                for name, pid in (("web", web.pid), ("worker", worker.pid)):
                    spies.append(record(binary, pid, f"{args.py_spy}-{name}.txt"))
            wall = time.perf_counter()
            await post_all(client, tokens, args.posts, args.concurrency, "bench")
            posted = time.perf_counter() - wall
            await settle(settings, redis, env["DATABASE_URL"])
            wall = time.perf_counter() - wall
            for spy in spies:
                spy.send_signal(2)
                spy.wait(timeout=60)
            web_cpu = spent(web_before, tree_cpu(web.pid))
            worker_cpu = spent(worker_before, tree_cpu(worker.pid))
            pids = await backend_pids(admin, args.database)
            pg_cpu = spent(pg_before, cpu_of(pids))
            redis_used = await redis_cpu(redis) - redis_before
            calls = calls_between(calls_before, await redis_calls(redis))
    await redis.aclose()
    posts = args.posts
    redis_part = (redis_used, 0.0)  # Redis's INFO gives user and kernel time together
    parts = [web_cpu, worker_cpu, pg_cpu, redis_part]
    total = (sum(part[0] for part in parts), sum(part[1] for part in parts))
    print(
        f"\n{posts} posts, {args.concurrency} at a time, each to {args.accounts - 1} followers "
        f"(posting {posted:.1f} s, all jobs done {wall:.1f} s; load {os.getloadavg()[0]:.1f})"
    )
    print(f"CPU ms per post:{'':<39}all  in the kernel")
    for label, (seconds, kernel) in (
        ("web process (request, relay)", web_cpu),
        ("job worker (fan-out, notifications, events)", worker_cpu),
        (f"PostgreSQL backends ({len(pids)})", pg_cpu),
        ("Redis (user and kernel)", redis_part),
        ("total", total),
    ):
        print(f"  {label:<46} {seconds * 1000 / posts:7.2f} {kernel * 1000 / posts:7.2f}")
    print(f"Redis commands per post: {sum(calls.values()) / posts:.1f}")
    for name, count in sorted(calls.items(), key=lambda item: -item[1]):
        print(f"  {name:<20} {count / posts:7.2f}")


async def statements_pass(args: argparse.Namespace, tokens: list[str]) -> None:
    from sqlalchemy import event

    from connecthub.app import create_app
    from connecthub.config import load_settings

    app = create_app(load_settings(jobs_in_server=False))
    transport = httpx.ASGITransport(app=app)
    settings = load_settings()
    redis = Redis.from_url(settings.redis_url or "")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        engines = app.state.engines
        worker = asyncio.create_task(engines.run_jobs(args.worker_concurrency))
        await post_all(client, tokens, len(tokens) * 2, 1, "warm-up")
        await settle(settings, redis, settings.database_url)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        primary = engines.db.primary.sync_engine
        replicas = [r.sync_engine for r in getattr(engines.db, "replicas", [])]
        for engine in [primary, *replicas]:
            event.listen(engine, "before_cursor_execute", record)

        async def measured(label: str, work: Any) -> None:
            # Process CPU as the clock: time spent waiting on PostgreSQL or Redis is left out.
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            statements.clear()
            calls = await redis_calls(redis)
            cpu = time.process_time()
            if profiler:
                profiler.enable()
            await work()
            if profiler:
                profiler.disable()
            cpu = time.process_time() - cpu
            by_command = calls_between(calls, await redis_calls(redis))
            commands = sum(by_command.values())
            posts = args.posts
            if args.show_statements:
                for name, count in sorted(by_command.items(), key=lambda item: -item[1]):
                    print(f"    {count / posts:5.2f}  Redis {name}")
                counted: dict[str, int] = {}
                for statement in statements:
                    key = " ".join(statement.split())[:150]
                    counted[key] = counted.get(key, 0) + 1
                for key, count in sorted(counted.items(), key=lambda item: -item[1]):
                    print(f"    {count / posts:5.2f}  {key}")
            print(
                f"  {label:<38} {len(statements) / posts:6.1f} statements, "
                f"{commands / posts:6.1f} Redis commands, {cpu * 1000 / posts:6.2f} ms CPU "
                "per post (in process)"
            )
            if profiler:
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(args.top)
                stats.sort_stats("cumulative").print_stats(args.top)
                print(out.getvalue())
                if args.profile_out:
                    name = label.split(" ")[0].strip("()")
                    stats.dump_stats(str(Path(args.profile_out) / f"post-{name}.prof"))

        print(f"\nIn process, {args.posts} posts one at a time:")
        await measured(
            "requests (no job worker)",
            lambda: post_all(client, tokens, args.posts, 1, "counted"),
        )

        async def fan_out() -> None:
            task = asyncio.create_task(engines.run_jobs(args.worker_concurrency))
            await settle(settings, redis, settings.database_url)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        await measured("their jobs (fan-out, notifications)", fan_out)
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="wr_post_cpu")
    parser.add_argument("--accounts", type=int, default=51, help="all follow each other")
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument(
        "--subscribers",
        action="store_true",
        help="every follow asks to be notified of new posts (a notification per follower)",
    )
    parser.add_argument(
        "--tag-followers",
        type=int,
        default=0,
        help="accounts that follow only #bench, which every post carries (tag fan-out)",
    )
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--port-low", type=int, default=18400)
    parser.add_argument("--no-processes", dest="processes", action="store_false")
    parser.add_argument("--no-statements", dest="statements", action="store_false")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process pass")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--profile-out", help="with --profile: also write each half's pstats file here (a folder)"
    )
    parser.add_argument(
        "--show-statements", action="store_true", help="each statement and Redis command, per post"
    )
    parser.add_argument(
        "--py-spy",
        metavar="PREFIX",
        help="record the web process and the worker during the measured posts (py-spy, "
        "collapsed stacks in PREFIX-web.txt and PREFIX-worker.txt)",
    )
    args = parser.parse_args()
    base = make_url(args.postgres)
    args.admin = base.set(database="postgres").render_as_string(hide_password=False)
    database_url = base.set(database=args.database).render_as_string(hide_password=False)
    redis_port = free_port(args.port_low + 50, args.port_low + 100)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "REDIS_KEY_PREFIX": "wr_post_cpu:",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "ENVIRONMENT": "development",
        "JOBS_IN_SERVER": "false",
    }
    os.environ.update(env)
    workdir = Path(tempfile.mkdtemp(prefix="wr-post-cpu-"))
    try:
        with redis_server(redis_port):
            from connecthub.config import load_settings

            asyncio.run(_recreate(args.admin, args.database))
            tokens = asyncio.run(
                seed(
                    load_settings(),
                    args.accounts,
                    notify=args.subscribers,
                    tag_followers=args.tag_followers,
                )
            )
            if args.processes:
                asyncio.run(processes_pass(args, env, tokens, workdir))
            if args.statements:
                asyncio.run(statements_pass(args, tokens))
    finally:
        asyncio.run(_recreate(args.admin, args.database, drop_only=True))
        shutil.rmtree(workdir, ignore_errors=True)


async def _recreate(admin: str, name: str, *, drop_only: bool = False) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
