"""Embedded mode's memory under the same load round after round (issue 26 item 4; figures in
docs/benchmarks.md, "Embedded mode").

Seeds the dense community (bench/community.py: 50 accounts all following each other,
5,000 statuses through the API) in a fresh SQLite file, starts `connecthub serve` on it
(no DATABASE_URL to PostgreSQL, no REDIS_URL: one process, everything in it), warms it,
then runs `--rounds` rounds of wrk (`-t2 -c64`, `--seconds` each, a token rotated per
request) on home, `/api/v1/instance`, `verify_credentials` and `POST /api/v1/statuses`,
printing the server's RSS after each route and each round, and its CPU per request.

With `--probe` the server runs under bench/memory_probe.py and is asked after every round
what it holds (garbage collector, live objects by type, glibc heap); with
`--tracemalloc` too, the snapshots are diffed round to round (the top growing lines).

    .venv/bin/python bench/embedded_memory.py [--rounds 3] [--seconds 20] [--probe]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import community

ROUND = ("home", "instance", "verify_credentials", "post")


def seed(workdir: Path, args: argparse.Namespace, port: int) -> Path:
    """A seeded database under `workdir` (kept, and reused by the next run given the same
    `--workdir`); returns the token file."""
    tokens_file = workdir / "tokens.txt"
    if tokens_file.exists():
        print(f"reusing the community seeded in {workdir}", flush=True)
        return tokens_file
    env = community.server_env(workdir, f"sqlite:///{workdir / 'seed.db'}")
    started = time.perf_counter()
    tokens = asyncio.run(community.seed_accounts(env, args.accounts))
    with community.serve(env, port, 1, workdir / "seed.log") as server:
        asyncio.run(community.post_statuses(server.base, tokens, args.statuses))
        drained = asyncio.run(community.wait_for_jobs(env))
        print(f"the seeding's jobs ran {drained} s after the last post", flush=True)
    tokens_file.write_text("\n".join(tokens) + "\n")
    print(
        f"seeded {args.accounts} accounts (all following each other) and {args.statuses}"
        f" statuses in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return tokens_file


def probe(pid: int, directory: Path, sequence: int) -> str:
    os.kill(pid, signal.SIGUSR1)
    report = directory / f"{pid}-{sequence}.txt"
    deadline = time.monotonic() + 120
    while not report.exists() or (
        os.environ.get("PYTHONTRACEMALLOC") and not report.with_suffix(".tracemalloc").exists()
    ):
        if time.monotonic() > deadline:
            return "(no probe report)"
        time.sleep(0.5)
    time.sleep(1)  # the snapshot file is written after the report
    return report.read_text()


def diff(directory: Path, pid: int, before: int, after: int, top: int) -> None:
    old = tracemalloc.Snapshot.load(str(directory / f"{pid}-{before}.tracemalloc"))
    new = tracemalloc.Snapshot.load(str(directory / f"{pid}-{after}.tracemalloc"))
    print(f"tracemalloc: growth from round {before + 1} to round {after + 1}")
    for stat in new.compare_to(old, "lineno")[:top]:
        print(f"  {stat}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of home first")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--statuses", type=int, default=5000)
    parser.add_argument("--routes", default=",".join(ROUND))
    parser.add_argument("--workdir", help="keep the seeded database here (reused if present)")
    parser.add_argument("--probe", action="store_true", help="ask the server what it holds")
    parser.add_argument("--tracemalloc", action="store_true", help="with --probe: diff them")
    parser.add_argument("--ports", default="18700-18749")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    low, high = (int(p) for p in args.ports.split("-"))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="emb_memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    tokens = seed(workdir, args, community.free_port(low, high))
    # Every run measures a copy, so the seeded community stays the same run after run.
    run_dir = Path(tempfile.mkdtemp(prefix="emb_run-", dir=workdir))
    shutil.copy(workdir / "seed.db", run_dir / "bench.db")
    env = community.server_env(run_dir, f"sqlite:///{run_dir / 'bench.db'}")
    env.update(item.split("=", 1) for item in args.env)
    probes = run_dir / "probes"
    if args.probe:
        probes.mkdir()
        env["MEMORY_PROBE_DIR"] = str(probes)
        if args.tracemalloc:
            env["PYTHONTRACEMALLOC"] = "1"
    script = run_dir / "bench.lua"
    script.write_text(community.WRK_SCRIPT)
    port = community.free_port(low, high)
    routes = args.routes.split(",")
    command = (
        [sys.executable, str(Path(__file__).parent / "memory_probe.py")] if args.probe else None
    )
    rss: list[float] = []
    try:
        with community.serve(env, port, 1, run_dir / "server.log", command=command) as server:
            print(f"server pid {server.pid}: RSS {community.rss_mib(server.pid):.0f} MiB at start")
            if args.warmup:
                community.wrk(server, "home", tokens, script, seconds=args.warmup)
                print(f"after warm-up: RSS {community.rss_mib(server.pid):.0f} MiB", flush=True)
            for number in range(args.rounds):
                for route in routes:
                    figures = community.wrk(server, route, tokens, script, seconds=args.seconds)
                    print(
                        community.line(f"round {number + 1} {route}", figures)
                        + f", RSS {community.rss_mib(server.pid):.0f} MiB",
                        flush=True,
                    )
                rss.append(community.rss_mib(server.pid))
                print(f"round {number + 1}: RSS {rss[-1]:.0f} MiB", flush=True)
                if args.probe:
                    print(probe(server.pid, probes, number), flush=True)
                    if args.tracemalloc and number:
                        diff(probes, server.pid, number - 1, number, 25)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    print("RSS per round (MiB): " + " -> ".join(f"{value:.0f}" for value in rss))
    if len(rss) > 1:
        print(f"round {len(rss)} / round 1: {rss[-1] / rss[0]:.3f}")


if __name__ == "__main__":
    main()
