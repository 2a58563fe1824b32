"""ConnectHub side by side with GoToSocial and a bare ASGI app, on the same community and
the same wrk load, rounds interleaved (issue 26; figures in docs/benchmarks.md).

Each server is seeded through its own API with the same community (community.py), warmed,
then measured in rounds: per route, every target in turn (the order rotates each round), wrk
`-t2 -c64 -d20s` with the community's tokens rotated per request. Per route and target it
prints requests/s (min / median / max over rounds), p50 / p99, errors, the server's CPU per
request (utime + stime of all its processes, the job worker included, read from /proc before
the run and after its background work settled) and RSS per round; then the ratios within
each round against the issue's targets.

    .venv/bin/python bench/compare.py                                   # ConnectHub + bare
    .venv/bin/python bench/compare.py --gotosocial "$(bench/compare/build_gotosocial.sh)"
    .venv/bin/python bench/compare.py --rounds 1 --seconds 5 --only home --keep

Servers listen on 127.0.0.1 (ports from --port-base), use PostgreSQL databases and Redis
keys named cmp_*, keep their data under ~/.cache/connecthub-bench/compare/, and are
stopped on exit, Ctrl-C and errors; `--max-minutes` bounds the whole run. wrk counts non-2xx
answers without their status: each server's log (`<target>/*.log` there) says what they were.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from compare import community, measure, report, targets

ROUTES = {
    "home": ("GET", "/api/v1/timelines/home?limit=20"),
    "instance": ("GET", "/api/v1/instance"),
    "verify_credentials": ("GET", "/api/v1/accounts/verify_credentials"),
    "post": ("POST", "/api/v1/statuses"),
}
# The bare app is the floor of the cheap routes; its figures elsewhere would mean nothing.
BARE_ROUTES = {"instance", "verify_credentials"}
CACHE = Path.home() / ".cache" / "connecthub-bench" / "compare"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _scheduler() -> str:
    """Whether the kernel shares the CPU out per session (autogroup): on a machine busy with
    other sessions, each target then gets a session's share whatever its nice value, and its
    requests wait for a core at every hop between processes (docs/benchmarks.md, "Why home
    waited")."""
    setting = Path("/proc/sys/kernel/sched_autogroup_enabled")
    try:
        enabled = setting.read_text().strip() == "1"
    except OSError:
        return "autogroup unknown"
    return "autogroup on (CPU shared per session)" if enabled else "autogroup off"


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20, help="wrk duration per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of each unmeasured burst per route"
    )
    parser.add_argument(
        "--warmup-bursts",
        type=int,
        default=6,
        help="at most this many warm-up bursts per route; fewer once the rate is steady",
    )
    parser.add_argument("--only", choices=sorted(ROUTES), action="append", help="routes to measure")
    parser.add_argument(
        "--targets",
        default="distributed,embedded,bare,gotosocial",
        help="comma-separated (gotosocial only with --gotosocial)",
    )
    parser.add_argument("--gotosocial", type=Path, help="a GoToSocial binary (build_gotosocial.sh)")
    parser.add_argument("--gotosocial-web", type=Path, help="its web/ folder (default: beside it)")
    parser.add_argument("--community", choices=sorted(community.SHAPES), default="dense")
    parser.add_argument("--accounts", type=int, help="default: 50 dense, 200 heavy-tail")
    parser.add_argument("--statuses", type=int, default=5000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded databases afterwards, and reuse them when already seeded",
    )
    parser.add_argument(
        "--no-isolate",
        dest="isolate",
        action="store_false",
        help="leave the other targets running while one is warmed or measured",
    )
    parser.add_argument("--port-base", type=int, default=18100)
    parser.add_argument("--max-minutes", type=float, default=120, help="the whole run's bound")
    return parser.parse_args()


def _shape(args: argparse.Namespace) -> community.Shape:
    build = community.SHAPES[args.community]
    if args.accounts:
        return build(accounts=args.accounts, statuses=args.statuses)
    return build(statuses=args.statuses)


