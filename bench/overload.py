"""Overload benchmark on PostgreSQL + Redis (issue 25, item 4; figures in docs/benchmarks.md).

Seeds a small data set of its own (bench/timelines.py's seeding: accounts with tokens, a
heavy-tail follower graph, statuses, home feeds built), starts `connecthub serve` on
127.0.0.1 and drives `GET /api/v1/timelines/home?limit=20` with its own HTTP/1.1 client
(keep-alive connections, a random token per request, 10 s client timeout):

1. capacity: closed-loop clients (each sends its next request when the last is answered),
   1, 2, 4, … 32 of them, `--step-seconds` each; the capacity is the best throughput, and
   the fewest clients that reach 90 % of it;
2. overload phases, `--seconds` of load each: 2x and 10x those clients, 500 and 2,000
   clients (the fault run's numbers), impatient (a refusal is asked again at once) unless
   `--polite` (they wait for `Retry-After`); then 2x and 10x the capacity's rate as an open
   loop (requests arrive whether or not earlier ones were answered). A `/health/live`
   probe on a fresh connection every 100 ms runs beside each;
3. after each phase no new request is sent, those in flight get their answer or time out,
   and the clients leave; then a home read every 50 ms on a fresh connection times the
   recovery: the first 200 answered within 250 ms;
4. `leavers1000`: the server's processes are stopped (SIGSTOP, as a server too busy to read
   its sockets), 1,000 clients send a home read and give up, the server resumes: how many
   of those it served anyway (to nobody), and how long until it answers a fresh one fast.

Printed per phase: requests answered (2xx, or 503/429 within 1 s) as a share of all
requests, p99 of the answered ones, client timeouts, slow refusals and other errors, the
`/health/live` p99, the recovery time, the server's shed and cancelled counts, and the CPU
the server and this program used (the machine's other work shows there).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/overload.py --keep
    … --reuse                # later runs on the same data; --capacity 16:280 skips step 1
    … --max-in-flight 0      # without admission control (for comparison)

Bounded: a few seconds per phase, about two minutes in all; loopback only; the database and
Redis keys it made are dropped at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop

from timelines import _drop_prefix, _migrate, database_urls, free_port, recreate_database, seed

HOME = "/api/v1/timelines/home?limit=20"
CLIENT_TIMEOUT = 10.0
FAST_REFUSAL = 1.0  # a 503 or 429 answered within this counts as answered
RECOVERED_WITHIN = 0.25  # the first home read answered 200 this fast ends the recovery
MAX_CONNECTIONS = 2000  # open-loop arrivals: connections open at once, at most


@contextlib.contextmanager
def running_server(
    env: dict[str, str], port: int, workers: int, log: Path, python: list[str]
) -> Iterator[subprocess.Popen[bytes]]:
    command = [*python, "-m", "connecthub", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(log.read_text())
            if time.monotonic() > deadline:
                raise SystemExit("the server did not get ready:\n" + log.read_text()[-4000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).is_success:
                    break
            time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def idle_listener(port: int) -> Iterator[None]:
    """The liveness port's listener in a process that does nothing else: a probe's latency
    there is what the machine's scheduling alone costs (the floor under the liveness
    port's figures)."""
    code = (
        "import sys, time\n"
        "from connecthub.ops.liveness import LivenessListener\n"
        "LivenessListener('127.0.0.1', int(sys.argv[1]), lambda: None).start()\n"
        "time.sleep(3600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(port)])
    try:
        yield
    finally:
        process.kill()
        process.wait()


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (the server processes)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        pids += [int(child) for child in children.read_text().split()]
    total = 0
    for each in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def listen_overflows() -> int:
    """The kernel's count of connections dropped because an accept queue was full."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    return 0


class Connection:
    """One keep-alive HTTP/1.1 connection, a request at a time (a bench client: what it
    costs per request must stay far below what the server spends)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.retry_after = 0.0  # of the last answer
        self.stage = "connect"  # where the current request is: connect, then answer

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.stage = "connect"
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.stage = "answer"
        self.writer.write(raw)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        chunked = close = False
        self.retry_after = 0.0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
            elif name == b"retry-after":
                self.retry_after = float(value)
        if chunked:
            while size := int((await self.reader.readline()).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        elif length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def get(path: str, token: str | None = None, *, close: bool = False) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Tally:
    ok: list[float] = field(default_factory=list)  # 2xx latencies
    refused_fast: list[float] = field(default_factory=list)  # 503/429 within FAST_REFUSAL
    refused_slow: int = 0
    other_status: dict[int, int] = field(default_factory=dict)
    timeouts: int = 0
    # Where the timed-out requests waited: for a connection of the bench's own (open loop,
    # all MAX_CONNECTIONS busy), for the TCP connection (the listen backlog), for an answer.
    timeout_stages: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    cut: int = 0  # in flight when the phase ended (the client left)
    in_flight: int = 0
    peak: int = 0  # most requests in flight at once
    seconds: float = 1.0

    def timed_out(self, stage: str) -> None:
        self.timeouts += 1
        self.timeout_stages[stage] = self.timeout_stages.get(stage, 0) + 1

    def record(self, status: int, seconds: float) -> None:
        if 200 <= status < 300:
            self.ok.append(seconds)
        elif status in (429, 503):
            if seconds <= FAST_REFUSAL:
                self.refused_fast.append(seconds)
            else:
                self.refused_slow += 1
        else:
            self.other_status[status] = self.other_status.get(status, 0) + 1

    @property
    def answered(self) -> list[float]:
        return self.ok + self.refused_fast

    @property
    def total(self) -> int:
        failed = self.refused_slow + sum(self.other_status.values()) + self.timeouts + self.errors
        return len(self.answered) + failed


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def send(
    connection: Connection, raw: bytes, tally: Tally, started: float | None = None
) -> None:
    """One request within the client timeout (counted from `started`, when it arrived),
    its outcome tallied."""
    started = time.perf_counter() if started is None else started
    timeout = CLIENT_TIMEOUT - (time.perf_counter() - started)
    tally.in_flight += 1
    tally.peak = max(tally.peak, tally.in_flight)
    try:
        async with asyncio.timeout(timeout):
            status = await connection.request(raw)
    except TimeoutError:
        tally.timed_out(connection.stage)
        connection.close()
        return
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        tally.errors += 1
        connection.close()
        return
    except asyncio.CancelledError:
        tally.cut += 1  # the phase ended: the client leaves mid-request
        connection.close()
        raise
    finally:
        tally.in_flight -= 1
    tally.record(status, time.perf_counter() - started)


async def closed_loop(
    port: int,
    tokens: list[str],
    clients: int,
    tally: Tally,
    stop: asyncio.Event,
    *,
    polite: bool = False,
) -> None:
    """`clients` clients, each sending its next request as soon as the last one is answered
    (impatient: a refusal is retried at once), or when `polite`, after the refusal's
    `Retry-After`; after `stop`, each waits for its last answer (or its timeout) and
    leaves."""

    async def one_client() -> None:
        connection = Connection(port)
        rng = random.Random()
        try:
            while not stop.is_set():
                errors = tally.errors
                await send(connection, get(HOME, rng.choice(tokens)), tally)
                if tally.errors > errors:
                    await asyncio.sleep(0.01)
                elif polite and connection.retry_after:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), connection.retry_after)
        finally:
            connection.close()

    await asyncio.gather(*(one_client() for _ in range(clients)))


