"""Home flat under growth (issue 26, item 5; figures in docs/benchmarks.md, "Flat under
growth (10⁴ → 10⁷ statuses)").

Seeds one PostgreSQL database per size (`--sizes`, default 10⁴ and 10⁷ statuses; names
`<--database>_<size>`) with the same accounts and follow graph: `--authors` accounts that
write every status, and two groups of `--viewers` viewers with tokens, one following 50
authors and one following 5,000 (`--fanins`). The real migrations run first; rows go in
after, with every index and constraint present, by bulk SQL (COPY for accounts, users,
tokens and follows; `INSERT … SELECT generate_series` in chunks for statuses, whose ids
follow the id generator's scheme: milliseconds since the epoch << 16 | a 16-bit sequence,
spread over `--span-days` up to now), then the accounts' counters and `VACUUM ANALYZE`.
Home feeds are built through the real `RedisFeedStore.rebuild`.

Then, in rounds that alternate the sizes (the machine is shared, so the sizes see the
same load), for each size and viewer group:
- in-process (ASGI, one request at a time, like `bench/profile_home.py`): CPU ms and wall
  p50/p99 per request for home page 1 (`limit=20`), page 2 (`max_id` = page 1's last id)
  and the cold path (the viewer's feed deleted from Redis before each request, so the
  read rebuilds it);
- under `wrk` against `connecthub serve` (`--connections`, `--seconds`, a random token of
  the group per request): requests/s, p50, p99 for page 1 and page 2.
Prints each figure and the ratios 10⁷/10⁴ and 5,000/50. Bounded: every phase has a fixed
size or duration; loopback only. The databases and the Redis prefix are dropped at the
end unless `--keep` (and `--reuse` measures what an earlier `--keep` left).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/flatness.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from timelines import _drop_prefix, database_urls, recreate_database, run_wrk, server

HOME = "/api/v1/timelines/home?limit=20"

WRK_SCRIPT = r"""
local rows = {}
for line in io.lines(os.getenv("BENCH_VIEWERS")) do
  local token, max_id = line:match("(%S+) %S+ (%S+)")
  rows[#rows + 1] = {token, max_id}
end
local second = os.getenv("BENCH_PAGE") == "2"
math.randomseed(os.time())
request = function()
  local row = rows[math.random(#rows)]
  local path = "/api/v1/timelines/home?limit=20"
  if second then path = path .. "&max_id=" .. row[2] end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. row[1]})
end
"""


def size_label(size: int) -> str:
    exponent = len(str(size)) - 1
    return f"10^{exponent}" if size == 10**exponent else f"{size:,}"


# Seeding


async def copy_rows(conn: asyncpg.Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY `rows` into `model`'s table with every column the app would set: the model's
    Python-side defaults filled in, as an INSERT through SQLAlchemy would."""
    from sqlalchemy import JSON

    columns = list(model.__table__.columns)
    defaults: dict[str, Any] = {}
    for column in columns:
        default = column.default
        if default is None or not (default.is_scalar or default.is_callable):
            continue
        defaults[column.name] = (
            (lambda d: lambda: d.arg(None))(default)
            if (default.is_callable)
            else (lambda v: lambda: v)(default.arg)
        )
    names = [c.name for c in columns if c.name in defaults or any(c.name in r for r in rows[:1])]
    is_json = {c.name for c in columns if isinstance(c.type, JSON)}
    records = []
    for row in rows:
        record = []
        for name in names:
            value = row[name] if name in row else defaults[name]()
            record.append(json.dumps(value) if name in is_json and value is not None else value)
        records.append(tuple(record))
    await conn.copy_records_to_table(model.__table__.name, columns=names, records=records)


async def seed(args: argparse.Namespace, url: str, size: int) -> dict[str, list[list[Any]]]:
    """Seeds one database; returns, per viewer group, [token, account id] rows."""
    from connecthub.accounts.models import Account, OAuthToken, User
    from connecthub.config import load_settings
    from connecthub.ids import new_id
    from connecthub.infra import migrations
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from connecthub.relationships.models import Follow

    os.environ["DATABASE_URL"] = url
    await migrations.upgrade(load_settings())
    rng = random.Random(26)  # the same graph at every size
    now_ms = int(time.time() * 1000)
    created = time.time() - (args.span_days + 1) * 86400
    import datetime as dt

    created_at = dt.datetime.fromtimestamp(created, dt.UTC)
    groups = {f"follows {n:,}": n for n in args.fanins}
    n_viewers = args.viewers * len(groups)
    ids = [new_id() for _ in range(args.authors + n_viewers)]
    authors, viewers = ids[: args.authors], ids[args.authors :]
    tokens = [generate_secret() for _ in viewers]
    started = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await copy_rows(
            conn,
            Account,
            [
                {"id": i, "username": f"u{n}", "username_key": f"u{n}", "created_at": created_at}
                for n, i in enumerate(ids)
            ],
        )
        await copy_rows(
            conn,
            User,
            [
                {
                    "id": new_id(),
                    "account_id": i,
                    "email": f"u{n}@flat.example",
                    "email_key": f"u{n}@flat.example",
                    "password_hash": "!unusable",
                    "confirmed_at": created_at,
                }
                for n, i in enumerate(ids)
            ],
        )
        token_rows = []
        for account_id, secret in zip(viewers, tokens, strict=True):
            token_id = new_id()
            token_rows.append(
                {
                    "id": token_id,
                    "family_id": token_id,
                    "token_hash": hash_secret(secret),
                    "account_id": account_id,
                    "scopes": "read write follow",
                }
            )
        await copy_rows(conn, OAuthToken, token_rows)
        result: dict[str, list[list[Any]]] = {}
        follows = []
        for g, (label, fanin) in enumerate(groups.items()):
            members = viewers[g * args.viewers : (g + 1) * args.viewers]
            result[label] = [
                [tokens[g * args.viewers + k], viewer] for k, viewer in enumerate(members)
            ]
            for viewer in members:
                for target in rng.sample(authors, fanin):
                    follows.append(
                        {
                            "id": new_id(),
                            "account_id": viewer,
                            "target_account_id": target,
                            "created_at": created_at,
                        }
                    )
        await copy_rows(conn, Follow, follows)
        graph = time.perf_counter() - started

        # Statuses: the i-th of `size` written at t0 + i * span / size (ms), by an author
        # picked by a multiplicative hash of i; 80 % public, 10 % unlisted, 10 % private
        # (followers-only, which home shows to followers).
        span_ms = args.span_days * 86400 * 1000
        t0 = now_ms - span_ms - 60_000
        started = time.perf_counter()
        chunk = 1_000_000
        for low in range(0, size, chunk):
            high = min(size, low + chunk) - 1
            await conn.execute(
                """
                INSERT INTO statuses (id, account_id, conversation_id, text, content,
                    spoiler_text, sensitive, visibility, has_media, replies_count,
                    reblogs_count, favourites_count, created_at)
                SELECT s.id, ($1::bigint[])[1 + ((s.g * 2654435761) % $2)], s.id,
                    'status ' || s.g, '<p>status ' || s.g || '</p>', '', false,
                    CASE s.g % 10 WHEN 3 THEN 1 WHEN 7 THEN 2 ELSE 0 END, false, 0, 0, 0,
                    to_timestamp(s.ms / 1000.0)
                FROM (
                    SELECT g, $3::bigint + (g * $4::bigint) / $5 AS ms,
                        (($3::bigint + (g * $4::bigint) / $5) << 16) | (g & 65535) AS id
                    FROM generate_series($6::bigint, $7::bigint) AS g
                ) AS s
                """,
                authors,
                len(authors),
                t0,
                span_ms,
                size,
                low,
                high,
            )
            if size >= 10 * chunk:
                print(
                    f"  {high + 1:,} statuses in {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(
            "UPDATE accounts SET statuses_count = s.n, last_status_at = s.last FROM ("
            "SELECT account_id, count(*) n, max(created_at) last FROM statuses "
            "GROUP BY account_id) s WHERE s.account_id = accounts.id"
        )
        await conn.execute(
            "UPDATE accounts SET followers_count = f.n FROM (SELECT target_account_id, "
            "count(*) n FROM follows GROUP BY target_account_id) f "
            "WHERE f.target_account_id = accounts.id"
        )
        await conn.execute(
            "UPDATE accounts SET following_count = f.n FROM (SELECT account_id, "
            "count(*) n FROM follows GROUP BY account_id) f WHERE f.account_id = accounts.id"
        )
        await conn.execute("VACUUM ANALYZE")
        counters = time.perf_counter() - started
        db_size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await conn.close()
    print(
        f"seeded {size_label(size)}: {len(ids):,} accounts, {len(follows):,} follows in"
        f" {graph:.1f} s (COPY); {size:,} statuses in {inserted:.1f} s (INSERT … SELECT"
        f" generate_series, {chunk:,} a statement, every index and constraint present);"
        f" counters and VACUUM ANALYZE {counters:.1f} s; database {db_size}",
        flush=True,
    )
    return result


async def build_feeds(url: str, prefix: str, viewers: list[int]) -> float:
    """Every viewer's home feed built through the regeneration path; seconds."""
    from connecthub.config import load_settings
    from connecthub.infra.engines import Engines
    from connecthub.timelines.feeds import RedisFeedStore, feed_store

    os.environ.update({"DATABASE_URL": url, "REDIS_KEY_PREFIX": prefix})
    engines = Engines.from_settings(load_settings())
    try:
        store = feed_store(engines)
        assert isinstance(store, RedisFeedStore), "REDIS_URL must be set"
        await store.redis.delete(*[store.key(i) for i in viewers])
        started = time.perf_counter()
        for viewer in viewers:
            async with engines.db.session(readonly=True) as session:
                await store.rebuild(session, viewer)
        return time.perf_counter() - started
    finally:
        await engines.stop()


# Measuring


def cpu_ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def in_process(
    url: str, prefix: str, viewers: list[list[Any]], requests: int
) -> dict[str, dict[str, float]]:
    """Page 1, page 2 and cold reads through ASGI, one at a time: CPU ms, wall p50/p99 ms.
    Fills in each viewer's page-2 cursor (viewers[k][2])."""
    from connecthub.app import create_app
    from connecthub.config import load_settings
    from connecthub.infra.redis import KeySpace

    os.environ.update({"DATABASE_URL": url, "REDIS_KEY_PREFIX": prefix})
    settings = load_settings()
    app = create_app(settings)
    keys = KeySpace(settings.redis_key_prefix)
    transport = httpx.ASGITransport(app=app)
    figures: dict[str, dict[str, float]] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        redis = app.state.engines.redis

        async def get(row: list[Any], path: str) -> list[dict[str, Any]]:
            headers = {"Authorization": f"Bearer {row[0]}"}
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            page: list[dict[str, Any]] = response.json()
            return page

        for row in viewers:  # warm: token cache, entity cache, compiled statements
            page = await get(row, HOME)
            assert len(page) == 20, f"viewer {row[1]} sees {len(page)} statuses"
            row[2:] = [page[-1]["id"]]
            assert await get(row, f"{HOME}&max_id={row[2]}"), f"viewer {row[1]}: no page 2"
        # The rebuild's statements alone (what a cold read adds; the database's time, which
        # the process's CPU does not show): the newest HOME_FEED_MAX_ITEMS home ids.
        from connecthub.timelines import repository

        engines = app.state.engines
        walls = []
        for n in range(min(requests, 3 * len(viewers))):
            async with engines.db.session(readonly=True) as session:
                started = time.perf_counter()
                await repository.home_ids(
                    session, viewers[n % len(viewers)][1], settings.home_feed_max_items
                )
                walls.append((time.perf_counter() - started) * 1000)
        figures["rebuild ids"] = {
            "cpu": float("nan"),
            "p50": percentile(walls, 0.5),
            "p99": percentile(walls, 0.99),
        }
        for name in ("page 1", "page 2", "cold"):
            walls: list[float] = []
            cpu = time.process_time()
            for n in range(requests):
                row = viewers[n % len(viewers)]
                path = HOME if name != "page 2" else f"{HOME}&max_id={row[2]}"
                if name == "cold":
                    cpu_before = time.process_time()
                    await redis.delete(keys("feed", "home", row[1]))
                    cpu -= time.process_time() - cpu_before  # not the read's CPU
                started = time.perf_counter()
                page = await get(row, path)
                walls.append((time.perf_counter() - started) * 1000)
                assert page
            cpu = time.process_time() - cpu
            figures[name] = {
                "cpu": cpu / requests * 1000,
                "p50": percentile(walls, 0.5),
                "p99": percentile(walls, 0.99),
            }
    return figures


def wrk_home(
    args: argparse.Namespace, url: str, prefix: str, groups: dict[str, list[list[Any]]], port: int
) -> dict[str, dict[str, dict[str, str]]]:
    workdir = Path(tempfile.mkdtemp(prefix="flat-wrk-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "ENVIRONMENT": "development",
        "JOBS_IN_SERVER": "true",
        # Room for every connection in one worker: the admission limit is the pool's size,
        # and wrk's connections need not spread evenly over the workers (a 503 is not a
        # latency figure).
        "DATABASE_POOL_SIZE": str(max(10, args.connections)),
    }
    script = workdir / "home.lua"
    script.write_text(WRK_SCRIPT)
    results: dict[str, dict[str, dict[str, str]]] = {}
    try:
        with server(env, port, args.workers, workdir / "server.log"):
            for label, rows in groups.items():
                viewers = workdir / f"{label.replace(' ', '_')}.txt"
                viewers.write_text("".join(f"{t} {i} {m}\n" for t, i, m in rows))
                for page in ("1", "2"):
                    wrk_env = {**env, "BENCH_VIEWERS": str(viewers), "BENCH_PAGE": page}
                    results.setdefault(label, {})[f"page {page}"] = run_wrk(
                        f"http://127.0.0.1:{port}{HOME}", wrk_env, args, script
                    )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def ratio(a: str | float, b: str | float) -> str:
    def number(v: str | float) -> float:
        return float(str(v).split()[0].replace(",", "")) if isinstance(v, str) else v

    try:
        return f"{number(a) / number(b):.2f}"
    except (ValueError, ZeroDivisionError):
        return "?"


def report(args: argparse.Namespace, rounds: list[dict[str, Any]]) -> None:
    """Medians over the rounds of each figure, then the ratios."""
    sizes = args.sizes
    small, large = sizes[0], sizes[-1]
    labels = [f"follows {n:,}" for n in args.fanins]
    few, many = labels[0], labels[-1]

    def median(path: tuple[str, ...], key: str) -> float:
        values = []
        for r in rounds:
            node: Any = r
            for part in path:
                node = node[part]
            value = node[key]
            values.append(float(str(value).split()[0].replace(",", "")))
        return statistics.median(values)

    print("\nIn-process, one request at a time (median over rounds):")
    print("| size | viewers | read | CPU ms/req | wall p50 ms | wall p99 ms |")
    print("|---|---|---|---|---|---|")
    table: dict[tuple[int, str, str], dict[str, float]] = {}
    for size in sizes:
        for label in labels:
            for read in ("page 1", "page 2", "cold", "rebuild ids"):
                path = (str(size), "cpu", label, read)
                row = {k: median(path, k) for k in ("cpu", "p50", "p99")}
                table[(size, label, read)] = row
                print(
                    f"| {size_label(size)} | {label} | {read} | {cpu_ms(row['cpu'])} |"
                    f" {row['p50']:.1f} | {row['p99']:.1f} |"
                )
    print("\nUnder wrk (median over rounds):")
    print("| size | viewers | read | requests/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        for label in labels:
            for read in ("page 1", "page 2"):
                path = (str(size), "wrk", label, read)
                row = {k: median(path, k) for k in ("rps", "p50", "p99", "non_2xx")}
                table[(size, label, "wrk " + read)] = row
                print(
                    f"| {size_label(size)} | {label} | {read} | {row['rps']:,.0f} |"
                    f" {row['p50']:.1f} | {row['p99']:.1f} | {row['non_2xx']:.0f} |"
                )
    print(f"\nRatios ({size_label(large)}/{size_label(small)} and {many}/{few}):")
    print(f"| figure | {size_label(large)}/{size_label(small)} | 5,000/50 at {size_label(large)} |")
    print("|---|---|---|")
    for read in ("page 1", "page 2", "cold", "rebuild ids", "wrk page 1", "wrk page 2"):
        keys = ("rps", "p50", "p99") if read.startswith("wrk") else ("cpu", "p50", "p99")
        if read == "rebuild ids":
            keys = ("p50", "p99")
        for label in labels:
            for key in keys:
                growth = ratio(table[(large, label, read)][key], table[(small, label, read)][key])
                fan = ratio(table[(large, many, read)][key], table[(large, few, read)][key])
                print(f"| {read} {key} ({label}) | {growth} | {fan if label == few else ''} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="flat")
    parser.add_argument("--sizes", default="10000,10000000")
    parser.add_argument("--authors", type=int, default=10_000)
    parser.add_argument("--viewers", type=int, default=50, help="per group")
    parser.add_argument("--fanins", default="50,5000", help="followees of each viewer group")
    parser.add_argument("--span-days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=2, help="0: seed only (with --keep)")
    parser.add_argument("--requests", type=int, default=100, help="in-process, per figure")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--port", type=int, default=12400)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.fanins = [int(s) for s in args.fanins.split(",")]
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL server) and REDIS_URL")
    os.environ.update(
        {"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "warning", "ENVIRONMENT": "development"}
    )
    kept = Path(tempfile.gettempdir()) / f"{args.database}-flatness.json"
    plan: dict[int, tuple[str, str, str, str]] = {}
    for size in args.sizes:
        name = f"{args.database}_{size}"
        admin, url = database_urls(server_url, name)
        plan[size] = (name, admin, url, f"{args.database}:{size}:")
    groups_by_size: dict[str, dict[str, list[list[Any]]]] = {}
    try:
        if args.reuse:
            groups_by_size = json.loads(kept.read_text())
        else:
            for size, (name, admin, url, prefix) in plan.items():
                asyncio.run(recreate_database(admin, name))
                groups = asyncio.run(seed(args, url, size))
                viewers = [row[1] for rows in groups.values() for row in rows]
                seconds = asyncio.run(build_feeds(url, prefix, viewers))
                print(
                    f"built {len(viewers)} home feeds through RedisFeedStore.rebuild in"
                    f" {seconds:.1f} s ({seconds / len(viewers) * 1000:.0f} ms each)",
                    flush=True,
                )
                groups_by_size[str(size)] = groups
            if args.keep:
                kept.write_text(json.dumps(groups_by_size))
        rounds = []
        for n in range(args.rounds):
            print(f"\nround {n + 1} (load average {os.getloadavg()[0]:.1f})", flush=True)
            this: dict[str, Any] = {}
            for size, (_name, _admin, url, prefix) in plan.items():
                groups = groups_by_size[str(size)]
                cpu = {
                    label: asyncio.run(in_process(url, prefix, rows, args.requests))
                    for label, rows in groups.items()
                }
                wrk = wrk_home(args, url, prefix, groups, args.port)
                this[str(size)] = {"cpu": cpu, "wrk": wrk}
                for label in groups:
                    for read, f in cpu[label].items():
                        print(
                            f"{size_label(size)} {label} {read}: {cpu_ms(f['cpu'])} ms CPU,"
                            f" wall p50 {f['p50']:.1f} ms p99 {f['p99']:.1f} ms (in-process)",
                            flush=True,
                        )
                    for read, w in wrk[label].items():
                        print(
                            f"{size_label(size)} {label} {read}: {w['rps']} req/s,"
                            f" p50 {w['p50']} p99 {w['p99']} (wrk -c{args.connections},"
                            f" {w['requests']} requests, non-2xx {w['non_2xx']})",
                            flush=True,
                        )
            rounds.append(this)
        if rounds:
            report(args, rounds)
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        if not args.keep:
            for name, admin, _url, prefix in plan.values():
                asyncio.run(recreate_database(admin, name, drop_only=True))
                asyncio.run(_drop_prefix(os.environ["REDIS_URL"], prefix))


if __name__ == "__main__":
    main()