def _targets(args: argparse.Namespace) -> list[targets.Target]:
    chosen: list[targets.Target] = []
    for index, name in enumerate(n.strip() for n in args.targets.split(",") if n.strip()):
        if name not in targets.TARGETS:
            raise SystemExit(f"--targets: unknown {name!r} (one of {', '.join(targets.TARGETS)})")
        port = args.port_base + index
        if not _port_free(port):
            raise SystemExit(f"port {port} is taken (--port-base)")
        state = CACHE / name
        if name == "gotosocial":
            if args.gotosocial is None:
                continue  # measured only when a binary is given
            binary = args.gotosocial.resolve()
            if not binary.is_file():
                raise SystemExit(f"--gotosocial: no file at {binary}")
            chosen.append(
                targets.GoToSocial(port, state, binary=binary, web_dir=args.gotosocial_web)
            )
        else:
            chosen.append(targets.TARGETS[name](port, state))
    return chosen


def _prepare(target: targets.Target, shape: community.Shape, keep: bool) -> None:
    """Starts the target with the community on it: seeded now, or reused (`--keep`)."""
    fingerprint = {"shape": shape.describe(), "target": target.name}
    reusable = (
        keep
        and target.marker.exists()
        and json.loads(target.marker.read_text()) == fingerprint
        and target.token_file.exists()
    )
    if reusable:
        print(f"{target.name}: reusing the seeded community in {target.state_dir}", flush=True)
        target.start()
        # Work a previous run left queued (GoToSocial restores its queues at start) would
        # otherwise run during the measurements.
        waited = measure.settle(target.roots(), limit_seconds=600)
        print(f"  settled {waited:.0f} s after start", flush=True)
        return
    target.reset()
    target.start()
    started = time.monotonic()
    print(f"{target.name}: creating {len(shape.usernames)} accounts", flush=True)
    tokens = asyncio.run(target.create_accounts(shape.usernames))
    target.token_file.write_text("\n".join(tokens) + "\n")
    if target.seeded:
        asyncio.run(community.seed(target.base_url, tokens, shape))
        waited = measure.settle(target.roots(), limit_seconds=600)
        print(f"  background work settled {waited:.0f} s after", flush=True)
    print(f"{target.name}: ready in {time.monotonic() - started:.0f} s", flush=True)
    target.marker.write_text(json.dumps(fingerprint))


# Warm-up bursts end once two in a row differ by less than this in requests/s: a server
# freshly started (its timeline caches empty: GoToSocial's first round of the fourth run
# answered home at 46 req/s, then 673) is measured warm, whatever it needs to get there.
STEADY = 0.15


def _alone(args: argparse.Namespace, chosen: list[targets.Target], target: targets.Target) -> None:
    """With --isolate (the default): every other target paused, this one running, and its
    own background work settled. Idle servers are not idle (job workers, sweepers, a
    GoToSocial still processing its seeding): running side by side, they took cores from
    the one measured (docs/benchmarks.md, "fifth run")."""
    if not args.isolate:
        return
    for other in chosen:
        if other is not target:
            other.pause()
    target.resume()
    measure.settle(target.roots(), limit_seconds=30)


def _warm(args: argparse.Namespace, target: targets.Target, route: str) -> int:
    """Bursts of `--warmup` seconds, up to `--warmup-bursts`, until the rate is steady."""
    previous = None
    for burst in range(1, args.warmup_bursts + 1):
        load = _load(args, route, args.warmup)
        rate = measure.run_wrk(target.base_url, load, target.token_file, target.roots()).rps
        if previous and rate and abs(rate - previous) / max(rate, previous) < STEADY:
            return burst
        previous = rate
    return int(args.warmup_bursts)


def _routes_of(target: targets.Target, routes: list[str]) -> list[str]:
    return [r for r in routes if target.name != "bare" or r in BARE_ROUTES]


