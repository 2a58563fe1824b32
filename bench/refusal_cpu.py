"""Server CPU per refused request (admission's 503), on a kept-alive connection and on a
connection of its own, next to `/health/live` (never refused): what a process spends on
each request it sheds, which decides how much excess it can refuse before the excess waits
in its listen backlog (docs/benchmarks.md, "Overload").

Runs `connecthub serve --workers 1` on a temporary SQLite database with
MAX_REQUESTS_IN_FLIGHT=1, holds the one slot with a request whose body never ends, sends
the requests from one blocking client, and reads the server's CPU time from /proc.

    .venv/bin/python bench/refusal_cpu.py --requests 3000
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def request(path: str, *, close: bool) -> bytes:
    connection = b"close" if close else b"keep-alive"
    return b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: %s\r\n\r\n" % (
        path.encode(),
        connection,
    )


def read_answer(sock: socket.socket) -> bytes:
    """One answer (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n", 1)[0]


def kept_alive(port: int, path: str, count: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        status = b""
        for _ in range(count):
            sock.sendall(request(path, close=False))
            status = read_answer(sock)
        return status


def one_each(port: int, path: str, count: int) -> bytes:
    status = b""
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request(path, close=True))
            status = read_answer(sock)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-refusal-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/db.sqlite",
        "MAX_REQUESTS_IN_FLIGHT": "1",
        "HTTP_BODY_TIMEOUT_SECONDS": "3600",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
    }
    command = [sys.executable, "-m", "connecthub", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                one_each(port, "/health/live", 1)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.3)
        # The one slot, held: a body that never ends.
        holder = socket.create_connection(("127.0.0.1", port))
        holder.sendall(
            b"POST /api/v1/statuses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        time.sleep(0.5)
        cases = [
            ("refused, kept-alive connection", kept_alive, "/api/v1/timelines/public"),
            ("refused, a connection each", one_each, "/api/v1/timelines/public"),
            ("/health/live, kept-alive connection", kept_alive, "/health/live"),
            ("/health/live, a connection each", one_each, "/health/live"),
        ]
        for label, send, path in cases:
            send(port, path, 200)  # warm
            costs = []
            for _ in range(args.rounds):
                before = cpu_seconds(server.pid)
                status = send(port, path, args.requests)
                costs.append((cpu_seconds(server.pid) - before) / args.requests)
            print(
                f"{label:40s} {status.decode():30s} server CPU per request: "
                + ", ".join(f"{cost * 1e6:.0f} µs" for cost in costs),
                flush=True,
            )
        holder.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
