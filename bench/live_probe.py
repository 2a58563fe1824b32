"""`GET /health/live` on a fresh connection every 100 ms until standard input closes, then
the latencies (seconds, JSON) on standard output: bench/overload.py's prober, a process of
its own so that the load generator's busy event loop is not what it measures, and one that
starts in milliseconds (standard library only).

    python bench/live_probe.py PORT
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

CLIENT_TIMEOUT = 10.0
REQUEST = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def probe(port: int, stop: threading.Event) -> float:
    """One probe's latency; CLIENT_TIMEOUT when it failed, the time it had waited when
    `stop` cut it."""
    started = time.perf_counter()
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
            sock.sendall(REQUEST)
            sock.settimeout(0.05)
            while time.perf_counter() - started < CLIENT_TIMEOUT:
                if stop.is_set():
                    return time.perf_counter() - started
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return CLIENT_TIMEOUT
    if not answer.startswith(b"HTTP/1.1 200 "):
        return CLIENT_TIMEOUT
    return time.perf_counter() - started


def main() -> None:
    port = int(sys.argv[1])
    stop = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    print("ready", flush=True)
    latencies = []
    while not stop.is_set():
        latencies.append(probe(port, stop))
        stop.wait(0.1)
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    main()
