"""CPU time per request of a few GET routes, calling the ASGI app directly (no sockets, no
load generator, no HTTP parsing), next to a bare ASGI app answering "hello" the same way:
what ConnectHub's own stack and handlers cost, independent of how busy the machine is.

    .venv/bin/python bench/route_cpu.py                       # embedded (a temporary SQLite)
    .venv/bin/python bench/route_cpu.py /api/v2/instance /health/live --requests 5000
    .venv/bin/python bench/route_cpu.py --profile 25          # cProfile, top 25 per route
    .venv/bin/python bench/route_cpu.py --parts auth:/api/v1/instance   # what each part costs
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mydb REDIS_URL=redis://127.0.0.1:6379/0 \
      REDIS_KEY_PREFIX=mine: .venv/bin/python bench/route_cpu.py   # distributed engines

`--flag KEY` turns a boolean feature flag on for everyone first (`--flag for_you` for
`auth:/api/v1/timelines/for_you`).

`--ip-blocks N` stores N `no_access` IP blocks (none covering the client) before measuring,
as an operator's list would be: what the edge's per-request check costs with a list.

`--parts` measures each route again with one part of the request stack switched off at a
time (replaced by a stand-in that does nothing, for this measurement only): admission, the
rate limits, the token resolution inside them, the request context with the access line and
metrics; what each saves is what it costs. The rest is the edge layer, the fast path and the
handler.

`post:/api/v1/statuses` posts a new status per request as the followed user (one
follower), in JSON; its figure includes the in-server job worker's fan-out (the process's
CPU until the queue is empty again).

`{account}` and `{status}` in a path stand for the followed user and their newest status.
Paths marked `auth:` are sent with a bearer token of a user created for the run (it follows
one other user who has posted a few statuses, so the home timeline is not empty). Rate
limiting stays on (the default), as a client meets it; the limits are raised so the loop
never reaches them.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from typing import Any

DEFAULT_PATHS = [
    "/health/live",
    "/api/v1/instance",
    "/api/v2/instance",
    "auth:/api/v1/accounts/verify_credentials",
    "auth:/api/v1/timelines/home?limit=20",
]
_NO_LIMIT = "1000000000/60"
HEADER_BLOCK = "connecthub.header_block"  # http/responses.HEADER_BLOCK


def _scope(target: str, token: str | None, method: str = "GET") -> dict[str, Any]:
    path, _, query = target.partition("?")
    headers = [(b"host", b"127.0.0.1:3000"), (b"user-agent", b"route-cpu")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if method == "POST":
        headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
        "state": {},
        # As `connecthub serve`'s uvicorn offers it (serving._Cycle): the edge layer hands
        # its headers over as one block.
        "extensions": {HEADER_BLOCK: {}},
    }


_posted = 0


async def _call(app: Any, target: str, token: str | None, method: str = "GET") -> int:
    global _posted
    status = 0
    body = b""
    if method == "POST":
        _posted += 1
        body = b'{"status": "route-cpu note %d"}' % _posted

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(target, token, method), receive, send)
    return status


async def _jobs_done(app: Any) -> None:
    """Until the in-server job worker has emptied the queue (embedded: in memory)."""
    queue = app.state.engines.jobs
    idle = 0
    for _ in range(4000):
        stats = await queue.stats()
        idle = idle + 1 if stats.ready == stats.running == 0 else 0
        if idle == 3:  # (the outbox relays a commit's jobs a moment after it)
            return
        await asyncio.sleep(0.005)


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def _cpu_per_request(
    app: Any, target: str, token: str | None, requests: int, profile: int, method: str = "GET"
) -> tuple[float, int]:
    for _ in range(max(requests // 10, 50)):  # warm: caches, compiled statements
        status = await _call(app, target, token, method)
    if method == "POST":
        await _jobs_done(app)
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(requests):
        await _call(app, target, token, method)
    if method == "POST":
        await _jobs_done(app)
    if profiler:
        profiler.disable()
    cost = (time.process_time() - started) / requests * 1e6
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    return cost, status


async def _seed(app: Any) -> tuple[str, dict[str, str]]:
    """A user following another who posted a few statuses: the follower's token, and the
    paths' placeholders (`{account}`, the other user; `{status}`, their newest status)."""
    from connecthub.accounts import service as accounts
    from connecthub.oauth.tokens import issue_token

    engines = app.state.engines
    tokens = []
    for name in ("reader", "writer"):
        async with engines.db.transaction() as session:
            account, _ = await accounts.create_user(
                session,
                username=f"{name}{os.getpid()}",
                email=f"{name}{os.getpid()}@example.com",
                password="correct horse battery staple",
            )
            issued = await issue_token(
                session,
                account_id=account.id,
                application_id=None,
                scopes=frozenset({"read", "write", "follow"}),
            )
            tokens.append((account.id, issued.access_token))
    (_, reader), (writer_id, writer) = tokens
    await _post(app, f"/api/v1/accounts/{writer_id}/follow", reader, {})
    posted: dict[str, Any] = {}
    for n in range(20):
        posted = await _post(app, "/api/v1/statuses", writer, {"status": f"note {n}"})
    return reader, writer, {"account": str(writer_id), "status": str(posted["id"])}


