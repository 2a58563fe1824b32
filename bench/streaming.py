"""Streaming load against one real `connecthub serve` on 127.0.0.1 (bounded in time, loopback
only). Prints, for one server process:

1. how many WebSocket connections it holds open, its RSS and the memory per connection;
2. direct-message delivery latency (POST /api/v1/statuses response -> `conversation` event
   received by the recipient's socket) at steady rates, stepping up to --dm-rate;
3. one post fanned out to N followers' user streams (`update`, published by the home
   fan-out job), or to N `public` subscribers when no fan-out publisher is present:
   delivery latency and deliveries per second.

    .venv/bin/python bench/streaming.py --connections 10000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/streaming.py

Without DATABASE_URL it serves the embedded default from a temporary directory. The load
generator runs on the same machine as the server, so they share its CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

DEADLINE = 0.0  # absolute perf_counter time after which every phase stops


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status")
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_pid(parent: int) -> int:
    """`connecthub serve` with one worker runs uvicorn in the same process."""
    return parent


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def describe(label: str, latencies_ms: list[float]) -> str:
    if not latencies_ms:
        return f"{label}: no deliveries"
    return (
        f"{label}: n={len(latencies_ms)} p50={percentile(latencies_ms, 0.5):.1f} ms "
        f"p99={percentile(latencies_ms, 0.99):.1f} ms max={max(latencies_ms):.1f} ms"
    )


# -- seeding ---------------------------------------------------------------------------


@dataclass
class Seeded:
    tokens: list[str]  # one per connecting account
    account_ids: list[int]
    sender_token: str
    receiver_token: str
    star_token: str
    receiver_id: int


async def seed(env: dict[str, str], followers: int) -> Seeded:
    """Accounts, users and tokens written in bulk (signing up 10,000 users through Argon2
    would take minutes); every connecting account follows the `star`."""
    os.environ.update(env)
    from sqlalchemy import insert

    from connecthub.accounts.models import Account, OAuthToken, User
    from connecthub.config import load_settings
    from connecthub.ids import new_id
    from connecthub.infra.db import Database
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from connecthub.relationships.models import Follow

    settings = load_settings()
    db = Database(settings)
    names = [f"user{i}" for i in range(followers)] + ["sender", "receiver", "star"]
    accounts, users, tokens, raw = [], [], [], []
    ids = [new_id() for _ in names]
    for account_id, name in zip(ids, names, strict=True):
        accounts.append({"id": account_id, "username": name, "username_key": name})
        users.append(
            {
                "id": new_id(),
                "account_id": account_id,
                "email": f"{name}@bench.example",
                "email_key": f"{name}@bench.example",
                "password_hash": "!unusable",
                "confirmed_at": None,
            }
        )
        secret = generate_secret()
        raw.append(secret)
        tokens.append(
            {
                "id": new_id(),
                "token_hash": hash_secret(secret),
                "account_id": account_id,
                "scopes": "read write follow",
            }
        )
    from connecthub.clock import utcnow

    now = utcnow()
    for user in users:
        user["confirmed_at"] = now
    for token in tokens:
        token["family_id"] = token["id"]
    star_id = ids[-1]
    follows = [
        {"id": new_id(), "account_id": account_id, "target_account_id": star_id}
        for account_id in ids[:followers]
    ]
    async with db.transaction() as session:
        for table, rows in ((Account, accounts), (User, users), (OAuthToken, tokens)):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start : start + 2000])
        for start in range(0, len(follows), 2000):
            await session.execute(insert(Follow), follows[start : start + 2000])
    await db.dispose()
    return Seeded(
        tokens=raw[:followers],
        account_ids=ids[:followers],
        sender_token=raw[-3],
        receiver_token=raw[-2],
        star_token=raw[-1],
        receiver_id=ids[-2],
    )


# -- server ----------------------------------------------------------------------------


@contextlib.contextmanager
def run_server(env: dict[str, str], port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "connecthub", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit((workdir / "server.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).is_success:
                    break
            time.sleep(0.2)
        yield process
    finally:
        lines = (workdir / "server.log").read_text(errors="replace").splitlines()
        errors = [line for line in lines if '"level": "error"' in line or "Traceback" in line]
        if errors:
            kinds: dict[str, int] = {}
            for line in errors:
                last = line.replace("\\n", "\n").strip().splitlines()[-1][-160:]
                kinds[last] = kinds.get(last, 0) + 1
            print(f"server logged {len(errors)} error lines:")
            for kind, count in sorted(kinds.items(), key=lambda item: -item[1])[:5]:
                print(f"  {count} x {kind}")
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# -- clients ---------------------------------------------------------------------------


@dataclass
class Receipts:
    """Receipt times (perf_counter) by (event, status id)."""

    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    waiters: dict[tuple[str, str], tuple[int, asyncio.Future[None]]] = field(default_factory=dict)

    def record(self, event: str, status_id: str) -> None:
        key = (event, status_id)
        self.times.setdefault(key, []).append(time.perf_counter())
        waiter = self.waiters.get(key)
        if waiter is not None and len(self.times[key]) >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)

    def expect(self, event: str, status_id: str, count: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = (event, status_id)
        self.waiters[key] = (count, future)
        if len(self.times.get(key, ())) >= count:
            future.set_result(None)
        return future


_FIRST_ID = re.compile(r'"id":"([^"]+)"')
_LAST_STATUS_ID = re.compile(r'"last_status":\{"id":"([^"]+)"')


def status_id_of(event: str, payload: str) -> str | None:
    """Found without parsing the whole payload: the load generator shares the CPUs with the
    server, so it does as little per message as it can."""
    pattern = _LAST_STATUS_ID if event == "conversation" else _FIRST_ID
    found = pattern.search(payload)
    return found.group(1) if found else None


async def listen(socket_: ClientConnection, receipts: Receipts) -> None:
    with contextlib.suppress(Exception):
        async for raw in socket_:
            message = json.loads(raw)
            event = message.get("event")
            if event in ("conversation", "update"):
                status_id = status_id_of(event, message["payload"])
                if status_id:
                    receipts.record(event, status_id)


async def open_sockets(
    url: str, tokens: list[str], receipts: Receipts, concurrency: int
) -> tuple[list[ClientConnection], list[asyncio.Task[None]], int]:
    sockets: list[ClientConnection] = []
    failures = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(token: str) -> None:
        nonlocal failures
        async with gate:
            if time.perf_counter() > DEADLINE:
                failures += 1
                return
            try:
                ws = await connect(
                    f"{url}?stream=user&access_token={token}",
                    open_timeout=30,
                    ping_interval=None,
                    max_queue=64,
                )
                sockets.append(ws)
            except Exception:
                failures += 1

    await asyncio.gather(*(one(t) for t in tokens))
    tasks = [asyncio.create_task(listen(ws, receipts)) for ws in sockets]
    return sockets, tasks, failures


# -- phases ----------------------------------------------------------------------------


async def post(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> tuple[str, float]:
    """The new status id and when its response arrived."""
    response = await client.post(
        "/api/v1/statuses", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    done = time.perf_counter()
    response.raise_for_status()
    return str(response.json()["id"]), done


@dataclass
class DmStep:
    latencies: list[float] = field(default_factory=list)  # response -> receipt
    round_trips: list[float] = field(default_factory=list)  # request sent -> receipt
    last_receipt: float = 0.0
    early: int = 0
    failures: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


async def dm_one(
    client: httpx.AsyncClient, receipts: Receipts, sender: str, step: DmStep, n: int
) -> None:
    requested = time.perf_counter()
    try:
        status_id, answered = await post(
            client, sender, {"status": f"@receiver dm {n}", "visibility": "direct"}
        )
        await asyncio.wait_for(receipts.expect("conversation", status_id, 1), 10)
    except (httpx.HTTPError, TimeoutError) as exc:
        step.failures += 1
        step.reasons[type(exc).__name__ + ": " + str(exc)[:80]] = 1
        return
    received = receipts.times[("conversation", status_id)][0]
    step.early += received < answered
    step.latencies.append(max(0.0, received - answered) * 1000)
    step.round_trips.append((received - requested) * 1000)
    step.last_receipt = max(step.last_receipt, received)


async def dm_phase(
    base: str, ws_url: str, seeded: Seeded, max_rate: int, seconds: float, senders: int
) -> None:
    """Messages to one recipient socket from `senders` accounts in turn (1: the dedicated
    sender alone, whose transactions then queue on its account row's counter)."""
    tokens = [seeded.sender_token] if senders <= 1 else seeded.tokens[:senders]
    receipts = Receipts()
    receiver = await connect(f"{ws_url}?stream=direct&access_token={seeded.receiver_token}")
    listener = asyncio.create_task(listen(receiver, receipts))
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        rate = 25
        while rate <= max_rate and time.perf_counter() < DEADLINE:
            step = DmStep()
            started = time.perf_counter()
            pending: list[asyncio.Task[None]] = []
            sent = 0
            while time.perf_counter() - started < seconds:
                delay = started + sent / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sender = tokens[sent % len(tokens)]
                pending.append(asyncio.create_task(dm_one(client, receipts, sender, step, sent)))
                sent += 1
            await asyncio.gather(*pending)
            achieved = len(step.latencies) / max(seconds, step.last_receipt - started)
            print(
                f"  DM at {rate}/s offered: {achieved:.0f}/s delivered, failed {step.failures}; "
                + describe("response->receipt", step.latencies)
                + f" ({step.early} received before their HTTP response); "
                + describe("request sent->receipt", step.round_trips)
            )
            if step.reasons:
                print(f"  failures: {sorted(step.reasons)[:3]}")
            if achieved < rate * 0.9 or step.failures:
                print(f"  -> highest steady DM rate reached: about {achieved:.0f}/s")
                break
            rate *= 2
    listener.cancel()
    await receiver.close()


async def bus_phase(ws_url: str, seeded: Seeded, rate: int, seconds: float) -> None:
    """Distributed mode only: events published straight onto Redis pub/sub (as a worker's
    commit would) at a steady rate, timed publish -> receipt. This isolates the streaming
    path (Redis -> server -> socket) from the cost of writing statuses."""
    from redis.asyncio import Redis

    redis = Redis.from_url(os.environ["REDIS_URL"])
    prefix = os.environ.get("REDIS_KEY_PREFIX", "connecthub:")
    channel = f"{prefix}events:user:{seeded.receiver_id}"
    receipts = Receipts()
    receiver = await connect(f"{ws_url}?stream=direct&access_token={seeded.receiver_token}")
    listener = asyncio.create_task(listen(receiver, receipts))
    await asyncio.sleep(0.5)
    published: dict[str, float] = {}
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < seconds and time.perf_counter() < DEADLINE:
        delay = started + sent / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        key = f"bus-{sent}"
        event = {"event": "conversation", "payload": {"id": "1", "last_status": {"id": key}}}
        published[key] = time.perf_counter()
        await redis.publish(channel, json.dumps(event))
        sent += 1
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(receipts.expect("conversation", f"bus-{sent - 1}", 1), 10)
    latencies = [
        (receipts.times[("conversation", k)][0] - t) * 1000
        for k, t in published.items()
        if ("conversation", k) in receipts.times
    ]
    elapsed = time.perf_counter() - started
    print(
        f"  bus at {rate}/s: {sent / elapsed:.0f}/s published, {len(latencies)}/{sent} received; "
        + describe("publish->receipt", latencies)
    )
    listener.cancel()
    await receiver.close()
    await redis.aclose()


async def fanout_phase(
    base: str,
    sockets: list[ClientConnection],
    receipts: Receipts,
    seeded: Seeded,
    posts: int,
    stream: str,
    pid: int,
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        status_id, answered = await post(client, seeded.star_token, {"status": "probe"})
        event = "update"
        try:
            if stream != "user":
                raise TimeoutError
            await asyncio.wait_for(receipts.expect("update", status_id, 1), 5)
            source = "user streams (home fan-out)"
        except TimeoutError:
            source = "public stream"
            for ws in sockets:
                await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            await asyncio.sleep(2)
        print(f"  fan-out through: {source}")
        # On the public stream, post as an account nobody follows, so home fan-out does
        # not deliver the same status a second time on the user streams.
        author = (
            seeded.star_token if event == "update" and stream == "user" else seeded.sender_token
        )
        all_latencies: list[float] = []
        total_deliveries = 0
        total_time = 0.0
        server_cpu, client_cpu = cpu_seconds(pid), own_cpu_seconds()
        for n in range(posts):
            if time.perf_counter() > DEADLINE:
                break
            status_id, answered = await post(
                client, author, {"status": f"fan-out {n}", "visibility": "public"}
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receipts.expect(event, status_id, len(sockets)), 60)
            times = receipts.times.get((event, status_id), [])
            if not times:
                print(f"  post {n}: no deliveries")
                continue
            latencies = [max(0.0, t - answered) * 1000 for t in times]
            spread = max(times) - min(answered, min(times))
            all_latencies += latencies
            total_deliveries += len(times)
            total_time += spread
            print(
                f"  post {n}: {len(times)}/{len(sockets)} delivered in {spread * 1000:.0f} ms "
                f"({len(times) / spread:,.0f} deliveries/s); " + describe("latency", latencies)
            )
        server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, own_cpu_seconds() - client_cpu
        if total_time:
            print(
                f"  overall: {total_deliveries} deliveries, "
                f"{total_deliveries / total_time:,.0f} deliveries/s; "
                + describe("latency", all_latencies)
            )
            # The load generator shares the machine: what the server itself can sustain is
            # its CPU per delivery (the posts' own work included).
            print(
                f"  server CPU {server_cpu:.2f} s for {total_deliveries} deliveries: "
                f"{server_cpu * 1e6 / max(1, total_deliveries):.1f} µs each, "
                f"{total_deliveries / max(server_cpu, 1e-9):,.0f} deliveries per server "
                f"CPU-second; load generator CPU {client_cpu:.2f} s"
            )


async def main() -> None:
    global DEADLINE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--open-concurrency", type=int, default=200)
    parser.add_argument("--dm-rate", type=int, default=1000, help="highest DM rate to try")
    parser.add_argument("--dm-seconds", type=float, default=5.0, help="per rate step")
    parser.add_argument(
        "--dm-senders", type=int, default=1, help="accounts sending the messages, in turn"
    )
    parser.add_argument("--fanout-posts", type=int, default=5)
    parser.add_argument(
        "--fanout-stream",
        choices=["user", "public"],
        default="user",
        help="user: followers' home fan-out (timelines job); public: the public stream",
    )
    parser.add_argument("--time-limit", type=float, default=600.0)
    args = parser.parse_args()
    DEADLINE = time.perf_counter() + args.time_limit
    fd_limit = raise_fd_limit()
    print(f"file descriptor limit: {fd_limit} (client and server processes each)")

    with tempfile.TemporaryDirectory(prefix="connecthub-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{workdir / 'bench.db'}"),
            "MEDIA_STORAGE_URL": f"file://{workdir / 'media'}",
            "OUTBOX_DIR": str(workdir / "outbox"),
            "LOCAL_DOMAIN": f"127.0.0.1:{port}",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "warning",
            "ENVIRONMENT": "development",
        }
        migrate = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "connecthub", "migrate"],
            env=env,
            capture_output=True,
        )
        if migrate.returncode != 0:
            raise SystemExit(migrate.stderr.decode())
        seeded = await seed(env, args.connections)
        base = f"http://127.0.0.1:{port}"
        ws_url = f"ws://127.0.0.1:{port}/api/v1/streaming"
        with run_server(env, port, workdir) as process:
            pid = server_pid(process.pid)
            await asyncio.sleep(1)
            idle = rss_mb(pid)
            print(f"server RSS idle: {idle:.0f} MiB")

            print(f"1. opening {args.connections} WebSocket connections (stream=user)")
            receipts = Receipts()
            started = time.perf_counter()
            sockets, listeners, failures = await open_sockets(
                ws_url, seeded.tokens, receipts, args.open_concurrency
            )
            opened = time.perf_counter() - started
            # The load generator shares the server's cores: its collector rescanning the
            # objects of 10,000 open sockets on each pass was a fifth of its CPU
            # (gc.callbacks), so it keeps them out of the scans as the server does.
            gc.freeze()
            gc.set_threshold(10_000, 50, 100)
            await asyncio.sleep(2)
            held = rss_mb(pid)
            per = (held - idle) * 1024 / max(1, len(sockets))
            print(
                f"  open: {len(sockets)} (failed {failures}) in {opened:.1f} s; "
                f"server RSS {held:.0f} MiB; {per:.1f} KiB per connection"
            )

            print(
                "2. direct messages, steady rates (one recipient socket, stream=direct,"
                f" {args.dm_senders} sender(s))"
            )
            await dm_phase(base, ws_url, seeded, args.dm_rate, args.dm_seconds, args.dm_senders)

            if os.environ.get("REDIS_URL"):
                print("2b. direct-message events through Redis pub/sub only (no writes)")
                await bus_phase(ws_url, seeded, args.dm_rate, args.dm_seconds)

            print(f"3. one post fanned out to {len(sockets)} sockets")
            await fanout_phase(
                base, sockets, receipts, seeded, args.fanout_posts, args.fanout_stream, pid
            )
            print(f"server RSS at the end: {rss_mb(pid):.0f} MiB")

            for task in listeners:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
