"""CPU time per request of a few GET routes, calling the ASGI app directly (no sockets, no
load generator, no HTTP parsing), next to a bare ASGI app answering "hello" the same way:
what ConnectHub's own stack and handlers cost, independent of how busy the machine is.

    .venv/bin/python bench/route_cpu.py                       # embedded (a temporary SQLite)
    .venv/bin/python bench/route_cpu.py /api/v2/instance /health/live --requests 5000

Rate limiting stays on (the default), as a client meets it; the anonymous limit is raised
so the loop never reaches it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

DEFAULT_PATHS = ["/health/live", "/api/v1/instance", "/api/v2/instance"]


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:3000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
        "state": {},
    }


async def _call(app: Any, path: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(path), receive, send)
    return status


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def _cpu_per_request(app: Any, path: str, requests: int) -> tuple[float, int]:
    for _ in range(max(requests // 10, 50)):  # warm: caches, compiled statements
        status = await _call(app, path)
    started = time.process_time()
    for _ in range(requests):
        await _call(app, path)
    return (time.process_time() - started) / requests * 1e6, status


async def run(args: argparse.Namespace) -> None:
    from connecthub.app import create_app
    from connecthub.config import load_settings
    from connecthub.infra import migrations

    workdir = tempfile.mkdtemp(prefix="route-cpu-")
    settings = load_settings(
        database_url=f"sqlite:///{workdir}/connecthub.db",
        media_storage_url=f"file://{workdir}/media",
        log_level="warning",
        rate_limit_ip="1000000000/60",
    )
    await migrations.upgrade(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        bare, _ = await _cpu_per_request(bare_app, "/", args.requests)
        print(f"{'bare ASGI app':32s} {bare:8.1f} µs CPU per request")
        for path in args.paths or DEFAULT_PATHS:
            cost, status = await _cpu_per_request(app, path, args.requests)
            print(f"{path:32s} {cost:8.1f} µs CPU per request (status {status})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="GET paths (default: probe and instance)")
    parser.add_argument("--requests", type=int, default=3000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
