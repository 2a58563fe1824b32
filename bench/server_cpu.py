"""Server CPU per request under wrk, for the ASGI servers ConnectHub could run on: uvicorn
(uvloop + httptools, as `connecthub serve` runs it) and Granian, each serving a bare ASGI
"hello" app and ConnectHub's `/api/v1/instance` (embedded, a temporary SQLite). One
worker process each, on 127.0.0.1; rounds interleaved; every run stops by itself.

    .venv/bin/python bench/server_cpu.py --seconds 5 --rounds 3

Granian is not a dependency: install it somewhere and put it on PYTHONPATH to include it
(`uv pip install --target /tmp/granian granian`; PYTHONPATH=/tmp/granian); without it only
uvicorn runs. Prints, per server and app: requests/s and the server process's CPU
microseconds per request (utime + stime from /proc), and ConnectHub as a share of bare.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "18250"))


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def _command(server: str, app: str, port: int) -> list[str]:
    target = "bench.server_cpu:bare_app" if app == "bare" else "connecthub.app:create_app"
    factory = [] if app == "bare" else ["--factory"]
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", target, *factory, "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "granian", target, *factory, "--interface", "asgi",
        "--port", str(port), "--loop", "uvloop", "--workers", "1", "--no-ws",
        "--log-level", "warning",
    ]  # fmt: skip


def _cpu_ticks(pid: int) -> int:
    """utime + stime of `pid` and its threads (Granian's Rust threads included)."""
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
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def _run(
    server: str, app: str, port: int, args: argparse.Namespace, env: dict[str, str]
) -> tuple[float, float]:
    process = subprocess.Popen(_command(server, app, port), cwd=ROOT, env=env)
    try:
        _wait_for(port, time.monotonic() + 30)
        url = f"http://127.0.0.1:{port}{'/' if app == 'bare' else '/api/v1/instance'}"
        warm = ["wrk", "-t1", f"-c{args.connections}", "-d1s", url]
        subprocess.run(warm, check=True, capture_output=True)
        before = _all_cpu(process.pid)
        out = subprocess.run(
            ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        cpu = (_all_cpu(process.pid) - before) / os.sysconf("SC_CLK_TCK")
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        return requests / args.seconds, cpu / requests * 1e6
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="server-cpu-")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/connecthub.db",
        "MEDIA_STORAGE_URL": f"file://{workdir}/media",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_IP": "1000000000/60",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "connecthub", "migrate"], env=env, check=True)
    servers = ["uvicorn"]
    try:
        import granian  # noqa: F401

        servers.append("granian")
    except ImportError:
        print("granian not importable: uvicorn only")
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    port = PORT_BASE
    for _ in range(args.rounds):
        for server in servers:
            for app in ("bare", "instance"):
                port += 1
                results.setdefault((server, app), []).append(_run(server, app, port, args, env))
    for server in servers:
        for app in ("bare", "instance"):
            runs = results[(server, app)]
            rates = sorted(rate for rate, _ in runs)
            cpus = sorted(cpu for _, cpu in runs)
            print(
                f"{server:8s} {app:9s} {rates[len(rates) // 2]:8.0f} req/s (median)"
                f"  {cpus[len(cpus) // 2]:7.1f} µs server CPU per request (median of {len(runs)})"
            )
        bare = sorted(cpu for _, cpu in results[(server, "bare")])
        inst = sorted(cpu for _, cpu in results[(server, "instance")])
        share = bare[len(bare) // 2] / inst[len(inst) // 2]
        print(f"{server:8s} instance at {share:.0%} of bare (CPU per request)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
