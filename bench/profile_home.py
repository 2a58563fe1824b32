"""CPU cost of one home timeline read (or, with --post, one new status), in-process
(docs/benchmarks.md, "Home timeline").

Runs against a database and Redis prefix an earlier `bench/timelines.py --keep` left: the
app is driven through ASGI (no sockets, no load generator), one request at a time, so the
CPU time per request does not depend on how busy the machine is. Prints CPU ms per
request and, with `--profile`, the functions that cost most (cProfile).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/connecthub_bench \
    REDIS_URL=redis://127.0.0.1:6379/0 REDIS_KEY_PREFIX=bench-timelines-connecthub_bench: \
      .venv/bin/python bench/profile_home.py --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

import httpx


async def run(args: argparse.Namespace, tokens: list[str]) -> None:
    from connecthub.app import create_app
    from connecthub.config import load_settings

    app = create_app(load_settings())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):

        async def one(n: int) -> None:
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            if args.post:
                body = {"status": f"@{args.mention} note {n}", "visibility": args.post}
                response = await client.post("/api/v1/statuses", json=body, headers=headers)
            else:
                response = await client.get(args.path, headers=headers)
            assert response.status_code == 200, response.text

        for n in range(len(tokens) * 2):  # token cache, entity cache, compiled statements
            await one(n)
        profiler = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for n in range(args.requests):
            await one(n)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    label = f"POST /api/v1/statuses ({args.post})" if args.post else args.path
    print(
        f"{label}: {args.requests} sequential requests, "
        f"{cpu / args.requests * 1000:.2f} ms CPU and {wall / args.requests * 1000:.2f} ms wall"
        f" each (load average {os.getloadavg()[0]:.1f})"
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
    parser.add_argument("--path", default="/api/v1/timelines/home?limit=20")
    parser.add_argument(
        "--post",
        choices=["public", "direct"],
        help="measure POST /api/v1/statuses with this visibility (mentioning --mention)",
    )
    parser.add_argument("--mention", default="u1")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    os.environ.setdefault("RATE_LIMIT_ENABLED", "false")
    os.environ.setdefault("LOG_LEVEL", "warning")
    os.environ.setdefault("ENVIRONMENT", "development")
    args = parser.parse_args()
    asyncio.run(run(args, Path(args.tokens).read_text().split()[: args.tokens_used]))


if __name__ == "__main__":
    main()
