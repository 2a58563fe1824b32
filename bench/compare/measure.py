"""wrk runs and what the servers spent on them, read from /proc: CPU seconds (utime + stime of
every process of a target, children included) and resident memory."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROTATE_TOKENS = Path(__file__).with_name("rotate_tokens.lua")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(roots: list[int]) -> list[int]:
    """The roots and every live descendant (uvicorn's server processes, GoToSocial's own)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [pid for pid in roots if Path(f"/proc/{pid}").exists()]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(parents.get(pid, []))
    return found


def cpu_seconds(roots: list[int]) -> float:
    total = 0
    for pid in process_tree(roots):
        fields = _stat_fields(pid)
        if fields is not None:  # utime and stime are fields 14 and 15 of stat
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def rss_mib(roots: list[int]) -> float:
    total_kib = 0
    for pid in process_tree(roots):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            total_kib += int(match.group(1))
    return total_kib / 1024


def idle_rate(roots: list[int], seconds: float = 1.0) -> float:
    """Share of one core the target uses while nobody asks it anything."""
    before = cpu_seconds(roots)
    time.sleep(seconds)
    return (cpu_seconds(roots) - before) / seconds


def settle(
    roots: list[int],
    *,
    baseline: float = 0.0,
    quiet_share: float = 0.03,
    limit_seconds: float = 120,
) -> float:
    """Waits until the target's processes are back to idle (`baseline`, the share of a core
    they use unasked, plus `quiet_share`, over half a second): background work a run queued
    (a post's fan-out) is then done and counted. Returns the seconds it took; gives up
    after `limit_seconds`."""
    started = time.monotonic()
    before = cpu_seconds(roots)
    while time.monotonic() - started < limit_seconds:
        time.sleep(0.5)
        now = cpu_seconds(roots)
        if now - before <= (baseline + quiet_share) * 0.5:
            break
        before = now
    return time.monotonic() - started


@dataclass
class WrkResult:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    non_2xx: int = 0
    socket_errors: int = 0
    cpu_seconds: float = 0.0  # the target's processes, from the start to settled
    rss_mib: float = 0.0  # after the run
    raw: str = field(default="", repr=False)

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1000 if self.requests else float("nan")


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    return float(match.group(1)) * _UNITS_MS[match.group(2)] if match else float("nan")


def parse_wrk(output: str) -> WrkResult:
    result = WrkResult(raw=output)
    if total := re.search(r"(\d+) requests in ([\d.]+)(\w+)", output):
        result.requests = int(total.group(1))
        result.seconds = _ms(total.group(2) + total.group(3)) / 1000
    if rps := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.rps = float(rps.group(1))
    if result.requests == 0:  # wrk prints a distribution of zeros: nothing was answered
        return result
    if p50 := re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE):
        result.p50_ms = _ms(p50.group(1))
    if p99 := re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE):
        result.p99_ms = _ms(p99.group(1))
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.non_2xx = int(non_2xx.group(1))
    if sockets := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        result.socket_errors = sum(int(n) for n in sockets.groups())
    return result


@dataclass(frozen=True)
class Load:
    method: str
    path: str
    threads: int = 2
    connections: int = 64
    seconds: int = 20
    timeout_seconds: int = 10


def run_wrk(base_url: str, load: Load, token_file: Path, roots: list[int]) -> WrkResult:
    """One wrk run against `base_url`, tokens rotated per request; the target's CPU is read
    before the run and after its background work settled."""
    env = {
        **os.environ,
        "BENCH_TOKENS": str(token_file),
        "BENCH_METHOD": load.method,
        "BENCH_PATH": load.path,
    }
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{load.seconds}s",
        f"--timeout={load.timeout_seconds}s",
        "--latency",
        "-s",
        str(ROTATE_TOKENS),
        base_url + load.path,
    ]
    baseline = idle_rate(roots)
    cpu_before = cpu_seconds(roots)
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=load.seconds + load.timeout_seconds + 30,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    settle(roots, baseline=baseline, limit_seconds=60)
    result = parse_wrk(done.stdout)
    result.cpu_seconds = cpu_seconds(roots) - cpu_before
    result.rss_mib = rss_mib(roots)
    return result
