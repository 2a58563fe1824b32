"""CPU cost of authenticated reads (home by default; or, with --post, one new status),
in-process (docs/benchmarks.md, "Home timeline" and "Eighth round: authenticated reads").

Runs against a database and Redis prefix an earlier `bench/timelines.py --keep` left: the
app is driven one request at a time, so the CPU time per request does not depend on how
busy the machine is. By default through httpx's ASGI transport (as earlier rounds measured:
the client's own CPU is in the figure); with `--direct` the ASGI app is called with a
prepared scope and the response is only counted (the server's share alone). Several
`--path`s are measured in turn, `--rounds` times, each round in the same order. Prints CPU
ms per request and, with `--profile`, the functions that cost most (cProfile).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/connecthub_bench \
    REDIS_URL=redis://127.0.0.1:6379/0 REDIS_KEY_PREFIX=bench-timelines-connecthub_bench: \
      .venv/bin/python bench/profile_home.py --direct \
        --path '/api/v1/timelines/home?limit=20' --path /api/v1/accounts/verify_credentials
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx


def _scope(target: str, token: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"user-agent", b"profile-home"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


def _direct(app: Any) -> Callable[[str, str], Awaitable[tuple[int, bytes]]]:
    async def call(target: str, token: str) -> tuple[int, bytes]:
        status = 0
        body: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await app(_scope(target, token), receive, send)
        return status, b"".join(body)

    return call


async def run(args: argparse.Namespace, tokens: list[str]) -> None:
    from connecthub.app import create_app
    from connecthub.config import load_settings

    app = create_app(load_settings())
    transport = httpx.ASGITransport(app=app)
    direct = _direct(app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):

        async def one(path: str, n: int) -> None:
            token = tokens[n % len(tokens)]
            if args.direct and not args.post:
                status, body = await direct(path, token)
                assert status == 200, body
                return
            headers = {"Authorization": f"Bearer {token}"}
            if args.post:
                body_json = {"status": f"@{args.mention} note {n}", "visibility": args.post}
                response = await client.post("/api/v1/statuses", json=body_json, headers=headers)
            else:
                response = await client.get(path, headers=headers)
            assert response.status_code == 200, response.text

        paths = args.path or ["/api/v1/timelines/home?limit=20"]
        for path in paths:
            for n in range(len(tokens) * 2):  # token cache, entity cache, compiled statements
                await one(path, n)
        for round_number in range(args.rounds):
            for path in paths:
                profiler = cProfile.Profile() if args.profile else None
                before, wall = os.times(), time.perf_counter()
                if profiler:
                    profiler.enable()
                for n in range(args.requests):
                    await one(path, n)
                if profiler:
                    profiler.disable()
                after, wall = os.times(), time.perf_counter() - wall
                user, system = after.user - before.user, after.system - before.system
                cpu = user + system
                label = f"POST /api/v1/statuses ({args.post})" if args.post else path
                print(
                    f"round {round_number + 1} {label}: {args.requests} sequential requests, "
                    f"{cpu / args.requests * 1000:.3f} ms CPU"
                    f" (user {user / args.requests * 1000:.3f}, system"
                    f" {system / args.requests * 1000:.3f}) and "
                    f"{wall / args.requests * 1000:.3f} ms wall each"
                    f" ({'direct' if args.direct else 'httpx'};"
                    f" load average {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                if profiler:
                    stats = pstats.Stats(profiler)
                    stats.sort_stats("tottime").print_stats(args.top)
                    stats.sort_stats("cumulative").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_tokens = Path(tempfile.gettempdir()) / "connecthub_bench-tokens.txt"
    parser.add_argument("--tokens", default=str(default_tokens))
    parser.add_argument("--tokens-used", type=int, default=50)
    parser.add_argument(
        "--path", action="append", help="a GET to measure (repeatable; default: home)"
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="call the ASGI app directly (server CPU only, no httpx client in the figure)",
    )
    parser.add_argument(
        "--post",
        choices=["public", "direct"],
        help="measure POST /api/v1/statuses with this visibility (mentioning --mention)",
    )
    parser.add_argument("--mention", default="u1")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    os.environ.setdefault("RATE_LIMIT_ENABLED", "false")
    os.environ.setdefault("LOG_LEVEL", "warning")
    os.environ.setdefault("ENVIRONMENT", "development")
    args = parser.parse_args()
    asyncio.run(run(args, Path(args.tokens).read_text().split()[: args.tokens_used]))


if __name__ == "__main__":
    main()