async def _ip_blocks(app: Any, count: int) -> None:
    """`count` no_access blocks of 10.x.y.0/24 (the client is 127.0.0.1), loaded into the
    edge's gate as a change announced over the bus would load them."""
    from connecthub.clock import utcnow
    from connecthub.denylists.models import IpBlock

    async with app.state.engines.db.transaction() as session:
        now = utcnow()
        for n in range(count):
            cidr = f"10.{n // 256 % 256}.{n % 256}.0/24"
            session.add(
                IpBlock(ip=cidr, severity="no_access", comment="", created_at=now, updated_at=now)
            )
    await app.state.ip_gate_loader.reload()
    print(f"{len(app.state.ip_gate.networks)} no_access IP blocks in the edge's gate")


async def _flag_on(app: Any, key: str) -> None:
    """A boolean flag, on for everyone, in the app's store before the measured requests."""
    from connecthub.flags import service as flags
    from connecthub.infra.uow import UnitOfWork
    from connecthub.ops import audit

    store = app.state.flags.store
    async with app.state.engines.db.session() as session:
        uow = UnitOfWork(app.state.engines, session)
        document = {"key": key, "kind": "boolean", "default_value": True}
        with audit.collecting(uow):  # the audit row goes in with the flag, as the CLI's
            await flags.create_flag(uow, store, flags.Actor.cli(), document)
        await uow.commit()
    await store.reload()


async def _post(app: Any, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        response = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return dict(response.json())


async def run(args: argparse.Namespace) -> None:
    from connecthub.app import create_app
    from connecthub.config import load_settings
    from connecthub.infra import migrations

    workdir = tempfile.mkdtemp(prefix="route-cpu-")
    overrides: dict[str, Any] = {
        "log_level": "warning",
        "rate_limit_ip": _NO_LIMIT,
        "rate_limit_token": _NO_LIMIT,
        "rate_limit_account": _NO_LIMIT,
    }
    if not os.environ.get("DATABASE_URL"):
        overrides["database_url"] = f"sqlite:///{workdir}/connecthub.db"
        overrides["media_storage_url"] = f"file://{workdir}/media"
    settings = load_settings(**overrides)
    await migrations.upgrade(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        token, writer, placeholders = await _seed(app)
        if args.ip_blocks:
            await _ip_blocks(app, args.ip_blocks)
        for key in args.flag:
            await _flag_on(app, key)
        await asyncio.sleep(0.5)  # the fan-out jobs of the seeded statuses
        bare, _ = await _cpu_per_request(bare_app, "/", None, args.requests, 0)
        print(f"{'bare ASGI app':44s} {bare:8.1f} µs CPU per request")
        for target in args.paths or DEFAULT_PATHS:
            authed = target.startswith("auth:")
            method = "POST" if target.startswith("post:") else "GET"
            path = target.removeprefix("auth:").removeprefix("post:").format(**placeholders)
            sender = writer if method == "POST" else token if authed else None
            cost, status = await _cpu_per_request(
                app, path, sender, args.requests, args.profile, method
            )
            label = ("[token] " if authed else "") + ("POST " if method == "POST" else "") + path
            print(
                f"{label:44s} {cost:8.1f} µs CPU per request, {cost / bare:6.0f}x bare"
                f" (status {status})"
            )
            if args.parts:
                await _parts(app, path, token if authed else None, args.requests, cost)


# Plain functions, not mocks: calling a MagicMock costs more than what it stands for.
def _no_context(scope: Any, resolver: Any) -> tuple[str, str]:
    return "id", "127.0.0.1"


def _no_access(scope: Any, status: int, elapsed: float, client_ip: str) -> None:
    return None


async def _parts(app: Any, path: str, token: str | None, requests: int, full: float) -> None:
    """What each part of the stack costs on this route: its figure with the part off."""
    from unittest import mock

    from connecthub.http import admission, edge, ratelimit

    async def through(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def no_verdict(self: Any, scope: Any, engines: Any) -> None:
        return None

    resolved = await ratelimit.resolve_token(_scope(path, token), app.state.engines)

    async def resolved_already(scope: Any, engines: Any) -> Any:
        return resolved

    parts = {
        "admission": [mock.patch.object(admission.AdmissionMiddleware, "__call__", through)],
        "rate limits (token resolution included)": [
            mock.patch.object(ratelimit.EdgeRateLimits, "check", no_verdict)
        ],
        "token resolution (in the rate limits)": [
            mock.patch.object(ratelimit, "resolve_token", resolved_already)
        ],
        "request context, access line, metrics": [
            mock.patch.object(edge, "bind_request_context", new=_no_context),
            mock.patch.object(edge, "record_access", new=_no_access),
        ],
    }
    for name, patches in parts.items():
        for patch in patches:
            patch.start()
        try:
            cost, _ = await _cpu_per_request(app, path, token, requests, 0)
        finally:
            for patch in patches:
                patch.stop()
        print(f"    {name:40s} {full - cost:8.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "paths",
        nargs="*",
        help="GET paths, `auth:` before those sent with a token; `post:/api/v1/statuses`",
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", type=int, default=0, metavar="TOP", help="cProfile")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--parts", action="store_true", help="the cost of each stack part")
    parser.add_argument("--ip-blocks", type=int, default=0, help="no_access IP blocks stored")
    parser.add_argument("--flag", action="append", default=[], help="a boolean flag turned on")
    args = parser.parse_args()
    if args.loop == "uvloop":  # as `connecthub serve` runs
        import uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
