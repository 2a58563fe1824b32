"""The servers bench/compare measures: how each is started, stopped, and given the
community's accounts (tokens). Every server listens on 127.0.0.1 only and runs in its own
process group, so stopping it ends its children too.

- `distributed`: ConnectHub on PostgreSQL + Redis, `connecthub serve --workers 2` and one
  `connecthub worker` (the jobs: fan-out) on the same cores;
- `embedded`: ConnectHub on SQLite, one `connecthub serve` (jobs in the process);
- `bare`: a bare ASGI app under the same uvicorn settings and worker count (bare_app.py);
- `gotosocial`: a GoToSocial binary (build_gotosocial.sh) on its own PostgreSQL database,
  its rate limiting and throttling off, stub `ffmpeg` / `ffprobe` on its PATH.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx

PG_SERVER = os.environ.get("COMPARE_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("COMPARE_REDIS", "redis://127.0.0.1:6379/0")
PASSWORD = "bench-compare-Pa55word-long-enough"  # loopback bench accounts only
SCOPES = "read write"  # write covers write:follows (follow is deprecated)
OOB = "urn:ietf:wg:oauth:2.0:oob"
WEB_WORKERS = 2
# Rate limits with room: every bucket far above what a run can reach, so no 429 pollutes
# the figures while the limiter's own cost (a Redis round trip) stays in them.
ROOMY_LIMIT = "1000000000/300"
CONNECTHUB_SETTINGS = {
    "ENVIRONMENT": "development",
    "LOG_LEVEL": "warning",
    "MAX_REQUESTS_IN_FLIGHT": "0",  # admission control off: no 503 under 64 connections
    **{
        f"RATE_LIMIT_{bucket}": ROOMY_LIMIT
        for bucket in ("IP", "TOKEN", "ACCOUNT", "SIGN_UP", "SIGN_IN_IP", "SIGN_IN_EMAIL")
    },
}


async def _pg_admin(statement: str) -> None:
    connection = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _pg_database_exists(name: str) -> bool:
    connection = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        return bool(await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await connection.close()


def recreate_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))


def drop_database(name: str) -> None:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def database_exists(name: str) -> bool:
    return asyncio.run(_pg_database_exists(name))


async def _drop_redis_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_error:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:500]}")


@dataclass
class Target:
    """A server under test. `state_dir` holds its data, logs and seeded tokens."""

    name: ClassVar[str]
    ready_path: ClassVar[str] = "/api/v1/instance"
    seeded: ClassVar[bool] = True  # the community is created on it

    port: int
    state_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_file(self) -> Path:
        return self.state_dir / "tokens.txt"

    @property
    def marker(self) -> Path:
        return self.state_dir / "seeded.json"

    def roots(self) -> list[int]:
        return [process.pid for process in self.processes]

    # -- lifecycle --------------------------------------------------------------------------

    def reset(self) -> None:
        """Fresh storage for a new community (`--keep` skips this when one is seeded)."""
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state_dir.mkdir(parents=True)

    def start(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        """Forgets the community: the marker, and what `reset` made outside state_dir
        (databases, Redis keys)."""
        self.marker.unlink(missing_ok=True)

    def spawn(self, label: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.state_dir / f"{label}.log").open("ab")
        process = subprocess.Popen(
            command,
            env=env,
            cwd=self.state_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)

    def wait_ready(self, timeout: float = 600) -> None:  # a first start migrates
        deadline = time.monotonic() + timeout
        while True:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited ({process.returncode}):\n{self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + self.ready_path, timeout=2).is_success:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not get ready:\n{self.logs()}")
            time.sleep(0.3)

    def logs(self, chars: int = 3000) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}"
            for log in sorted(self.state_dir.glob("*.log"))
        )

    def pause(self) -> None:
        """Stop every process of this target where it is (SIGSTOP to each process group), so
        its background work takes no core from the target being measured."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signum)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()

    # -- the community's accounts -----------------------------------------------------------

    async def create_accounts(self, usernames: list[str]) -> list[str]:
        """One access token (read write) per new account, in order."""
        raise NotImplementedError


# --- ConnectHub ------------------------------------------------------------------------------