async def open_loop(
    port: int, tokens: list[str], rate: float, tally: Tally, stop: asyncio.Event
) -> None:
    """Requests arriving at `rate` per second (Poisson), whether or not earlier ones were
    answered, as many users do; each takes an idle keep-alive connection or opens one (at
    most MAX_CONNECTIONS open; beyond, an arrival waits for one, within its timeout). After
    `stop`, no more arrive; those sent get their answer or time out."""
    rng = random.Random()
    idle: list[Connection] = []
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    pending: set[asyncio.Task[None]] = set()

    async def arrival(raw: bytes) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT):
                await slots.acquire()
        except TimeoutError:
            tally.timed_out("slot")
            return
        try:
            connection = idle.pop() if idle else Connection(port)
            await send(connection, raw, tally, started)
            if connection.writer is not None:
                idle.append(connection)
        finally:
            slots.release()

    next_at = time.perf_counter()
    try:
        while not stop.is_set():
            next_at += rng.expovariate(rate)
            delay = next_at - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
            task = asyncio.create_task(arrival(get(HOME, rng.choice(tokens))))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for connection in idle:
            connection.close()


Load = Callable[[Tally, asyncio.Event], Awaitable[None]]


async def phase(
    port: int, seconds: float, load: Load, *, probe: Sequence[int] = ()
) -> tuple[Tally, list[list[float]], float]:
    """Runs `load` for `seconds`; then no new requests are sent, those in flight get their
    answer or time out (CLIENT_TIMEOUT at most), and the clients leave (connections
    closed). Returns the tally, the /health/live latencies on each port of `probe` (until
    the clients left) and when they left (perf_counter)."""
    tally = Tally()
    probers = [Prober(probed) for probed in probe]
    stop = asyncio.Event()
    began = time.perf_counter()
    running = asyncio.create_task(load(tally, stop))
    await asyncio.sleep(seconds)
    stop.set()
    try:
        await asyncio.wait_for(asyncio.shield(running), CLIENT_TIMEOUT + 5)
    except TimeoutError:
        running.cancel()  # a client that could not even close: cut
        await asyncio.gather(running, return_exceptions=True)
    left_at = time.perf_counter()
    tally.seconds = left_at - began
    return tally, [prober.stop() for prober in probers], left_at


