"""A redis-server of the test's own, which it may stop and start at will, so the shared one
is never stopped."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path


class RedisProcess:
    """`redis-server --save "" --appendonly no` on `port`: nothing is persisted unless the
    test asks for it (`shutdown_saving`), and then into `directory`; with `appendonly`,
    every write goes to an append-only file in `directory` (fsync every second), which a
    restart after `kill` loads, as a Redis with AOF persistence comes back."""

    def __init__(self, port: int, directory: Path | None = None, *, appendonly: bool = False):
        assert directory is not None or not appendonly, "appendonly needs a directory"
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.directory = directory
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server must be on PATH"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "yes" if self.appendonly else "no"]
        if self.directory is not None:
            command += ["--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            assert self.process.poll() is None, "redis-server exited"
            time.sleep(0.05)
        raise AssertionError("redis-server did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def kill(self) -> None:
        """kill -9: whatever it held is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=15)
        self.process = None

    def snapshot(self) -> None:
        """SAVE: the data as it is now goes to `directory`, and the next `start` loads it
        (after a `kill`, whatever changed since is lost: a stale snapshot)."""
        from redis import Redis  # imported where used: see tests/engines.py

        assert self.directory is not None
        client = Redis(port=self.port, socket_timeout=10)
        try:
            client.save()
        finally:
            client.close()

    def shutdown_saving(self) -> None:
        """SHUTDOWN SAVE: the data is written to `directory` and loaded by the next
        `start`, as a Redis with persistence would come back."""
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        assert self.process is not None
        assert self.directory is not None
        client = Redis(port=self.port, socket_timeout=10)
        with contextlib.suppress(RedisConnectionError):  # the server hangs up as it exits
            client.shutdown(save=True)
        client.close()
        self.process.wait(timeout=15)
        self.process = None
