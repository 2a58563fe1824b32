"""A real PgBouncer (the Debian package's `pgbouncer`) in transaction pooling mode, on a
spare loopback port in front of a PostgreSQL server, for the test run's app connections.
Run as root, it is started with `-u postgres` (PgBouncer refuses to run as root), its
files in a directory that user can read."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

STARTUP_SECONDS = 30.0


def binary() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    assert found, "pgbouncer must be installed (Debian: apt-get install -y pgbouncer)"
    return found


class PgBouncerProcess:
    """`pgbouncer` on `port`, every database name passed to `server_host:server_port`, in
    transaction pooling mode with trust authentication (the user must be in the userlist:
    `postgres`)."""

    def __init__(self, port: int, server_host: str, server_port: int, *, pool_size: int = 20):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="connecthub-pgbouncer-"))
        self.ini = self.root / "pgbouncer.ini"
        self.log = self.root / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None
        (self.root / "userlist.txt").write_text('"postgres" ""\n')
        self.ini.write_text(
            "[databases]\n"
            f"* = host={server_host} port={server_port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.root / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 1000\n"
            "admin_users = postgres\n"
            f"logfile = {self.log}\n"
            "ignore_startup_parameters = extra_float_digits\n"
            # Server connections the test harness ended (a database emptied between tests)
            # are checked before they are lent again.
            "server_check_delay = 0\n"
        )
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, *self.root.iterdir()):
                os.chown(path, owner.pw_uid, owner.pw_gid)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        command = [binary()]
        if os.geteuid() == 0:
            command += ["-u", "postgres"]
        command.append(str(self.ini))
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = self.log.read_text() if self.log.exists() else ""
        raise AssertionError(f"pgbouncer did not listen on {self.port}:\n{log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)