class Prober:
    """bench/live_probe.py on `port`, in a process of its own (so that this program's
    event loop, busy with the load, is not what it measures), until `stop()`, which
    returns the latencies."""

    def __init__(self, port: int) -> None:
        script = Path(__file__).with_name("live_probe.py")
        self._process = subprocess.Popen(
            [sys.executable, str(script), str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        self._process.stdout.readline()  # "ready": probing

    def stop(self) -> list[float]:
        latencies_json, _ = self._process.communicate(timeout=CLIENT_TIMEOUT + 5)
        return [float(seconds) for seconds in json.loads(latencies_json)]


async def recovery(
    port: int, token: str, left_at: float, limit: float = 120.0, served: list[int] | None = None
) -> float:
    """Seconds from the clients leaving to the first home read answered 200 within
    RECOVERED_WITHIN (fresh connection each time, every 50 ms); its 200s go in `served`."""
    while time.perf_counter() - left_at < limit:
        connection = Connection(port)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT):
                status = await connection.request(get(HOME, token, close=True))
            answered = time.perf_counter()
            if served is not None and status == 200:
                served.append(status)
            if status == 200 and answered - started <= RECOVERED_WITHIN:
                return answered - left_at
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            connection.close()
        await asyncio.sleep(0.05)
    return float("inf")


def server_counts(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60).text
    counts = {}
    for name in ("shed", "cancelled"):
        match = re.search(rf"^connecthub_http_requests_{name}_total (\S+)$", text, re.M)
        counts[name] = float(match.group(1)) if match else 0.0
    served = re.findall(
        r'^connecthub_http_requests_total\{[^}]*route="/api/v1/timelines/home"[^}]*'
        r'status="200"\} (\S+)$',
        text,
        re.M,
    )
    counts["home_served"] = sum(float(value) for value in served)
    return counts


def server_processes(server_pid: int) -> list[int]:
    """The processes answering requests: `serve` itself, or its supervised children."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    spawned = [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return spawned or [server_pid]


async def leavers(port: int, server_pid: int, tokens: list[str], count: int) -> str:
    """`count` clients send a home read while the server is too busy to read them (its
    processes stopped, SIGSTOP) and give up; the server resumes (SIGCONT). Reports how many
    of those requests it served anyway (to nobody) and how long until it answered a fresh
    home read within RECOVERED_WITHIN."""
    before = server_counts(port)
    processes = server_processes(server_pid)
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    try:
        for index in range(count):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(get(HOME, tokens[index % len(tokens)]))
            await writer.drain()
            writer.close()
    finally:
        for pid in processes:
            os.kill(pid, signal.SIGCONT)
    resumed = time.perf_counter()
    own: list[int] = []
    recovered = await recovery(port, tokens[0], resumed, served=own)
    await asyncio.sleep(1)  # let what it started finish before counting
    after = server_counts(port)
    served = after["home_served"] - before["home_served"] - len(own)
    dropped = after["cancelled"] - before["cancelled"]
    print(
        f"{count} clients that left while the server was stopped: {served:.0f} served to "
        f"nobody, {dropped:.0f} dropped; a fresh home read answered fast {recovered:.2f} s "
        "after it resumed",
        flush=True,
    )
    return (
        f"| {count} clients gone before being read | {count} | {served:.0f} served to nobody "
        f"| {dropped:.0f} dropped | — | — | — | — | — | — | {recovered:.2f} s | — |"
    )


@dataclass
class Costs:
    """CPU seconds spent during a phase by the server processes and by this program, and
    the lag of this program's event loop (how late a 10 ms timer fires): a load generator
    that is itself late measures its own delays, not the server's."""

    server_cpu: float = 0.0
    bench_cpu: float = 0.0
    listen_overflows: int = 0  # connections the kernel dropped, accept queue full (whole host)
    lags: list[float] = field(default_factory=list)


async def loop_lag(lags: list[float]) -> None:
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - started - 0.01)


