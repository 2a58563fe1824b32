"""Live servers for tests that talk HTTP or WebSocket over a real socket.

Most such tests are about the protocol a client library speaks (Mastodon.py, toot,
WebSockets, SSE), not about the process: for them `start_inprocess_server` runs uvicorn,
configured as `connecthub serve` configures it, in a thread of the test process. That
saves importing the app in a child process (about 2.4 CPU-seconds each time).

Tests about the process itself (signals, logs on stdout, several workers, the CLI) use
`tests.conftest.start_server`, a real `connecthub serve`, and are marked `slow`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: see tests/engines.py
    import uvicorn
    from fastapi import FastAPI

    from connecthub.ops.liveness import LivenessListener
    from tests.conftest import TestEnv

STARTUP_SECONDS = 60.0


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports come from below the kernel's ephemeral range, a block per xdist worker. A port
# the kernel hands out for `bind(0)` sits in the range it also gives outgoing connections:
# between the probe and the server's own bind, a connection to PostgreSQL or Redis could
# take it ("Address already in use", seen in CI). Below that range only a listener takes
# a port, and each worker's listeners stay in its own block. Two suites running side by
# side on one machine give each its own TEST_PORT_FLOOR. A floor given that way is kept to
# even inside the kernel's range (a shared machine may hand each suite a range there); there
# only odd ports are taken, as `bind(0)` does: Linux gives outgoing connections even ports
# first, and a child server binds seconds after the probe (two "Address already in use"
# on even ports in one PostgreSQL pass on the shared machine, 2026-12-05).
_FLOOR_GIVEN = "TEST_PORT_FLOOR" in os.environ
_PORT_FLOOR = int(os.environ.get("TEST_PORT_FLOOR", "10000"))
_BLOCK = 200  # 4 workers (2 cores) and the browser tests' server in 1,000 ports
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_block_start = _PORT_FLOOR + (int(_worker) if _worker.isdigit() else 0) * _BLOCK
_next_port = itertools.count(random.randrange(_BLOCK))


def free_port() -> int:
    """A port nothing listens on, that no outgoing connection will take meanwhile."""
    if not _FLOOR_GIVEN and _block_start + _BLOCK > _ephemeral_low():
        # more workers than blocks below the kernel's range: the old way
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    odd_only = _block_start + _BLOCK > _ephemeral_low()
    for _ in range(_BLOCK):
        port = _block_start + next(_next_port) % _BLOCK
        if odd_only and port % 2 == 0:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_block_start}..{_block_start + _BLOCK}")


@dataclass
class InProcessServer:
    """`url` like a `LiveServer`; `stop()` ends it (the fixtures call it)."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    liveness: LivenessListener | None = None  # with LIVENESS_PORT

    def stop(self) -> None:
        if self.liveness is not None:
            self.liveness.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        if self.thread.is_alive():  # sockets that never close: stop waiting for them
            self.server.force_exit = True
            self.thread.join(timeout=30)


def start_inprocess_server(
    env: TestEnv,
    *,
    port: int | None = None,
    prepare: Callable[[FastAPI], None] | None = None,
    **environ: str,
) -> InProcessServer:
    """The app on `env`'s engines behind uvicorn in a thread; `environ` takes the same
    upper-case names as the environment of a `connecthub serve` process, and `prepare`
    may add test routes to the app before it serves."""
    from connecthub.app import create_app
    from connecthub.serving import HeartbeatServer, server_config, start_liveness_listener
    from tests.schemas.checking import CheckedApp

    port = port or free_port()
    # The address clients use: links and URLs the server emits are built from it.
    environ.setdefault("LOCAL_DOMAIN", f"127.0.0.1:{port}")
    settings = env.settings(**environ)
    # As `connecthub serve` runs it (options, protocol and client timeouts).
    app = create_app(settings)
    if prepare is not None:
        prepare(app)
    # Its answers are checked against Mastodon's entities as the in-process client's are.
    config = server_config(settings, CheckedApp(app), host="127.0.0.1", port=port)
    server = HeartbeatServer(config)
    liveness = start_liveness_listener(settings, "127.0.0.1", server.liveness(settings))
    thread = threading.Thread(target=server.run, name=f"server-{port}", daemon=True)
    thread.start()
    # uvicorn sets `started` once the lifespan ran and the socket listens.
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        with contextlib.suppress(Exception):
            server.should_exit = True
            thread.join(timeout=10)
        if liveness is not None:
            liveness.close()
        raise RuntimeError(f"in-process server on port {port} did not start")
    return InProcessServer(
        url=f"http://127.0.0.1:{port}", server=server, thread=thread, liveness=liveness
    )
