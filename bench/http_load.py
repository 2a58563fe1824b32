"""HTTP load against a real `connecthub serve` on 127.0.0.1: requests per second, latency
percentiles, error rate and the server's memory. Bounded in time and count; stops itself.

    .venv/bin/python bench/http_load.py --seconds 10 --concurrency 32
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/http_load.py --workers 2

Without DATABASE_URL it serves the embedded default from a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PATHS = ["/api/v1/instance", "/api/v2/instance", "/health/ready", "/api/v1/instance/rules"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (server workers), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        status = Path(f"/proc/{each}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


async def worker(
    client: httpx.AsyncClient,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    errors: list[int],
) -> None:
    index = 0
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        path = PATHS[index % len(PATHS)]
        index += 1
        started = time.perf_counter()
        try:
            response = await client.get(path)
            if response.status_code >= 400:
                errors[0] += 1
        except httpx.HTTPError:
            errors[0] += 1
        latencies.append(time.perf_counter() - started)


async def run_load(base: str, seconds: float, concurrency: int, max_requests: int) -> None:
    latencies: list[float] = []
    errors = [0]
    budget = [max_requests]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        for path in PATHS:  # warm up
            await client.get(path)
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(worker(client, deadline, budget, latencies, errors) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    count = len(latencies)
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"requests        {count} in {elapsed:.1f} s ({count / elapsed:.0f} req/s)")
    print(f"latency p50     {quantiles[49] * 1000:.1f} ms")
    print(f"latency p95     {quantiles[94] * 1000:.1f} ms")
    print(f"latency p99     {quantiles[98] * 1000:.1f} ms")
    print(f"errors          {errors[0]} ({100 * errors[0] / max(count, 1):.2f} %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="connecthub-bench-")
    env = {
        **os.environ,
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{workdir}/bench.db"),
        "MEDIA_STORAGE_URL": f"file://{workdir}/media",
        "OUTBOX_DIR": f"{workdir}/outbox",
    }
    if not env["DATABASE_URL"].startswith("sqlite"):
        subprocess.run([sys.executable, "-m", "connecthub", "migrate"], env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connecthub",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        mode = "embedded" if env["DATABASE_URL"].startswith("sqlite") else "distributed"
        print(
            f"mode            {mode}, {args.workers} server process(es), "
            f"{args.concurrency} concurrent clients, paths {', '.join(PATHS)}"
        )
        asyncio.run(run_load(base, args.seconds, args.concurrency, args.max_requests))
        print(f"server RSS      {rss_mb(server.pid):.0f} MiB (all processes)")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
