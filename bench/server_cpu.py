"""Server CPU per request under wrk: ConnectHub's cheap routes next to a bare ASGI app under
the same uvicorn (`connecthub.serving.server_config`, as `connecthub serve` runs it), one
server process each, on 127.0.0.1. Every server is started once; the wrk runs are
interleaved round by round, so a busy machine weighs on all of them alike.

    .venv/bin/python bench/server_cpu.py --seconds 5 --rounds 3              # embedded
    .venv/bin/python bench/server_cpu.py --before /tmp/old-tree              # before/after
    .venv/bin/python bench/server_cpu.py --distributed                       # PG + Redis
    .venv/bin/python bench/server_cpu.py --granian                           # server trial
    .venv/bin/python bench/server_cpu.py --accept-encoding gzip              # as real apps ask

Requests carry a bearer token rotated over `--users` accounts (bench/compare's wrk script,
as bench/compare sends them), on every route: the instance document's rate limits count
per token, as they do for a signed-in client. `--before DIR` serves the same routes from
another source tree (DIR/src first on PYTHONPATH: a `git archive` of an older commit) for a
before/after in the same run. `--distributed` uses PostgreSQL (database
`connecthub_bench_server_cpu`, recreated) and Redis (key prefix `bench-server-cpu:`);
BENCH_PG, BENCH_REDIS, BENCH_DATABASE and BENCH_REDIS_PREFIX move them. Ports:
BENCH_PORT_BASE (default 18250) and up.

Prints, per route and server: requests/s and the server process's CPU microseconds per
request (utime + stime from /proc, its threads and children included), medians of the
rounds, and each route's CPU per request as a share of the bare app's (the issue 26
targets: verify_credentials >= 40 %, /api/v1/instance >= 50 %). Settings as bench/compare
gives ConnectHub: LOG_LEVEL=warning, admission limit off, rate limits on with room.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
ROTATE_TOKENS = BENCH / "compare" / "rotate_tokens.lua"
ACCEPT_ENCODING = [""]  # --accept-encoding
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "18250"))
PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
DATABASE = os.environ.get("BENCH_DATABASE", "connecthub_bench_server_cpu")
REDIS_PREFIX = os.environ.get("BENCH_REDIS_PREFIX", "bench-server-cpu:")
ROOMY_LIMIT = "1000000000/300"
ROUTES = {
    "instance": "/api/v1/instance",
    "instance_v2": "/api/v2/instance",
    "vc": "/api/v1/accounts/verify_credentials",
}
SETTINGS = {
    "ENVIRONMENT": "development",
    "LOG_LEVEL": "warning",
    "MAX_REQUESTS_IN_FLIGHT": "0",
    **{f"RATE_LIMIT_{bucket}": ROOMY_LIMIT for bucket in ("IP", "TOKEN", "ACCOUNT")},
}


@dataclass
class Server:
    name: str  # bare, after, before
    command: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    runs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.command, "--port", str(self.port)], cwd=ROOT, env=self.env
        )
        _wait_for(self.port, time.monotonic() + 240)  # a loaded machine starts slowly

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _cpu_ticks(pid: int) -> int:
    """utime + stime of `pid` (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _all_cpu(pid: int) -> int:
    """The process and its children (Granian forks its worker)."""
    total = _cpu_ticks(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += _all_cpu(int(child))
    return total


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port}")


def _wrk(url: str, seconds: int, connections: int, tokens: Path) -> tuple[int, str]:
    path = url.split("/", 3)[3]
    env = {**os.environ, "BENCH_TOKENS": str(tokens), "BENCH_PATH": "/" + path}
    env["BENCH_ACCEPT_ENCODING"] = ACCEPT_ENCODING[0]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(ROTATE_TOKENS)]
    out = subprocess.run(
        [*command, url], check=True, capture_output=True, text=True, env=env
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{url}: {bad.group(1)} answers were not 2xx/3xx\n{out}")
    return requests, out


def _measure(server: Server, route: str, args: argparse.Namespace, tokens: Path) -> None:
    assert server.process is not None
    url = f"http://127.0.0.1:{server.port}{ROUTES[route]}"
    _wrk(url, 1, args.connections, tokens)  # warm
    before = _all_cpu(server.process.pid)
    requests, _ = _wrk(url, args.seconds, args.connections, tokens)
    cpu = (_all_cpu(server.process.pid) - before) / os.sysconf("SC_CLK_TCK")
    server.runs.setdefault(route, []).append((requests / args.seconds, cpu / requests * 1e6))


async def _seed(env: dict[str, str], users: int) -> list[str]:
    """`users` accounts with a token each, straight through the services."""
    os.environ.update({k: v for k, v in env.items() if k.isupper()})
    from connecthub.accounts import service as accounts
    from connecthub.config import load_settings
    from connecthub.infra.engines import Engines
    from connecthub.oauth.tokens import issue_token

    settings = load_settings()
    engines = Engines.from_settings(settings)
    await engines.start()
    tokens = []
    try:
        for n in range(users):
            async with engines.db.transaction() as session:
                account, _ = await accounts.create_user(
                    session,
                    username=f"cpu{n}",
                    email=f"cpu{n}@example.com",
                    password="bench-server-cpu-Pa55word",
                )
                issued = await issue_token(
                    session,
                    account_id=account.id,
                    application_id=None,
                    scopes=frozenset({"read", "write"}),
                )
                tokens.append(issued.access_token)
    finally:
        await engines.stop()
    return tokens


def _environment(args: argparse.Namespace, workdir: str) -> dict[str, str]:
    env = {**os.environ, **SETTINGS, "MEDIA_STORAGE_URL": f"file://{workdir}/media"}
    for own in ("DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "WEB_CONCURRENCY"):
        env.pop(own, None)
    if args.distributed:
        import asyncpg

        async def recreate() -> None:
            connection = await asyncpg.connect(f"{PG_SERVER}/postgres")
            try:
                await connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
                await connection.execute(f"CREATE DATABASE {DATABASE}")
            finally:
                await connection.close()

        asyncio.run(recreate())
        env["DATABASE_URL"] = f"{PG_SERVER}/{DATABASE}"
        env["REDIS_URL"] = REDIS_URL
        env["REDIS_KEY_PREFIX"] = REDIS_PREFIX
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir}/connecthub.db"
    return env


def _with_path(env: dict[str, str], *paths: Path) -> dict[str, str]:
    extra = [str(p) for p in paths]
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [*extra, env.get("PYTHONPATH")]))}