def report(
    label: str,
    tally: Tally,
    live: list[float],
    live_port: list[float],
    idle: list[float],
    recovered: float,
    counts: dict[str, float],
    costs: Costs,
) -> str:
    seconds = tally.seconds
    total = tally.total
    share = 100 * len(tally.answered) / total if total else float("nan")
    others = sum(tally.other_status.values()) + tally.refused_slow + tally.errors
    print(
        f"{label}: {total} requests (peak {tally.peak} in flight), answered {share:.1f} % "
        f"({len(tally.ok)} 2xx = {len(tally.ok) / seconds:.0f}/s, {len(tally.refused_fast)} "
        f"fast 503/429), p99 answered {p99(tally.answered) * 1000:.0f} ms, p99 2xx "
        f"{p99(tally.ok) * 1000:.0f} ms, timeouts {tally.timeouts} "
        f"{tally.timeout_stages or ''}, slow 503 "
        f"{tally.refused_slow}, other statuses {tally.other_status or 0}, errors "
        f"{tally.errors}; /health/live p99 {p99(live) * 1000:.0f} ms (max "
        f"{max(live, default=0) * 1000:.0f} ms, {len(live)} probes), on the liveness port "
        f"{p99(live_port) * 1000:.0f} ms (max {max(live_port, default=0) * 1000:.0f} ms, "
        f"{len(live_port)} probes), on an idle process' listener {p99(idle) * 1000:.0f} ms; "
        f"recovered in "
        f"{recovered:.2f} s; server shed {counts['shed']:.0f}, cancelled "
        f"{counts['cancelled']:.0f}; {tally.cut} requests cut when the clients left; CPU: "
        f"server {costs.server_cpu / seconds:.2f} cores, this program "
        f"{costs.bench_cpu / seconds:.2f}; its loop lag p99 {p99(costs.lags) * 1000:.0f} ms; "
        f"listen queue overflows {costs.listen_overflows}",
        flush=True,
    )
    return (
        f"| {label} | {tally.peak} | {len(tally.ok) / seconds:,.0f}/s | {share:.1f} % "
        f"| {p99(tally.answered) * 1000:.0f} ms | {tally.timeouts} | {others} "
        f"| {p99(live) * 1000:.0f} ms | {p99(live_port) * 1000:.0f} ms "
        f"| {p99(idle) * 1000:.0f} ms | {recovered:.2f} s "
        f"| {costs.server_cpu / seconds:.2f} / {costs.bench_cpu / seconds:.2f} |"
    )


