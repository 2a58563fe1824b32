#!/usr/bin/env python3
"""What a tallied run (tests/support/tally.py) would take on an otherwise idle machine, for
several xdist worker counts: `.ci/tally_simulate.py /tmp/tally --cores 2 --workers 2 3 4`.

A fluid model: each test needs its measured CPU seconds and idle seconds (its run-queue
wait on the measured, shared machine is left out), spread evenly over its run; the
workers' tests share `--cores` cores (each slowed alike when they ask for more than there
are); tests are handed out longest first (as tests/support/scheduling.py does), each
worker starting after `--startup` CPU seconds of its own. A model, not a measurement: it
says which worker count to measure, not the figure to report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def load(directory: Path, idle_scale: float) -> tuple[list[tuple[float, float]], float]:
    tests, startups = [], []
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["kind"] == "test":
                idle = max(0.0, row["wall"] - row["cpu"] - row.get("queued", 0.0))
                tests.append((row["cpu"], idle * idle_scale))
            elif row["kind"] == "startup":
                startups.append(row["cpu"])
    tests.sort(key=lambda t: -(t[0] + t[1]))
    return tests, sum(startups) / max(1, len(startups))


def simulate(tests: list[tuple[float, float]], workers: int, cores: int, startup: float) -> float:
    pending = list(tests)
    # Each worker: [cpu left, idle left] of its current job (start-up is all CPU).
    jobs: list[list[float] | None] = [[startup, 0.0] for _ in range(workers)]
    now, step = 0.0, 0.01
    while any(job is not None for job in jobs):
        demand = 0.0
        for job in jobs:
            if job is not None:
                total = job[0] + job[1]
                demand += job[0] / total if total > 0 else 0.0
        speed = min(1.0, cores / demand) if demand > 0 else 1.0
        for index, job in enumerate(jobs):
            if job is None:
                continue
            total = job[0] + job[1]
            if total <= 1e-9:
                jobs[index] = list(pending.pop(0)) if pending else None
                continue
            share = job[0] / total
            job[0] = max(0.0, job[0] - step * speed * share)
            job[1] = max(0.0, job[1] - step * speed * (1 - share))
        now += step
    return now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 3, 4])
    # On a loaded machine a child process's wait for a core counts as its parent's idle
    # time: a scale below 1 takes that share out (fit it to a measured run).
    parser.add_argument("--idle-scale", type=float, default=1.0)
    args = parser.parse_args()
    tests, startup = load(args.directory, args.idle_scale)
    cpu = sum(t[0] for t in tests)
    idle = sum(t[1] for t in tests)
    print(f"{len(tests)} tests: {cpu:.0f} CPU-s, {idle:.0f} idle s; start-up {startup:.1f} CPU-s")
    for workers in args.workers:
        wall = simulate(tests, workers, args.cores, startup)
        print(f"{workers} workers on {args.cores} cores: ~{wall:.0f} s")


if __name__ == "__main__":
    main()