def _servers(args: argparse.Namespace, env: dict[str, str]) -> list[Server]:
    serve = [sys.executable, "-m", "connecthub", "serve", "--host", "127.0.0.1", "--workers", "1"]
    bare = [sys.executable, "-m", "compare.bare_app", "--workers", "1"]
    port = PORT_BASE
    servers = [Server("bare", bare, _with_path(env, BENCH, ROOT / "src"), port)]
    if args.before:
        servers.append(Server("before", serve, _with_path(env, args.before / "src"), port + 1))
    servers.append(Server("after", serve, _with_path(env, ROOT / "src"), port + 2))
    if args.granian:
        granian = [
            sys.executable, "-m", "granian", "connecthub.app:create_app", "--factory",
            "--interface", "asgi", "--loop", "uvloop", "--workers", "1", "--no-ws",
            "--log-level", "warning",
        ]  # fmt: skip
        servers.append(Server("granian", granian, _with_path(env, ROOT / "src"), port + 3))
    return servers


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--routes", default="instance,vc", help=f"of {', '.join(ROUTES)}")
    parser.add_argument("--before", type=Path, help="another source tree, served beside")
    parser.add_argument("--distributed", action="store_true", help="PostgreSQL + Redis")
    parser.add_argument("--granian", action="store_true", help="ConnectHub under Granian too")
    parser.add_argument(
        "--accept-encoding", default="", help="sent as Accept-Encoding (real apps: gzip)"
    )
    args = parser.parse_args()
    ACCEPT_ENCODING[0] = args.accept_encoding
    routes = args.routes.split(",")
    workdir = tempfile.mkdtemp(prefix="server-cpu-")
    env = _environment(args, workdir)
    subprocess.run(
        [sys.executable, "-m", "connecthub", "migrate"],
        env=_with_path(env, ROOT / "src"),
        check=True,
        capture_output=True,
    )
    tokens = Path(workdir) / "tokens"
    tokens.write_text("\n".join(asyncio.run(_seed(env, args.users))) + "\n")
    servers = _servers(args, env)
    try:
        for server in servers:
            server.start()
        for _ in range(args.rounds):
            for route in routes:
                for server in servers:
                    # The bare app answers every path alike: one run per round is its figure.
                    if server.name != "bare" or route == routes[0]:
                        _measure(server, route, args, tokens)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    bare = servers[0]
    bare_cpu = _median([cpu for _, cpu in bare.runs[routes[0]]])
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"{'bare':8s} {'(any path)':38s} {_median([r for r, _ in bare.runs[routes[0]]]):7.0f}"
        f" req/s {bare_cpu:7.1f} µs CPU/request"
    )
    for route in routes:
        for server in servers[1:]:
            runs = server.runs[route]
            cpu = _median([c for _, c in runs])
            every = ", ".join(f"{c:.0f}" for _, c in runs)
            print(
                f"{server.name:8s} {ROUTES[route]:38s} {_median([r for r, _ in runs]):7.0f} req/s"
                f" {cpu:7.1f} µs CPU/request ({every}); bare/this {bare_cpu / cpu:4.0%}"
            )


if __name__ == "__main__":
    main()