async def capacity_of(port: int, tokens: list[str], args: argparse.Namespace) -> tuple[int, float]:
    """(clients, home reads/s): the best throughput of the closed-loop steps, and the
    fewest clients that reach 90 % of it."""
    rates: list[tuple[int, float]] = []
    clients = 1
    while clients <= args.max_capacity_clients:
        tally, _live, _left = await phase(
            port,
            args.step_seconds,
            lambda t, stop, c=clients: closed_loop(port, tokens, c, t, stop),
        )
        rate = len(tally.ok) / tally.seconds
        rates.append((clients, rate))
        print(
            f"capacity step: {clients:3d} clients  {rate:7.0f} home reads/s"
            f"  p99 {p99(tally.ok) * 1000:6.1f} ms  non-2xx {tally.total - len(tally.ok)}",
            flush=True,
        )
        clients *= 2
    best = max(rate for _c, rate in rates)
    return next(c for c, rate in rates if rate >= 0.9 * best), best


async def measure(
    port: int, server_pid: int, tokens: list[str], args: argparse.Namespace
) -> list[str]:
    rows: list[str] = []
    print(f"warm-up: {args.warmup:.0f} s at 8 clients (not measured)", flush=True)
    await phase(port, args.warmup, lambda t, stop: closed_loop(port, tokens, 8, t, stop))

    if args.capacity:
        clients_text, _, rate_text = args.capacity.partition(":")
        capacity, best = int(clients_text), float(rate_text)
        print(f"capacity (given): {best:.0f} home reads/s at {capacity} clients", flush=True)
    else:
        capacity, best = await capacity_of(port, tokens, args)
        print(f"capacity: {best:.0f} home reads/s, reached at {capacity} clients", flush=True)
    rows.append(f"| capacity | {capacity} | {best:,.0f}/s | — | — | — | — | — | — | — | — | — |")

    loads: dict[str, tuple[str, Load]] = {}
    polite = args.polite
    manner = "polite" if polite else "impatient"
    for clients in (500, 2000):  # the fault run's connection counts (issue 25)
        loads[f"conn{clients}"] = (
            f"{clients} {manner} clients",
            lambda t, stop, c=clients: closed_loop(port, tokens, c, t, stop, polite=polite),
        )
    for factor in (2, 10):
        clients = capacity * factor
        loads[f"clients{factor}"] = (
            f"{factor}x clients ({clients}, {manner})",
            lambda t, stop, c=clients: closed_loop(port, tokens, c, t, stop, polite=polite),
        )
        rate = best * factor
        loads[f"rate{factor}"] = (
            f"{factor}x rate ({rate:,.0f}/s)",
            lambda t, stop, r=rate: open_loop(port, tokens, r, t, stop),
        )
    for name in args.phases.split(","):
        if name.startswith("leavers"):
            rows.append(await leavers(port, server_pid, tokens, int(name[7:] or 1000)))
            continue
        label, load = loads[name]
        before = server_counts(port)
        costs = Costs()
        lag = asyncio.create_task(loop_lag(costs.lags))
        server_cpu, bench_cpu = cpu_seconds(server_pid), time.process_time()
        overflows = listen_overflows()
        tally, (live, live_port, idle), left_at = await phase(
            port, args.seconds, load, probe=(port, args.liveness_port, args.idle_port)
        )
        costs.server_cpu = cpu_seconds(server_pid) - server_cpu
        costs.bench_cpu = time.process_time() - bench_cpu
        costs.listen_overflows = listen_overflows() - overflows
        lag.cancel()
        recovered = await recovery(port, tokens[0], left_at)
        after = server_counts(port)
        counts = {name: after[name] - before[name] for name in after}
        rows.append(report(label, tally, live, live_port, idle, recovered, counts, costs))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="connecthub_overload")
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--stars", type=int, default=10)
    parser.add_argument("--follows", type=int, default=40)
    parser.add_argument("--statuses", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0, help="per overload phase")
    parser.add_argument("--step-seconds", type=float, default=3.0, help="per capacity step")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--max-capacity-clients", type=int, default=32)
    parser.add_argument(
        "--capacity",
        help="CLIENTS:RATE from an earlier run (home reads/s at that many clients): skip the "
        "capacity steps",
    )
    parser.add_argument(
        "--phases",
        default="clients2,clients10,conn500,conn2000,rate2,rate10,leavers1000",
        help="overload phases, in order: clientsF (F times the capacity's clients), connN "
        "(500 or 2000 clients), rateF (F times the capacity's rate, open loop), leaversN (N "
        "clients that ask and leave while the server is stopped); default: all",
    )
    parser.add_argument(
        "--max-in-flight",
        default=None,
        help="MAX_REQUESTS_IN_FLIGHT for the server (default: the server's own; 0: no limit)",
    )
    parser.add_argument(
        "--polite",
        action="store_true",
        help="closed-loop clients wait for a refusal's Retry-After before asking again "
        "(default: impatient clients ask again at once, the harder case)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database, feeds and tokens afterwards"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database an earlier --keep run left"
    )
    parser.add_argument(
        "--server-command",
        default=None,
        help="run the server with this Python command prefix instead of `python` (e.g. "
        "'python -m cProfile -o /tmp/server.prof' with --workers 1)",
    )
    args = parser.parse_args()
    args.readers = args.accounts
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgresql") or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (PostgreSQL server) and REDIS_URL")
    admin, bench_url = database_urls(server_url, args.database)
    keep = args.keep or args.reuse
    prefix = f"bench-overload-{args.database}:" if keep else f"bench-overload-{os.getpid()}:"
    kept_tokens = Path(tempfile.gettempdir()) / f"{args.database}-tokens.txt"
    if args.reuse and not kept_tokens.exists():
        raise SystemExit(f"--reuse needs an earlier --keep run ({kept_tokens} is missing)")
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMIT_ENABLED": "false",  # overload, not rate limits, is measured here
        "LOG_LEVEL": "warning",
        "ENVIRONMENT": "development",
        "JOBS_IN_SERVER": "true",
    }
    if args.max_in_flight is not None:
        env["MAX_REQUESTS_IN_FLIGHT"] = str(args.max_in_flight)
    os.environ.update(env)
    workdir = Path(tempfile.mkdtemp(prefix="bench-overload-"))
    if not args.reuse:
        asyncio.run(recreate_database(admin, args.database))
    try:
        if args.reuse:
            tokens = kept_tokens.read_text().split()
        else:
            tokens, _ids = asyncio.run(seed(args))
            if keep:
                kept_tokens.write_text("\n".join(tokens) + "\n")
        asyncio.run(_migrate())
        port = free_port()
        args.liveness_port = free_port()
        env["LIVENESS_PORT"] = str(args.liveness_port)
        limit = env.get("MAX_REQUESTS_IN_FLIGHT", "default (DATABASE_POOL_SIZE + overflow)")
        print(
            f"serve --workers {args.workers} on port {port} (liveness port "
            f"{args.liveness_port}), MAX_REQUESTS_IN_FLIGHT {limit}, "
            f"client timeout {CLIENT_TIMEOUT:.0f} s",
            flush=True,
        )
        python = shlex.split(args.server_command) if args.server_command else [sys.executable]
        args.idle_port = free_port()
        with (
            running_server(env, port, args.workers, workdir / "server.log", python) as process,
            idle_listener(args.idle_port),
        ):
            rows = uvloop.run(measure(port, process.pid, tokens, args))
        print()
        print(
            "| phase | peak in flight | 2xx | answered | p99 answered | timeouts "
            "| other failures | /health/live p99 | liveness port p99 | idle listener p99 "
            "| recovery | CPU cores: server / bench |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row in rows:
            print(row)
        errors = [
            line
            for line in (workdir / "server.log").read_text(errors="replace").splitlines()
            if '"level": "error"' in line or "Traceback" in line
        ]
        print(f"\nserver log: {len(errors)} error lines")
        for line in errors[:5]:
            print("  " + line[:300])
    finally:
        if not keep:
            asyncio.run(recreate_database(admin, args.database, drop_only=True))
            asyncio.run(_drop_prefix(os.environ["REDIS_URL"], prefix))
        else:
            # Jobs the posts or the in-server worker left queued would run in the next run.
            asyncio.run(_drop_prefix(os.environ["REDIS_URL"], f"{prefix}jobs:"))
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
