"""What a process pays before it answers (issue 24 item 5, issue 26): the app's import, a
`connecthub serve` until it is live, and its first requests, in CPU seconds, for this tree
and optionally another one (`--before DIR`: DIR/src first on PYTHONPATH, a `git archive`
of an older commit), interleaved run by run.

    .venv/bin/python bench/startup.py [--runs 6] [--before /tmp/before] [--port 18090]

Each server runs embedded on a new SQLite file in a temporary directory (its first start:
migrations included). CPU is the server process's utime + stime from /proc (children
included), read before and after each request; the first request through FastAPI's router
(`GET /api/v1/accounts/1`, a 404) is where FastAPI builds its routes' contexts. Loopback
only; every server is stopped before the next starts.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ("/api/v1/instance", "/api/v1/accounts/1", "/api/v1/accounts/1")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS  # utime stime cutime cstime


def environment(source: Path, directory: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(source),
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory}/bench.db",
        "SECRET_KEY": secrets.token_hex(32),
        "LOCAL_DOMAIN": f"127.0.0.1:{port}",
        "LOG_LEVEL": "warning",
        "MEDIA_ROOT": f"{directory}/media",
    }


def import_cpu(source: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-c", "import connecthub.app"],
        env={**os.environ, "PYTHONPATH": str(source)},
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def serve(source: Path, port: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [sys.executable, "-m", "connecthub", "serve", "--port", str(port)],
            env=environment(source, directory, port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if client.get("/health/live").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("the server did not start")
                    time.sleep(0.1)
                figures["until live"] = cpu_seconds(process.pid)
                for index, path in enumerate(REQUESTS):
                    before = cpu_seconds(process.pid)
                    client.get(path)
                    figures[f"#{index + 1} {path}"] = cpu_seconds(process.pid) - before
        finally:
            process.terminate()
            process.wait(timeout=30)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--before", type=Path, help="another tree's root (its src/ is used)")
    parser.add_argument("--port", type=int, default=18090)
    args = parser.parse_args()
    trees = {"this tree": ROOT / "src"}
    if args.before is not None:
        trees = {"before": args.before / "src", **trees}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for run in range(args.runs):
        for name, source in trees.items():
            figures = {"import connecthub.app": import_cpu(source), **serve(source, args.port)}
            for label, value in figures.items():
                results[name].setdefault(label, []).append(value)
        print(f"run {run + 1} of {args.runs} done", file=sys.stderr)
    print(f"CPU seconds, median (min-max) of {args.runs} runs; load {os.getloadavg()[0]:.1f}")
    for name, figures in results.items():
        print(name)
        for label, values in figures.items():
            print(
                f"  {label:40} {statistics.median(values):6.3f}"
                f" ({min(values):.3f}-{max(values):.3f})"
            )


if __name__ == "__main__":
    main()
