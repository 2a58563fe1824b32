"""Media benchmark: image processing throughput, upload latency of a 3 MB JPEG through a
real `connecthub serve`, and the peak memory of processing. Bounded; stops itself.

    .venv/bin/python bench/media.py                 # embedded server, local media directory
    .venv/bin/python bench/media.py --uploads 60 --concurrency 4

Figures go to docs/benchmarks.md (section "Media").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

TARGET_BYTES = 3 * 1024 * 1024


def photo_like_jpeg(target: int = TARGET_BYTES, seed: int = 7) -> bytes:
    """A JPEG of about `target` bytes: smooth gradients with grain, like a phone photo."""
    rng = random.Random(seed)
    width, height = 3000, 2250  # 6.75 MP
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    image = Image.blend(base, grain, 0.35)
    low, high = 50, 98
    best = b""
    while low <= high:  # the quality whose size is closest to the target from below
        quality = (low + high) // 2
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= target:
            best, low = buffer.getvalue(), quality + 1
        else:
            high = quality - 1
    return best


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- processing, in this process ------------------------------------------------------------


def processing_throughput(data: bytes, seconds: float, threads: int) -> tuple[int, float]:
    from connecthub.media.processing import process_image
    from connecthub.media.sniffing import JPEG

    def one() -> None:
        process_image(data, JPEG, max_pixels=33_177_600)

    one()  # warm up
    done = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        while time.perf_counter() - started < seconds:
            list(pool.map(lambda _: one(), range(threads)))
            done += threads
    return done, time.perf_counter() - started


def peak_memory_child(path: str) -> None:
    """Run in a fresh interpreter: resident memory after imports, then the peak while one
    3 MB JPEG is processed."""
    from connecthub.media.processing import process_image
    from connecthub.media.sniffing import JPEG

    data = Path(path).read_bytes()
    before = peak_rss_mb(os.getpid())
    process_image(data, JPEG, max_pixels=33_177_600)
    print(f"{before:.1f} {peak_rss_mb(os.getpid()):.1f}")


def peak_memory(data: bytes, workdir: Path) -> tuple[float, float]:
    path = workdir / "photo.jpg"
    path.write_bytes(data)
    output = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(output[0]), float(output[1])


# -- uploads through a real server ---------------------------------------------------------


async def seed_token(env: dict[str, str]) -> str:
    os.environ.update(env)
    from connecthub.accounts import service
    from connecthub.config import load_settings
    from connecthub.infra.db import Database
    from connecthub.oauth.tokens import issue_token

    db = Database(load_settings())
    try:
        async with db.transaction() as session:
            account, _user = await service.create_user(
                session, username="bench", email="bench@bench.example", password="x" * 16
            )
            issued = await issue_token(
                session, account_id=account.id, application_id=None, scopes=frozenset({"write"})
            )
            return issued.access_token
    finally:
        await db.dispose()


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
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def upload_latencies(
    url: str, token: str, data: bytes, uploads: int, concurrency: int
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue = list(range(uploads))
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            queue.pop()
            # The same photo every time: each upload is still decoded and re-encoded (only
            # the stored objects are shared, being content-addressed).
            body = data
            started = time.perf_counter()
            response = await client.post(
                f"{url}/api/v2/media",
                headers=headers,
                files={"file": ("photo.jpg", body, "image/jpeg")},
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                errors += 1
                if errors == 1:
                    print(f"first error: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="processing run length")
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.memory_child)
        return

    data = photo_like_jpeg()
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
    print(f"input: JPEG {size[0]}x{size[1]}, {len(data) / 1024 / 1024:.2f} MiB")
    cores = os.cpu_count() or 1
    for threads in sorted({1, cores}):
        done, elapsed = processing_throughput(data, args.seconds, threads)
        rate = done / elapsed
        print(f"processing, {threads} thread(s): {rate:.2f} images/s ({done} in {elapsed:.1f} s)")

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        before, peak = peak_memory(data, workdir)
        print(f"processing memory: {before:.0f} MiB after imports, peak {peak:.0f} MiB "
              f"(+{peak - before:.0f} MiB for one 3 MB JPEG)")  # fmt: skip

        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "MEDIA_STORAGE_URL": f"file://{workdir / 'media'}",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "warning",
        }
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "-m", "connecthub", "migrate"], env=env, check=True)
        token = asyncio.run(seed_token(env))
        port = free_port()
        with run_server(env, port, workdir) as server:
            url = f"http://127.0.0.1:{port}"
            latencies, errors = asyncio.run(
                upload_latencies(url, token, data, args.uploads, args.concurrency)
            )
            rss = peak_rss_mb(server.pid)
        print(
            f"uploads: {len(latencies)} x 3 MB JPEG, concurrency {args.concurrency}, "
            f"{errors} errors: p50 {statistics.median(latencies):.0f} ms, "
            f"p99 {percentile(latencies, 0.99):.0f} ms, "
            f"max {max(latencies):.0f} ms; server peak RSS {rss:.0f} MiB"
        )


if __name__ == "__main__":
    main()