def _load(args: argparse.Namespace, route: str, seconds: int) -> measure.Load:
    method, path = ROUTES[route]
    return measure.Load(method, path, args.threads, args.connections, seconds)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    args = _parse()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    routes = args.only or list(ROUTES)
    shape = _shape(args)
    chosen = _targets(args)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(int(args.max_minutes * 60))  # everything stops by itself
    load_before = _uptime()
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results: report.Results = []
    with contextlib.ExitStack() as stack:
        for target in chosen:  # callbacks run last first: each target stops, then drops
            if not args.keep:
                stack.callback(target.drop)
            stack.callback(target.stop)
        for target in chosen:  # before any stop: a paused process would not hear SIGTERM
            stack.callback(target.resume)
        for target in chosen:
            _alone(args, chosen, target)
            _prepare(target, shape, args.keep)
        for target in chosen:  # warm: caches, compiled statements, connection pools
            _alone(args, chosen, target)
            for route in _routes_of(target, routes):
                bursts = _warm(args, target, route)
                print(f"{target.name}: {route} warmed in {bursts} burst(s)", flush=True)
        for number in range(args.rounds):
            results.append({})
            order = chosen[number % len(chosen) :] + chosen[: number % len(chosen)]
            for route in routes:
                for target in order:
                    if route not in _routes_of(target, routes):
                        continue
                    _alone(args, chosen, target)
                    run = measure.run_wrk(
                        target.base_url,
                        _load(args, route, args.seconds),
                        target.token_file,
                        target.roots(),
                    )
                    results[-1].setdefault(route, {})[target.name] = run
                    print(
                        f"round {number + 1} {route:18s} {target.name:11s} {run.rps:9,.0f} req/s"
                        f"  p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms"
                        f"  errors {run.errors}  CPU {run.cpu_ms_per_request:6.2f} ms/req"
                        f"  RSS {run.rss_mib:,.0f} MiB",
                        flush=True,
                    )
                    if run.errors and run.requests:
                        print(run.raw, file=sys.stderr)
    signal.alarm(0)
    names = [target.name for target in chosen]
    labels = {route: f"{ROUTES[route][0]} {ROUTES[route][1]}" for route in routes}
    labels["post"] = "POST /api/v1/statuses (fan-out included: the job worker's CPU counts)"
    print()
    print(f"## bench/compare, {started_at}")
    print()
    print(f"- command: `{' '.join(sys.argv)}`")
    print(f"- community: {shape.describe()}; seeded through each server's API")
    print(
        f"- wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, tokens rotated per"
        f" request, {args.rounds} interleaved rounds (target order rotated each round),"
        f" warm-up per route in bursts of {args.warmup} s until two in a row differ by less"
        f" than {STEADY:.0%} in requests/s (at most {args.warmup_bursts})"
    )
    print(
        "- ConnectHub: MAX_REQUESTS_IN_FLIGHT=0 (admission control off) and every rate limit"
        f" at {targets.ROOMY_LIMIT} (limiter on, never reached): no 429 or 503 in the figures;"
        " distributed = `connecthub serve --workers 2` + `connecthub worker`,"
        " DATABASE_POOL_SIZE=8 and no overflow per process (16 connections, as GoToSocial's);"
        " embedded = one `connecthub serve` on SQLite; bare = a hello ASGI app under the same"
        " uvicorn settings and 2 workers"
    )
    if args.gotosocial:
        print(
            f"- GoToSocial: {args.gotosocial} on PostgreSQL, rate limiting and throttling off,"
            " stub ffmpeg/ffprobe"
        )
    print(f"- load before: {load_before}")
    print(f"- load after:  {_uptime()}")
    print(f"- scheduler: {_scheduler()}")
    print("- CPU per request: utime+stime of every process of the target (from /proc), from the")
    print("  start of the run until its background work settled, over the run's requests")
    print()
    print(report.render(results, labels, names))


if __name__ == "__main__":
    main()
