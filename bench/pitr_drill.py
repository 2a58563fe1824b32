"""The timed point-in-time recovery drill (issue 18; docs/backups.md; figures in
docs/benchmarks.md). Loopback only, bounded in time and size, everything it starts is
stopped and removed at the end (also on failure).

1. A throw-away PostgreSQL 15 cluster (initdb, as user postgres) on `--pg-port`, archiving
   every WAL segment to a pgBackRest repository on a local path (`archive_timeout` small).
2. ConnectHub migrated into it and seeded (accounts with tokens, statuses: bulk INSERTs);
   `connecthub serve` on `--http-port` against it.
3. A write load through the API (`POST /api/v1/statuses`) that keeps a ledger of every
   write: its id, when it was sent and when its answer (the acknowledgement) arrived.
4. A full backup, then an incremental one, both taken while the load writes.
5. The "disaster": its moment is recorded, then statuses are deleted by mistake; the load
   keeps writing a little longer, then ConnectHub and the cluster are stopped.
6. Recovery, timed (the RTO): `pgbackrest restore --type=time --target=<the moment>` into a
   fresh data directory, PostgreSQL started on it (replay, promotion), `connecthub serve`
   started on the restored data, until its `/health/ready` answers 200.
7. The ledger checked against the restored data: every write acknowledged before the target
   is there, none sent after it is, and the rows deleted by mistake are back. Writes in
   flight at the target (sent before, acknowledged after) may be either.

Exit status 1 when a check fails. As root, PostgreSQL and pgBackRest run as `postgres`.

    .venv/bin/python bench/pitr_drill.py            # the drill (100,000 statuses)
    .venv/bin/python bench/pitr_drill.py --short    # the CI version (.ci/run)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PG_BIN = Path("/usr/lib/postgresql/15/bin")
STANZA = "drill"
ROOT = Path(__file__).resolve().parent.parent


def _connecthub() -> list[str]:
    return [sys.executable, "-m", "connecthub"]


@dataclass
class Drill:
    args: argparse.Namespace
    work: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    clusters: list[Path] = field(default_factory=list)

    @property
    def as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def config(self) -> Path:
        return self.work / "pgbackrest.conf"

    def run(self, *command: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [*self.as_postgres, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def pgbackrest(self, *command: str, timeout: float = 600) -> str:
        return self.run(
            "pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *command,
            timeout=timeout,
        )  # fmt: skip

    def psql(self, port: int, sql: str, database: str = "connecthub") -> str:
        return self.run(
            str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-c", sql,
        ).strip()  # fmt: skip

    # --- the cluster ------------------------------------------------------------------------

    def prepare(self) -> None:
        for name in ("pgdata", "repo", "log", "lock", "spool", "socket"):
            (self.work / name).mkdir(mode=0o700)
        self.config.write_text(
            "[global]\n"
            f"repo1-path={self.work / 'repo'}\n"
            "repo1-retention-full=2\n"
            f"log-path={self.work / 'log'}\n"
            f"lock-path={self.work / 'lock'}\n"
            f"spool-path={self.work / 'spool'}\n"
            "log-level-console=warn\n"
            "log-level-file=info\n"
            "start-fast=y\n"
            "compress-type=lz4\n"
            "process-max=2\n"
            f"\n[{STANZA}]\n"
            f"pg1-path={self.work / 'pgdata'}\n"
            f"pg1-port={self.args.pg_port}\n"
            f"pg1-socket-path={self.work / 'socket'}\n"
        )
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            for path in [self.work, *self.work.rglob("*")]:
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
        self.run(
            str(PG_BIN / "initdb"), "-D", str(self.work / "pgdata"), "-U", "postgres",
            "--auth=trust", "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        with (self.work / "pgdata" / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# the PITR drill\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.args.pg_port}\n"
                f"unix_socket_directories = '{self.work / 'socket'}'\n"
                "wal_level = replica\n"
                "archive_mode = on\n"
                f"archive_command = 'pgbackrest --config={self.config} --stanza={STANZA} "
                "archive-push %p'\n"
                f"archive_timeout = {self.args.archive_timeout}\n"
                "max_wal_size = 1GB\n"
                "shared_buffers = 128MB\n"
            )

    def start_cluster(self, data: Path, port: int) -> None:
        self.clusters.append(data)
        self.run(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.work / "log" / f"{port}.log"),
            "-o", f"-p {port}", "-w", "-t", "600", "start",
        )  # fmt: skip

    def stop_cluster(self, data: Path) -> None:
        if data in self.clusters:
            self.clusters.remove(data)
            with contextlib.suppress(Exception):
                self.run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")

    # --- ConnectHub ---------------------------------------------------------------------------

    def environ(self, pg_port: int) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "REDIS_", "MEDIA_"))
        }
        env.update(
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{pg_port}/connecthub",
            MEDIA_STORAGE_URL=f"file://{self.work / 'media'}",
            OUTBOX_DIR=str(self.work / "outbox"),
            SECRET_KEY="pitr-drill-" + "x" * 40,
            LOG_LEVEL="warning",
            RATE_LIMIT_ENABLED="false",
            TRENDS_ENABLED="false",
            PREVIEW_CARDS_ENABLED="false",
        )
        return env

    def start_connecthub(self, pg_port: int, http_port: int) -> tuple[str, float]:
        """Starts `connecthub serve`; returns its URL and the wall time to /health/ready."""
        started = time.monotonic()
        env = self.environ(pg_port)
        env["LOCAL_DOMAIN"] = f"127.0.0.1:{http_port}"
        log = (self.work / "log" / f"connecthub-{http_port}.log").open("wb")
        process = subprocess.Popen(
            [*_connecthub(), "serve", "--port", str(http_port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.work,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"connecthub serve exited: see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    return url, time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError("connecthub serve did not become ready in 300 s")

    def stop_connecthub(self) -> None:
        while self.processes:
            process = self.processes.pop()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def cleanup(self) -> None:
        self.stop_connecthub()
        for data in list(self.clusters):
            self.stop_cluster(data)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


async def seed(database_url: str, accounts: int, statuses: int) -> list[str]:
    """Accounts with tokens and statuses, in bulk; returns the raw tokens."""
    from sqlalchemy import insert, text

    from connecthub.accounts.models import Account, OAuthToken, User
    from connecthub.clock import utcnow
    from connecthub.config import load_settings
    from connecthub.ids import new_id
    from connecthub.infra.db import Database
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from connecthub.statuses.models import Status

    db = Database(load_settings(database_url=database_url))
    now = utcnow()
    ids = [new_id() for _ in range(accounts)]
    secrets = [generate_secret() for _ in ids]
    rows: list[tuple[object, list[dict[str, object]]]] = [
        (
            Account,
            [
                {"id": i, "username": f"u{n}", "username_key": f"u{n}", "created_at": now}
                for n, i in enumerate(ids)
            ],
        ),
        (
            User,
            [
                {
                    "id": new_id(),
                    "account_id": i,
                    "email": f"u{n}@drill.example",
                    "email_key": f"u{n}@drill.example",
                    "password_hash": "!unusable",
                    "confirmed_at": now,
                }
                for n, i in enumerate(ids)
            ],
        ),
    ]
    tokens = []
    for account_id, secret in zip(ids, secrets, strict=True):
        token_id = new_id()
        tokens.append(
            {
                "id": token_id,
                "family_id": token_id,
                "token_hash": hash_secret(secret),
                "account_id": account_id,
                "scopes": "read write",
            }
        )
    rows.append((OAuthToken, tokens))
    try:
        async with db.transaction() as session:
            for table, batch in rows:
                for start in range(0, len(batch), 5000):
                    await session.execute(insert(table), batch[start : start + 5000])  # type: ignore[arg-type]
        rng = random.Random(18)
        for start in range(0, statuses, 10_000):
            batch = []
            for _ in range(min(10_000, statuses - start)):
                status_id = new_id()
                body = f"seeded status {status_id} " + "lorem ipsum " * rng.randint(1, 12)
                batch.append(
                    {
                        "id": status_id,
                        "account_id": rng.choice(ids),
                        "text": body,
                        "content": f"<p>{body}</p>",
                        "visibility": 0,
                        "created_at": now,
                        "conversation_id": status_id,
                    }
                )
            async with db.transaction() as session:
                await session.execute(insert(Status), batch)
        async with db.transaction() as session:
            await session.execute(
                text(
                    "UPDATE accounts SET statuses_count = s.n FROM (SELECT account_id, "
                    "count(*) n FROM statuses GROUP BY account_id) s "
                    "WHERE s.account_id = accounts.id"
                )
            )
    finally:
        await db.dispose()
    return secrets


@dataclass
class Entry:
    status_id: int
    sent_at: float
    acked_at: float


class Load:
    """`writers` threads posting statuses with random seeded tokens, one request at a
    time each; every acknowledged write goes into the ledger."""

    def __init__(self, url: str, tokens: list[str], writers: int) -> None:
        self.url = url
        self.tokens = tokens
        self.ledger: list[Entry] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(writers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _write(self, writer: int) -> None:
        rng = random.Random(writer)
        with httpx.Client(base_url=self.url, timeout=30) as client:
            number = 0
            while not self.stopping.is_set():
                number += 1
                token = rng.choice(self.tokens)
                sent = time.time()
                try:
                    response = client.post(
                        "/api/v1/statuses",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"status": f"drill write {writer}-{number}"},
                    )
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(0.1)
                    continue
                acked = time.time()
                if response.status_code != 200:
                    self.errors.append(f"{response.status_code} {response.text[:200]}")
                    continue
                with self.lock:
                    self.ledger.append(Entry(int(response.json()["id"]), sent, acked))


@contextlib.contextmanager
def step(name: str, timings: dict[str, float]) -> Iterator[None]:
    print(f"... {name}", flush=True)
    started = time.monotonic()
    yield
    timings[name] = time.monotonic() - started


def utc(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(sep=" ")


def drill(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="connecthub-pitr-"))
    run = Drill(args, work)
    timings: dict[str, float] = {}
    try:
        return _drill(run, timings)
    finally:
        run.cleanup()
        if args.keep:
            print(f"kept {work}")


def _drill(run: Drill, timings: dict[str, float]) -> int:
    args = run.args
    with step("cluster: initdb, archiving to pgBackRest, stanza-create", timings):
        run.prepare()
        run.start_cluster(run.work / "pgdata", args.pg_port)
        run.pgbackrest("stanza-create")
        run.pgbackrest("check")
        run.psql(args.pg_port, "CREATE DATABASE connecthub", database="postgres")
    database_url = run.environ(args.pg_port)["DATABASE_URL"]
    with step("connecthub migrate", timings):
        subprocess.run(
            [*_connecthub(), "migrate"], env=run.environ(args.pg_port), check=True, cwd=run.work
        )
    with step(f"seed {args.accounts} accounts, {args.statuses} statuses", timings):
        tokens = asyncio.run(seed(database_url, args.accounts, args.statuses))
    size = int(run.psql(args.pg_port, "SELECT pg_database_size('connecthub')"))
    url, _ = run.start_connecthub(args.pg_port, args.http_port)
    load = Load(url, tokens[: args.writers * 50], args.writers)
    load_started = time.monotonic()
    load.start()
    time.sleep(args.phase_seconds)
    with step("backup: full (the load keeps writing)", timings):
        run.pgbackrest("--type=full", "backup")
    time.sleep(args.phase_seconds)
    with step("backup: incremental (the load keeps writing)", timings):
        run.pgbackrest("--type=incr", "backup")
    time.sleep(args.phase_seconds)

    # The disaster: its moment is the recovery target; the mistake comes right after it.
    target = time.time()
    last_archived = run.psql(
        args.pg_port,
        "SELECT coalesce(extract(epoch FROM last_archived_time), 0) FROM pg_stat_archiver",
    )
    time.sleep(0.05)  # the mistake's commit is clearly after the target
    deleted = run.psql(
        args.pg_port,
        "WITH gone AS (DELETE FROM statuses WHERE id % 2 = 0 RETURNING id) "
        "SELECT count(*) FROM gone",
    )
    time.sleep(args.after_seconds)  # the load writes on: these writes must not come back
    load.stop()
    writes_seconds = time.monotonic() - load_started
    # Make sure the segment holding the target is archived (as an operator would with the
    # old primary still up), then abandon the old primary.
    segment = run.psql(args.pg_port, "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + 120
    while (
        run.psql(args.pg_port, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        < segment
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"WAL segment {segment} was not archived in 120 s")
        time.sleep(0.2)
    backups = run.pgbackrest("info")
    run.stop_connecthub()
    run.stop_cluster(run.work / "pgdata")

    restored = run.work / "restored"
    restored.mkdir(mode=0o700)
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(restored, postgres.pw_uid, postgres.pw_gid)
    recovery_started = time.monotonic()
    with step("restore: pgbackrest restore --type=time", timings):
        run.pgbackrest(
            f"--pg1-path={restored}",
            "--type=time",
            f"--target={utc(target + args.target_shift)}",
            "--target-action=promote",
            "--archive-mode=off",
            "restore",
        )
    with step("restore: PostgreSQL replays the WAL and is promoted", timings):
        run.start_cluster(restored, args.restored_pg_port)
        deadline = time.monotonic() + 600
        while run.psql(args.restored_pg_port, "SELECT pg_is_in_recovery()") != "f":
            if time.monotonic() > deadline:
                raise RuntimeError("the restored cluster was not promoted in 600 s")
            time.sleep(0.1)
    with step("restore: connecthub serve until /health/ready is 200", timings):
        restored_url, _ = run.start_connecthub(args.restored_pg_port, args.restored_http_port)
    rto = time.monotonic() - recovery_started

    # Ids are time-ordered: the load's statuses are the newest rows.
    first = min((entry.status_id for entry in load.ledger), default=0)
    present = {
        int(value)
        for value in run.psql(
            args.restored_pg_port, f"SELECT id FROM statuses WHERE id >= {first}"
        ).split()
    }
    before = [entry for entry in load.ledger if entry.acked_at < target]
    after = [entry for entry in load.ledger if entry.sent_at > target]
    in_flight = [entry for entry in load.ledger if entry.sent_at <= target <= entry.acked_at]
    lost = [entry for entry in before if entry.status_id not in present]
    resurrected = [entry for entry in after if entry.status_id in present]
    restored_rows = int(run.psql(args.restored_pg_port, "SELECT count(*) FROM statuses"))
    still_deleted = int(
        run.psql(
            args.restored_pg_port,
            "SELECT count(*) FROM statuses WHERE id % 2 = 0",
        )
    )
    last_acked = max(
        (entry.acked_at for entry in before if entry.status_id in present), default=target
    )
    served = httpx.get(f"{restored_url}/api/v1/timelines/public?local=true&limit=1", timeout=30)

    full = timings["backup: full (the load keeps writing)"]
    incremental = timings["backup: incremental (the load keeps writing)"]
    restore = timings["restore: pgbackrest restore --type=time"]
    replay = timings["restore: PostgreSQL replays the WAL and is promoted"]
    serving = timings["restore: connecthub serve until /health/ready is 200"]
    window = (
        max(entry.acked_at for entry in lost) - min(entry.acked_at for entry in lost)
        if lost
        else 0.0
    )
    rate = len(load.ledger) / writes_seconds
    report = [
        f"seeded size: {args.accounts} accounts, {args.statuses} statuses, "
        f"database {size / 1024 / 1024:.0f} MB after seeding",
        f"write load: {len(load.ledger)} acknowledged writes in {writes_seconds:.1f} s "
        f"({rate:.0f}/s, {args.writers} writers), {len(load.errors)} errors",
        f"backups (under the load): full {full:.1f} s, incremental {incremental:.1f} s",
        f"disaster at {utc(target)}: {deleted} statuses deleted by mistake",
        f"archive lag at the disaster: {target - float(last_archived):.1f} s since the last "
        f"archived segment (archive_timeout {args.archive_timeout} s): the most a lost "
        "primary would have lost",
        f"RPO: {len(lost)} of {len(before)} writes acknowledged before the target lost "
        f"(window {window:.3f} s); the last acknowledged write recovered "
        f"{target - last_acked:.3f} s before the target; {len(in_flight)} in flight at the "
        f"target, {len(after)} sent after it (none restored: {not resurrected})",
        f"RTO: {rto:.1f} s from restore to /health/ready 200 (pgbackrest restore "
        f"{restore:.1f} s, replay and promotion {replay:.1f} s, ConnectHub {serving:.1f} s)",
        f"restored: {restored_rows} statuses; {still_deleted} of the {deleted} deleted by "
        "mistake are back",
    ]
    print()
    for line in report:
        print(line)
    for line in backups.strip().splitlines():
        print(f"  {line}")

    failures = []
    if lost:
        failures.append(f"{len(lost)} acknowledged writes before the target are missing")
    if resurrected:
        failures.append(f"{len(resurrected)} writes sent after the target came back")
    # Rows committed between the target and the mistake were deleted too, and rightly
    # stay away: they were written after the target.
    if int(deleted) == 0 or still_deleted < int(deleted) - len(in_flight) - len(after):
        failures.append("the rows deleted by mistake are not back")
    if len(before) == 0 or len(after) == 0:
        failures.append("the load wrote nothing before or after the target")
    if served.status_code != 200:
        failures.append(f"the restored ConnectHub answered {served.status_code}")
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        print("drill passed: every write acknowledged before the target is there, none after")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI version: small, quick")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument(
        "--phase-seconds",
        type=float,
        default=10.0,
        help="seconds of load before the full backup, between the backups, and before the disaster",
    )
    parser.add_argument("--after-seconds", type=float, default=5.0)
    parser.add_argument("--archive-timeout", type=int, default=10)
    parser.add_argument("--pg-port", type=int, default=5450)
    parser.add_argument("--restored-pg-port", type=int, default=5451)
    parser.add_argument("--http-port", type=int, default=8120)
    parser.add_argument("--restored-http-port", type=int, default=8121)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--target-shift",
        type=float,
        default=0.0,
        help="restore this many seconds after the disaster moment (negative: before it) "
        "while the ledger is still checked against the moment: checks that the check fails",
    )
    args = parser.parse_args()
    if args.short:
        args.accounts, args.statuses = min(args.accounts, 50), min(args.statuses, 2000)
        args.phase_seconds, args.after_seconds = min(args.phase_seconds, 2.0), 2.0
        args.archive_timeout = min(args.archive_timeout, 5)
    sys.exit(drill(args))


if __name__ == "__main__":
    main()
