"""A PostgreSQL server of the test's own, made with the installed binaries (`initdb`,
`pg_ctl`) on a spare loopback port, which the test may stop and start at will; the shared
server of the run is never touched. Run as root (containers), the cluster belongs to the
`postgres` user, as PostgreSQL refuses to run as root."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

STARTUP_SECONDS = 60.0


def _binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent  # pg_ctl may be a link; its siblings are not
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    assert candidates, "PostgreSQL server binaries (initdb, pg_ctl) must be installed"
    return Path(candidates[-1]).parent


class PostgresProcess:
    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = _binaries()
        self.root = Path(tempfile.mkdtemp(prefix="connecthub-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._owner = pwd.getpwnam("postgres")
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._owner is not None else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, timeout=STARTUP_SECONDS
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.root} -c fsync=off"
        )
        pg_ctl = str(self.bin / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.05)
        raise AssertionError(f"PostgreSQL did not listen:\n{self.log.read_text()}")

    def stop(self) -> None:
        """A fast shutdown: sessions are ended, as when an operator or a failover stops it."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        shutil.rmtree(self.root, ignore_errors=True)


class StreamingReplica(PostgresProcess):
    """A hot standby of the server at `source_host:source_port`: its data directory is a
    `pg_basebackup -R` (streaming replication, `standby.signal` and `primary_conninfo`
    written by it), started on its own port. The source must allow replication
    connections from 127.0.0.1 (`allow_replication`)."""

    def __init__(self, port: int, source_host: str, source_port: int) -> None:
        super().__init__(port)
        self.source = (source_host, source_port)

    def init(self) -> None:
        # A database created or dropped on the source meanwhile (other test workers do so
        # all the time) can fail a base backup: it is taken again.
        for attempt in range(4):
            try:
                self._base_backup()
                break
            except subprocess.CalledProcessError as exc:
                shutil.rmtree(self.data, ignore_errors=True)
                if attempt == 3:
                    raise AssertionError(f"pg_basebackup failed: {exc.stderr!r}") from exc
                time.sleep(1)
        self._configure()

    def _base_backup(self) -> None:
        host, port = self.source
        self._run(
            str(self.bin / "pg_basebackup"),
            "-R",
            "-D",
            str(self.data),
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )

    def _configure(self) -> None:
        # A Debian cluster keeps its configuration beside, not in, the data directory.
        for name, text in (
            ("postgresql.conf", "hot_standby = on\n"),
            ("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"),
            ("pg_ident.conf", ""),
        ):
            path = self.data / name
            if not path.exists():
                path.write_text(text)
                if self._owner is not None:
                    os.chown(path, self._owner.pw_uid, self._owner.pw_gid)


REPLICATION_RULE = "host replication all 127.0.0.1/32 trust"


def allow_replication(admin_dsn: str) -> None:
    """The machine's server accepts replication connections from 127.0.0.1 (trust, as
    its other loopback rules): the rule is added to its pg_hba.conf once, then reloaded."""
    hba = Path(_psql_value(admin_dsn, "SHOW hba_file"))
    lines = [line.strip() for line in hba.read_text().splitlines()]
    if REPLICATION_RULE not in lines:
        with hba.open("a") as handle:
            handle.write("\n# streaming replicas on loopback (ConnectHub tests)\n")
            handle.write(REPLICATION_RULE + "\n")
        _psql_value(admin_dsn, "SELECT pg_reload_conf()")


def _psql_value(dsn: str, query: str) -> str:
    done = subprocess.run(
        ["psql", dsn, "-At", "-c", query], check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()
