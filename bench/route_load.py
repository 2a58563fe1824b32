"""Server CPU per request of any routes, under wrk, on an embedded server holding the
compare benchmark's community (bench/compare.py --keep seeds it): a copy of its SQLite
database per run, so writes never change the kept one.

    .venv/bin/python bench/compare.py --targets embedded --only home --rounds 1 --keep
    .venv/bin/python bench/route_load.py /api/v1/statuses/{status} /api/v1/favourites
    .venv/bin/python bench/route_load.py --before /tmp/old/src /api/v1/favourites   # A/B

`{status}` and `{account}` stand for the newest public status and its author. Each path is
warmed for 3 s, then loaded for `--seconds` with `wrk -t1 -c16`, the community's tokens
rotated per request; the server's CPU (utime + stime from /proc) over the run divided by
the requests answered is printed with the rate and the non-2xx count. `--before SRC` runs
the same paths first on the source tree SRC (`git archive <commit> src migrations | tar -x
-C /tmp/old`) and prints both, round after round (`--rounds`). Loopback only; everything
stops by itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEPT = Path.home() / ".cache/connecthub-bench/compare/embedded"
LUA = ROOT / "bench/compare/rotate_tokens.lua"
PORT = 18520
ROOMY = "1000000000/300"


def _placeholders(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as connection:
        status, account = connection.execute(
            "SELECT id, account_id FROM statuses WHERE visibility = 0 ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return {"status": str(status), "account": str(account)}


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def _ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wrk(path: str, seconds: int, tokens: Path) -> str:
    env = {**os.environ, "BENCH_TOKENS": str(tokens), "BENCH_PATH": path}
    command = ["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(LUA), f"http://127.0.0.1:{PORT}"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def kept_community(workdir: Path) -> dict[str, str]:
    """A copy of the kept embedded database in `workdir`, and the settings of an embedded
    server on it (no Redis: remove `REDIS_URL` from the environment)."""
    for name in ("connecthub.db", "connecthub.db-wal", "connecthub.db-shm"):
        if (KEPT / name).exists():
            shutil.copy(KEPT / name, workdir / name)
    return {
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "warning",
        "MAX_REQUESTS_IN_FLIGHT": "0",
        "LOCAL_DOMAIN": f"127.0.0.1:{PORT}",
        "MEDIA_STORAGE_URL": f"file://{workdir}/media",
        "OUTBOX_DIR": str(workdir / "outbox"),
        "DATABASE_URL": f"sqlite:///{workdir}/connecthub.db",
        **{f"RATE_LIMIT_{bucket}": ROOMY for bucket in ("IP", "TOKEN", "ACCOUNT")},
    }


def _serve(workdir: Path, source: str | None) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(kept_community(workdir), PYTHONPATH=source or "")
    server = subprocess.Popen(
        [sys.executable, "-m", "connecthub", "serve", "--port", str(PORT)],
        env=env,
        stdout=(workdir / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health/ready", timeout=1):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the server did not start: {workdir / 'serve.log'}")


def _py_spy(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250"]
    command += ["--format", "raw", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(
    label: str, source: str | None, paths: list[str], seconds: int, spy: str | None = None
) -> None:
    with tempfile.TemporaryDirectory(prefix="route-load-") as directory:
        workdir = Path(directory)
        server = _serve(workdir, source)
        try:
            for path in paths:
                _wrk(path, 3, KEPT / "tokens.txt")  # warm: caches, compiled statements
                recorder = None
                if spy:
                    name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
                    recorder = _py_spy(server.pid, seconds, Path(f"{spy}-{label}-{name}.txt"))
                before = _ticks(server.pid)
                output = _wrk(path, seconds, KEPT / "tokens.txt")
                spent = _ticks(server.pid) - before
                if recorder is not None:
                    recorder.wait(timeout=seconds + 30)
                answered = _number(r"(\d+) requests in", output)
                rate = _number(r"Requests/sec:\s+([\d.]+)", output)
                failed = _number(r"Non-2xx or 3xx responses: (\d+)", output)
                cpu_us = spent / os.sysconf("SC_CLK_TCK") / max(answered, 1) * 1e6
                print(
                    f"{label:7} {path:60} {rate:9,.0f} req/s {cpu_us:8,.0f} µs CPU/request"
                    f"  non-2xx {failed:.0f}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--before", help="a source tree (its src/) to measure first")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--py-spy",
        dest="spy",
        metavar="PREFIX",
        help="record the server during each measured path (py-spy, collapsed stacks in"
        " PREFIX-<label>-<path>.txt; bench/collapsed.py sums them up)",
    )
    args = parser.parse_args()
    if not (KEPT / "tokens.txt").exists():
        raise SystemExit(f"no seeded community in {KEPT}: run bench/compare.py --keep first")
    values = _placeholders(KEPT / "connecthub.db")
    paths = [path.format(**values) for path in args.paths]
    for _ in range(args.rounds):
        if args.before:
            run("before", args.before, paths, args.seconds, args.spy)
        run("after" if args.before else "now", None, paths, args.seconds, args.spy)


if __name__ == "__main__":
    main()
