"""The dense community of issue 26 and the load that runs against it, shared by
`bench/embedded_memory.py` and `bench/embedded_home.py`: 50 accounts all following each
other, 5,000 statuses (a quarter with a hashtag, a tenth replies) posted through the API,
a `connecthub serve` started on it, `wrk` rounds with a token rotated per request, and the
server's CPU time and RSS read from /proc (the whole process tree)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROUTES = {
    "home": ("GET", "/api/v1/timelines/home?limit=20"),
    "instance": ("GET", "/api/v1/instance"),
    "verify_credentials": ("GET", "/api/v1/accounts/verify_credentials"),
    "post": ("POST", "/api/v1/statuses"),
}

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


def free_port(low: int, high: int) -> int:
    for port in range(low, high + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {low}-{high}")


def server_env(
    workdir: Path, database_url: str, redis_url: str | None = None, redis_prefix: str = ""
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY")
    }
    env.update(
        DATABASE_URL=database_url,
        RATE_LIMIT_ENABLED="false",
        LOG_LEVEL="warning",
        ENVIRONMENT="development",
        # wrk's 64 connections are all admitted, as in issue 26's runs.
        MAX_REQUESTS_IN_FLIGHT="0",
        MEDIA_STORAGE_URL=f"file://{workdir / 'media'}",
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix, JOBS_IN_SERVER="true")
    return env


async def seed_accounts(env: dict[str, str], count: int) -> list[str]:
    """`count` accounts with a token each, every one following every other (bulk INSERTs).
    Returns the raw tokens."""
    from sqlalchemy import insert

    from connecthub.accounts.models import Account, OAuthToken, User
    from connecthub.clock import utcnow
    from connecthub.config import Settings
    from connecthub.ids import new_id
    from connecthub.infra import migrations
    from connecthub.infra.engines import Engines
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from connecthub.relationships.models import Follow

    settings = Settings(
        database_url=env["DATABASE_URL"],
        redis_url=env.get("REDIS_URL"),
        redis_key_prefix=env.get("REDIS_KEY_PREFIX", "connecthub:"),
    )
    await migrations.upgrade(settings)
    engines = Engines.from_settings(settings)
    now = utcnow()
    ids = [new_id() for _ in range(count)]
    secrets = [generate_secret() for _ in ids]
    accounts = [
        {
            "id": i,
            "username": f"u{n}",
            "username_key": f"u{n}",
            "created_at": now,
            "followers_count": count - 1,
            "following_count": count - 1,
        }
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
    for account_id, secret in zip(ids, secrets, strict=True):
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
    follows = [
        {"id": new_id(), "account_id": a, "target_account_id": b, "created_at": now}
        for a in ids
        for b in ids
        if a != b
    ]
    async with engines.db.transaction() as session:
        for table, rows in ((Account, accounts), (User, users), (OAuthToken, tokens)):
            await session.execute(insert(table), rows)
        await session.execute(insert(Follow), follows)
    await engines.stop()
    return secrets


async def post_statuses(base: str, tokens: list[str], count: int, concurrency: int = 8) -> None:
    """`count` statuses through the API, in a fixed pseudo-random order: a quarter with a
    hashtag, a tenth replies to an earlier one."""
    rng = random.Random(26)
    posted: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def poster(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body: dict[str, str] = {"status": f"status {n} about things"}
            if n % 4 == 0:
                body["status"] += f" #topic{rng.randrange(20)}"
            if n % 10 == 5 and posted:
                body["in_reply_to_id"] = rng.choice(posted[-200:])
            token = tokens[rng.randrange(len(tokens))]
            for _attempt in range(5):
                response = await client.post(
                    "/api/v1/statuses", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                if response.status_code != 503:
                    break
                await asyncio.sleep(0.5)
            response.raise_for_status()
            posted.append(response.json()["id"])

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(poster(client) for _ in range(concurrency)))


async def wait_for_jobs(env: dict[str, str], limit_seconds: float = 900) -> int:
    """Waits until the server has run every job the seeding queued (the outbox is empty and,
    distributed, the Redis queue too), so no fan-out or notification job runs during the
    measurements. Returns the seconds it took."""
    from sqlalchemy import func, select

    from connecthub.config import Settings
    from connecthub.infra.engines import Engines
    from connecthub.infra.job_outbox import OutboxJob

    engines = Engines.from_settings(
        Settings(
            database_url=env["DATABASE_URL"],
            redis_url=env.get("REDIS_URL"),
            redis_key_prefix=env.get("REDIS_KEY_PREFIX", "connecthub:"),
        )
    )
    started = time.monotonic()
    try:
        while True:
            async with engines.db.session(readonly=True) as session:
                left = (await session.execute(select(func.count()).select_from(OutboxJob))).scalar()
            if engines.redis is not None:
                stats = await engines.jobs.stats()
                left = (left or 0) + stats.ready + stats.delayed + stats.running
            if not left:
                return round(time.monotonic() - started)
            if time.monotonic() - started > limit_seconds:
                raise SystemExit(f"{left} seeding jobs still queued after {limit_seconds:.0f} s")
            await asyncio.sleep(1)
    finally:
        await engines.stop()


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the supervisor and its server processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process tree."""
    total = 0
    for each in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of the process tree."""
    total = 0
    for each in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def serve(
    env: dict[str, str], port: int, workers: int, log: Path, command: list[str] | None = None
) -> Iterator[Server]:
    """`connecthub serve` (or `command` with the same arguments) until it answers ready."""
    process = subprocess.Popen(
        (command or [sys.executable, "-m", "connecthub"])
        + ["serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(log.read_text())
            if time.monotonic() > deadline:
                raise SystemExit("the server did not get ready:\n" + log.read_text()[-4000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health/ready", timeout=1).is_success:
                    break
            time.sleep(0.3)
        yield Server(process, base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Figures:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # server CPU per request


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(\w+)", value)
    assert match is not None
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    server: Server,
    route: str,
    tokens: Path,
    script: Path,
    *,
    seconds: int,
    connections: int = 64,
    threads: int = 2,
) -> Figures:
    method, path = ROUTES[route]
    env = {**os.environ, "BENCH_TOKENS": str(tokens), "BENCH_METHOD": method, "BENCH_PATH": path}
    cpu = cpu_seconds(server.pid)
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout=10s",
            "--latency",
            "-s",
            str(script),
            server.base + path,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    cpu = cpu_seconds(server.pid) - cpu
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    out = done.stdout
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    requests = int(total.group(1)) if total else 0
    return Figures(
        requests=requests,
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=_ms(p50.group(1)) if p50 else 0.0,
        p99_ms=_ms(p99.group(1)) if p99 else 0.0,
        errors=(int(non_2xx.group(1)) if non_2xx else 0)
        + (int(timeouts.group(1)) if timeouts else 0),
        cpu_ms=cpu / requests * 1000 if requests else 0.0,
    )


def line(label: str, figures: Figures) -> str:
    return (
        f"{label}: {figures.rps:,.0f} req/s, p50 {figures.p50_ms:.1f} ms,"
        f" p99 {figures.p99_ms:.1f} ms, errors {figures.errors},"
        f" server CPU {figures.cpu_ms:.2f} ms/request"
    )