def connecthub_env(target: Target, **settings: str) -> dict[str, str]:
    own = {"DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "SMTP_URL", "WEB_CONCURRENCY"}
    env = {key: value for key, value in os.environ.items() if key not in own}
    env.update(CONNECTHUB_SETTINGS)
    env.update(
        LOCAL_DOMAIN=f"127.0.0.1:{target.port}",
        MEDIA_STORAGE_URL=f"file://{target.state_dir}/media",
        OUTBOX_DIR=str(target.state_dir / "outbox"),
    )
    env.update(settings)
    return env


async def connecthub_sign_ups(base_url: str, usernames: list[str]) -> list[str]:
    """Mastodon's registration API: an app, its client-credentials token, then
    `POST /api/v1/accounts` per account, which answers with the account's token."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        app = await client.post(
            "/api/v1/apps",
            json={"client_name": "bench-compare", "redirect_uris": OOB, "scopes": SCOPES},
        )
        _raise_for(app, "POST /api/v1/apps")
        grant = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app.json()["client_id"],
                "client_secret": app.json()["client_secret"],
                "scope": SCOPES,
            },
        )
        _raise_for(grant, "client_credentials grant")
        app_auth = {"Authorization": f"Bearer {grant.json()['access_token']}"}
        gate = asyncio.Semaphore(4)

        async def sign_up(username: str) -> str:
            async with gate:
                response = await client.post(
                    "/api/v1/accounts",
                    headers=app_auth,
                    json={
                        "username": username,
                        "email": f"{username}@bench.example",
                        "password": PASSWORD,
                        "agreement": True,
                        "date_of_birth": "1990-01-01",
                        "locale": "en",
                    },
                )
                _raise_for(response, f"sign-up of {username}")
                return str(response.json()["access_token"])

        return list(await asyncio.gather(*(sign_up(name) for name in usernames)))


@dataclass
class Distributed(Target):
    name: ClassVar[str] = "distributed"
    ready_path: ClassVar[str] = "/health/ready"
    database: ClassVar[str] = "cmp_distributed"
    redis_prefix: ClassVar[str] = "cmp_distributed:"

    def env(self) -> dict[str, str]:
        return connecthub_env(
            self,
            DATABASE_URL=f"{PG_SERVER}/{self.database}",
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=self.redis_prefix,
            # 8 connections per server process: 16 in all, as GoToSocial opens on 2 cores
            # (db-max-open-conns-multiplier 8 x GOMAXPROCS), and room left on a PostgreSQL
            # server others share (max_connections 100 here; 32 + overflow per process ran
            # it out: "too many clients already" as 503s).
            DATABASE_POOL_SIZE="8",
            DATABASE_MAX_OVERFLOW="0",
        )

    def reset(self) -> None:
        super().reset()
        recreate_database(self.database)
        asyncio.run(_drop_redis_prefix(self.redis_prefix))

    def drop(self) -> None:
        super().drop()
        drop_database(self.database)
        asyncio.run(_drop_redis_prefix(self.redis_prefix))

    def start(self) -> None:
        env = self.env()
        connecthub = [sys.executable, "-m", "connecthub"]
        subprocess.run(
            [*connecthub, "migrate"],
            env=env,
            cwd=self.state_dir,
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.spawn(
            "serve",
            [*connecthub, "serve", "--port", str(self.port), "--workers", str(WEB_WORKERS)],
            env,
        )
        self.spawn("worker", [*connecthub, "worker"], env)
        self.wait_ready()

    async def create_accounts(self, usernames: list[str]) -> list[str]:
        return await connecthub_sign_ups(self.base_url, usernames)


@dataclass
class Embedded(Target):
    name: ClassVar[str] = "embedded"
    ready_path: ClassVar[str] = "/health/ready"

    def start(self) -> None:
        env = connecthub_env(self, DATABASE_URL=f"sqlite:///{self.state_dir}/connecthub.db")
        self.spawn(
            "serve", [sys.executable, "-m", "connecthub", "serve", "--port", str(self.port)], env
        )
        self.wait_ready()

    async def create_accounts(self, usernames: list[str]) -> list[str]:
        return await connecthub_sign_ups(self.base_url, usernames)


@dataclass
class Bare(Target):
    name: ClassVar[str] = "bare"
    ready_path: ClassVar[str] = "/"
    seeded: ClassVar[bool] = False

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
            ),
            "LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "compare.bare_app", "--port", str(self.port)]
        self.spawn("serve", [*command, "--workers", str(WEB_WORKERS)], env)
        self.wait_ready()

    async def create_accounts(self, usernames: list[str]) -> list[str]:
        return [f"bare-token-{name}" for name in usernames]  # it reads no header


# --- GoToSocial ------------------------------------------------------------------------------


@dataclass
class GoToSocial(Target):
    name: ClassVar[str] = "gotosocial"
    ready_path: ClassVar[str] = "/readyz"
    database: ClassVar[str] = "cmp_gotosocial"

    binary: Path = Path("gotosocial")
    web_dir: Path | None = None  # its templates (sign-in pages); default: beside the binary

    @property
    def config_file(self) -> Path:
        return self.state_dir / "config.yaml"

    def reset(self) -> None:
        super().reset()
        recreate_database(self.database)

    def drop(self) -> None:
        super().drop()
        drop_database(self.database)

    def env(self) -> dict[str, str]:
        # The workload uploads no media: `ffmpeg` / `ffprobe` need only exist (a build with
        # `nowasmffmpeg` looks them up on PATH at start).
        stubs = self.state_dir / "stub-bin"
        stubs.mkdir(exist_ok=True)
        for tool in ("ffmpeg", "ffprobe"):
            stub = stubs / tool
            stub.write_text("#!/bin/sh\necho 'stub: bench/compare uploads no media' >&2\nexit 1\n")
            stub.chmod(0o755)
        return {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ.get('PATH', '')}"}

    def write_config(self) -> None:
        web = self.web_dir or self.binary.parent / "web"
        config = {
            "log-level": "warn",
            "log-client-ip": False,
            "host": "localhost",
            "protocol": "http",
            "bind-address": "127.0.0.1",
            "port": self.port,
            "db-type": "postgres",
            "db-postgres-connection-string": (
                f"{PG_SERVER.replace('postgresql://', 'postgres://')}/{self.database}"
                "?sslmode=disable"
            ),
            "storage-backend": "local",
            "storage-local-base-path": str(self.state_dir / "storage"),
            "web-template-base-dir": f"{web}/template/",
            "web-asset-base-dir": f"{web}/assets/",
            "letsencrypt-enabled": False,
            "accounts-registration-open": False,
            "instance-languages": ["en"],
            # Rate limiting and request throttling off (the counterpart of ConnectHub's
            # roomy limits and MAX_REQUESTS_IN_FLIGHT=0).
            "advanced-rate-limit-requests": 0,
            "advanced-throttling-multiplier": 0,
        }
        (self.state_dir / "storage").mkdir(exist_ok=True)
        self.config_file.write_text(json.dumps(config, indent=2) + "\n")  # JSON is YAML

    def start(self) -> None:
        self.write_config()
        command = [str(self.binary), "--config-path", str(self.config_file), "server", "start"]
        self.spawn("serve", command, self.env())
        self.wait_ready()

    def admin(self, *arguments: str) -> None:
        command = [str(self.binary), "--config-path", str(self.config_file), "admin", *arguments]
        done = subprocess.run(
            command, env=self.env(), cwd=self.state_dir, capture_output=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(arguments)}: {done.stdout!r} {done.stderr!r}")

    async def create_accounts(self, usernames: list[str]) -> list[str]:
        """Its admin CLI creates and confirms each account; tokens come from its OAuth
        authorization-code flow (it has no password grant): sign in on its page, authorise,
        read the out-of-band code, exchange it."""
        gate = asyncio.Semaphore(3)

        async def create(username: str) -> None:
            async with gate:
                await asyncio.to_thread(
                    self.admin,
                    "account",
                    "create",
                    "--username",
                    username,
                    "--email",
                    f"{username}@bench.example",
                    "--password",
                    PASSWORD,
                )
                await asyncio.to_thread(self.admin, "account", "confirm", "--username", username)

        await asyncio.gather(*(create(name) for name in usernames))
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as client:
            app = await client.post(
                "/api/v1/apps",
                json={"client_name": "bench-compare", "redirect_uris": OOB, "scopes": SCOPES},
            )
            _raise_for(app, "POST /api/v1/apps")
            client_id, secret = app.json()["client_id"], app.json()["client_secret"]

            async def token(username: str) -> str:
                async with gate:
                    raw = await _gotosocial_token(client, client_id, secret, username)
                    # Its accounts start locked (a follow would be a request); ConnectHub's
                    # and Mastodon's start open.
                    unlocked = await client.patch(
                        "/api/v1/accounts/update_credentials",
                        headers={"Authorization": f"Bearer {raw}"},
                        json={"locked": False},
                    )
                    _raise_for(unlocked, f"unlocking {username}")
                    return raw

            return list(await asyncio.gather(*(token(name) for name in usernames)))


async def _gotosocial_token(
    client: httpx.AsyncClient, client_id: str, client_secret: str, username: str
) -> str:
    cookies: dict[str, str] = {}

    def keep(response: httpx.Response) -> httpx.Response:
        # Its cookies name the configured host as their domain; carry them by hand.
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def sent() -> dict[str, str]:
        return {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Accept": "text/html",
        }

    keep(
        await client.get(
            "/oauth/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": OOB,
                "response_type": "code",
                "scope": SCOPES,
            },
            headers=sent(),
        )
    )
    signed_in = keep(
        await client.post(
            "/auth/sign_in",
            data={"username": f"{username}@bench.example", "password": PASSWORD},
            headers=sent(),
        )
    )
    if signed_in.status_code not in (302, 303):
        raise RuntimeError(f"sign-in of {username}: {signed_in.status_code} {signed_in.text[:300]}")
    authorised = keep(await client.post("/oauth/authorize", headers=sent()))
    location = authorised.headers.get("location", "")
    codes = parse_qs(urlsplit(location).query).get("code")
    if not codes:
        match = re.search(r"code=([\w-]+)", authorised.text)
        if match is None:
            raise RuntimeError(
                f"no code for {username}: {authorised.status_code} {location} "
                f"{authorised.text[:300]}"
            )
        codes = [match.group(1)]
    exchanged = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": codes[0],
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": OOB,
        },
    )
    _raise_for(exchanged, f"code exchange for {username}")
    return str(exchanged.json()["access_token"])


TARGETS: dict[str, type[Target]] = {
    kind.name: kind for kind in (Distributed, Embedded, Bare, GoToSocial)
}
