"""`/health/live` on a port of its own, answered by a thread from the event loop's heartbeat
(docs/adr/0009-liveness-port.md).

On the main port a probe waits behind the load it is meant to survive: in the listen
backlog with thousands of other connections, then on an event loop busy reading them. Here
the event loop only stamps a `Heartbeat` as it turns (`serving.HeartbeatServer`, every
0.1 s), and a `LivenessListener` thread answers from the stamp: 200 while the loop turns,
503 once it has not turned for `stall_seconds` (a hung loop is still reported dead), 503
before it serves at all (a startup probe waits).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing import get_context
from typing import Any

PATH = b"/health/live"
# A probe client that has not sent its request line and headers within this is dropped
# (probes are answered one at a time).
READ_SECONDS = 1.0
_MAX_REQUEST_BYTES = 8192


class Heartbeat:
    """When an event loop last turned (`time.monotonic()`, system-wide on Linux, so a
    supervising process reads its children's). Shared memory: a server process started by
    the supervisor gets it when it starts, and stamps it without a system call."""

    __slots__ = ("_stamp",)

    def __init__(self) -> None:
        # 0.0: not serving yet. Made in the context the supervisor starts its servers with
        # (serving.py: forked from the fork server).
        self._stamp: Any = get_context("forkserver").RawValue("d", 0.0)

    def beat(self) -> None:
        self._stamp.value = time.monotonic()

    def age(self) -> float | None:
        """Seconds since the loop last turned; None before it first did."""
        stamp = float(self._stamp.value)
        return None if stamp == 0.0 else time.monotonic() - stamp


def loop_verdict(ages: Sequence[float | None], stall_seconds: float) -> str | None:
    """Why the server is not live (None: it is): no event loop has turned yet, or none has
    turned within `stall_seconds`. With several processes one turning loop is enough: the
    supervisor replaces a stalled one itself (`serving.Supervisor`)."""
    known = [age for age in ages if age is not None]
    if not known:
        return "not serving yet"
    freshest = min(known)
    if freshest > stall_seconds:
        return f"event loop stalled for {freshest:.1f} s"
    return None


def _answer(status: int, body: dict[str, str], head_only: bool) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n"
    ).encode()
    return head if head_only else head + payload


class LivenessListener:
    """A plain socket served by one thread: `GET /health/live` is answered with `verdict()`
    (a reason for 503, or None for 200), anything else 404, and the connection closed. No
    thread per probe and no parsing library: while the event loop holds the GIL, each
    blocking call here waits up to the interpreter's switch interval (5 ms) for it back, so
    an answer costs as few of them as possible (accept, one read, one write)."""

    def __init__(self, host: str, port: int, verdict: Callable[[], str | None]) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Bound here, in the caller: a port already taken fails the start, not a thread.
        self._socket = socket.create_server((host, port), family=family, backlog=128)
        self.port: int = self._socket.getsockname()[1]
        self._verdict = verdict
        self._thread = threading.Thread(target=self._serve, name="liveness-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                connection, _address = self._socket.accept()
            except OSError:
                return  # closed
            # OSError: the prober left, or was too slow.
            with connection, contextlib.suppress(OSError):
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(READ_SECONDS)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk or len(request) > _MAX_REQUEST_BYTES:
                return
            request += chunk
        method, _, rest = request.partition(b" ")
        target = rest.partition(b" ")[0].partition(b"?")[0]
        head_only = method == b"HEAD"
        if target != PATH or method not in (b"GET", b"HEAD"):
            connection.sendall(_answer(404, {"error": "Record not found"}, head_only))
            return
        reason = self._verdict()
        if reason is None:
            connection.sendall(_answer(200, {"status": "ok"}, head_only))
        else:
            body = {"status": "unavailable", "error": f"Not live: {reason}"}
            connection.sendall(_answer(503, body, head_only))
