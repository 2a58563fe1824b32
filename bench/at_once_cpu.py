"""CPU time per request of the answers the server gives at once (http/edge.py `answer_now`,
serving.py `GuardedHttpToolsProtocol`), with the HTTP parsing and no sockets: the server's
own protocol is fed raw requests and writes into a transport that only counts. What one
embedded process spends in Python on such an answer, free of the kernel's share and of
the load generator's, so two trees compare within a few percent where a wrk run moves by
a quarter.

    .venv/bin/python bench/compare.py --targets embedded --only home --rounds 1 --keep
    .venv/bin/python bench/at_once_cpu.py                       # home (limit 20), instance
    .venv/bin/python bench/at_once_cpu.py /api/v1/accounts/verify_credentials --requests 50000
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/at_once_cpu.py   # another tree (A/B)

It runs on a copy of the embedded database `bench/compare.py --keep` seeded (its tokens
rotated per request, as the compare runs send them), warms each path the usual way for
every token, then feeds `--requests` requests per path and round on a fresh connection,
the paths in turn, `--rounds` times. Each line says how many were answered at once; a path
the server cannot answer so is measured all the same (its requests go the usual way and
are never awaited here, so its figure means nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from route_load import KEPT, PORT, kept_community

PATHS = ["/api/v1/timelines/home?limit=20", "/api/v1/instance"]


class CountingTransport(asyncio.Transport):
    """Takes what the server writes and counts it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.bytes = 0
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", PORT), "peername": ("127.0.0.1", 40000)}.get(
            name, default
        )

    def write(self, data: Any) -> None:
        self.writes += 1
        self.bytes += len(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def _environment(workdir: Path) -> None:
    os.environ.pop("REDIS_URL", None)
    os.environ.update(kept_community(workdir))
    # Requests are fed back to back with no turn of the loop between them: a look at other
    # processes' writes falls due only once a minute (nothing else writes here).
    os.environ["OUTSIDE_WRITES_POLL_SECONDS"] = "60"


async def _measure(paths: list[str], requests: int, rounds: int) -> None:
    from uvicorn.server import ServerState

    from connecthub.app import create_app
    from connecthub.config import load_settings
    from connecthub.serving import GuardedHttpToolsProtocol, server_config

    tokens = (KEPT / "tokens.txt").read_text().split()
    settings = load_settings()
    app = create_app(settings)
    config = server_config(settings, app=app, host="127.0.0.1", port=PORT)
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()

    def connection() -> tuple[Any, CountingTransport]:
        protocol = GuardedHttpToolsProtocol(config, state, {}, loop)
        transport = CountingTransport()
        protocol.connection_made(transport)
        return protocol, transport

    def raw(path: str, token: str) -> bytes:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
        return f"{head}Authorization: Bearer {token}\r\n\r\n".encode()

    async with app.router.lifespan_context(app):
        for path in paths:  # the usual way first, for every token: what the process keeps
            protocol, _ = connection()
            for token in tokens:
                protocol.data_received(raw(path, token))
                for _ in range(5000):
                    if protocol.cycle is None or protocol.cycle.response_complete:
                        break
                    await asyncio.sleep(0.001)
        for number in range(1, rounds + 1):
            for path in paths:
                batch = [raw(path, token) for token in tokens]
                protocol, transport = connection()  # a fresh one: no keep-alive timeout
                started = time.process_time()
                for index in range(requests):
                    protocol.data_received(batch[index % len(batch)])
                spent = time.process_time() - started
                size = transport.bytes / max(transport.writes, 1)
                print(
                    f"round {number}  {path:45} {spent / requests * 1e6:7.2f} µs CPU/request"
                    f"  ({transport.writes:,} of {requests:,} answered at once, {size:,.0f} B)",
                    flush=True,
                )
                await asyncio.sleep(0.05)  # what the answers left for the loop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", default=PATHS)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (KEPT / "tokens.txt").exists():
        sys.exit(f"no seeded community in {KEPT}: run bench/compare.py --keep first")
    import uvloop

    with tempfile.TemporaryDirectory(prefix="at-once-") as directory:
        _environment(Path(directory))
        uvloop.run(_measure(args.paths, args.requests, args.rounds))


if __name__ == "__main__":
    main()
