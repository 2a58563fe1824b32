#!/usr/bin/env python3
"""The report of a tallied test run (tests/support/tally.py):

    TEST_TALLY=/tmp/tally make test   # or any pytest command
    .ci/tally.py /tmp/tally [--top 30]

Prints the totals, each worker's timeline (start-up, when it finished, what it ran last),
the worst tests by wall, by idle and by CPU, and the worst test files. `cpu` is process CPU
(threads and waited-for children), `queued` the main thread's wait for a core (the
machine's load), `idle = wall - cpu - queued` time spent waiting on timers, sockets or
other processes."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

HEADER = f"{'wall':>7} {'cpu':>7} {'queued':>7} {'idle':>7}"


def load(directory: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    for row in records:
        row.setdefault("queued", 0.0)
        row["idle"] = max(0.0, row["wall"] - row["cpu"] - row["queued"])
    return records


def figures(row: dict[str, Any]) -> str:
    return f"{row['wall']:7.2f} {row['cpu']:7.2f} {row['queued']:7.2f} {row['idle']:7.2f}"


def worst(title: str, rows: list[dict[str, Any]], key: str, top: int) -> None:
    print(f"\n{title}\n{HEADER}  test")
    for row in sorted(rows, key=lambda r: r[key], reverse=True)[:top]:
        print(f"{figures(row)}  {row['id']}")


def timeline(tests: list[dict[str, Any]], startups: dict[str, Any], began: float) -> None:
    print(f"\n{'worker':8} {'startup':>8} {'s-cpu':>6} {'tests':>6} {'done at':>8}  {HEADER}")
    by_worker: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in tests:
        by_worker[row["worker"]].append(row)
    for worker, rows in sorted(by_worker.items()):
        rows.sort(key=lambda r: r["start"])
        startup = startups.get(worker, {"wall": 0.0, "cpu": 0.0})
        done = rows[-1]["start"] + rows[-1]["wall"] - began
        total = {k: sum(r[k] for r in rows) for k in ("wall", "cpu", "queued", "idle")}
        print(
            f"{worker:8} {startup['wall']:8.1f} {startup['cpu']:6.1f} {len(rows):6}"
            f" {done:8.1f}  {figures(total)}"
        )
        for row in rows[-3:]:
            at = row["start"] - began
            print(f"{'':10}last: at {at:6.1f} s {row['wall']:6.2f} s  {row['id']}")


def by_file(tests: list[dict[str, Any]], top: int) -> None:
    files: dict[str, dict[str, float]] = defaultdict(
        lambda: {"wall": 0.0, "cpu": 0.0, "queued": 0.0, "idle": 0.0, "n": 0}
    )
    for row in tests:
        entry = files[row["id"].split("::")[0]]
        for key in ("wall", "cpu", "queued", "idle"):
            entry[key] += row[key]
        entry["n"] += 1
    print(f"\nWorst files by wall\n{HEADER} {'n':>4}  file")
    ranked = sorted(files.items(), key=lambda kv: kv[1]["wall"], reverse=True)
    for name, entry in ranked[:top]:
        print(f"{figures(entry)} {int(entry['n']):4}  {name}")


# The fast loop's bar (tests/conftest.py): a test over it is marked `slow`.
SLOW_CPU, SLOW_IDLE = 0.2, 0.4


def over_the_bar(tests: list[dict[str, Any]]) -> None:
    """Tests `make test-fast` runs that cost more than its bar in this run. One run's
    figures are noisy (a worker's last test also carries the session's teardown): mark a
    test `slow` when it is over the bar run after run."""
    over = [
        row
        for row in tests
        if not row.get("slow", True) and (row["cpu"] > SLOW_CPU or row["idle"] > SLOW_IDLE)
    ]
    print(f"\nNot marked slow, over {SLOW_CPU} CPU-s or {SLOW_IDLE} s idle: {len(over)}")
    if over:
        print(f"{HEADER}  test")
    for row in sorted(over, key=lambda r: r["cpu"] + r["idle"], reverse=True):
        print(f"{figures(row)}  {row['id']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    records = load(args.directory)
    tests = [r for r in records if r["kind"] == "test"]
    if not tests:
        raise SystemExit(f"no tallied tests in {args.directory}")
    startups = {r["worker"]: r for r in records if r["kind"] == "startup"}
    ends = [r["start"] for r in records if r["kind"] == "end"]
    began = min([r["start"] for r in startups.values()] or [tests[0]["start"]])
    total = {k: sum(r[k] for r in tests) for k in ("wall", "cpu", "queued", "idle")}
    span = f"; first worker start to last end {max(ends) - began:.0f} s" if ends else ""
    print(f"{len(tests)} tests, worker-seconds in tests{span}\n{HEADER}\n{figures(total)}")
    timeline(tests, startups, began)
    worst("Worst by wall", tests, "wall", args.top)
    worst("Worst by idle", tests, "idle", args.top)
    worst("Worst by CPU", tests, "cpu", args.top)
    by_file(tests, args.top)
    over_the_bar(tests)


if __name__ == "__main__":
    main()
