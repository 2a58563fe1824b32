"""The ledger: every post a client was told succeeded reaches every follower's home, once,
whatever crashes in between (issue 25; docs/adr/0007-transactional-outbox.md,
docs/adr/0008-home-feed-repair.md).

Real processes on loopback: `connecthub serve --workers 2` and `connecthub worker`, on the
run's PostgreSQL and a redis-server of the test's own (`own_redis`; the shared one is never
touched), which they reach through a TCP proxy the test can cut. Authors post continuously
from several clients (a failed post is sent again with its `Idempotency-Key`, as a client
would), followers read their homes, and meanwhile the test, one fault after the other:

1. kills -9 Redis and starts it again empty (no persistence);
2. snapshots Redis, lets posts fan out into warm feeds for two seconds, kills -9 Redis and
   starts it from that snapshot: feeds and queue come back seconds stale;
3. kills -9 the job worker, then starts another;
4. sends a burst of posts and kills -9 one server worker process while they run (uvicorn
   starts a new one; the clients send again what got no answer);
5. cuts the link to Redis under a burst of posts (a partition: Redis keeps its data and its
   feeds stay warm), until posts committed meanwhile could not queue their jobs (up to four
   tries).

The Redis restarts come first: a restart makes every feed rebuild from the database, which
would also repair what a later fault lost, and each later fault must be survived on its own.

Every acknowledged post (2xx) goes in the ledger; a post whose every attempt failed (5xx,
connection error) may or may not exist. Then, within CONVERGENCE_SECONDS after the last
post (a deadline for convergence, never a performance figure), every acknowledged post is in
the home timeline of its author and of every follower, read through the API page by page;
no home holds a status twice; no notification is doubled and every acknowledged mention
notified once; the database holds each acknowledged post exactly once and no post other than
those the clients sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connecthub.accounts import service as accounts
from connecthub.infra.engines import Engines
from connecthub.oauth.tokens import issue_token
from connecthub.statuses.models import Status
from tests import conftest
from tests.conftest import LiveServer, free_port, start_connecthub, stop_process
from tests.engines import postgres_server_url
from tests.support import probe
from tests.support.forked_command import ForkedCommand
from tests.support.redis_server import RedisProcess
from tests.support.server_processes import server_processes
from tests.support.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        postgres_server_url() is None, reason="the ledger runs on PostgreSQL (TEST_DATABASE_URL)"
    ),
]

AUTHORS = 3
FOLLOWERS = 4
POST_PAUSE_SECONDS = 0.1  # between one author's posts
READ_PAUSE_SECONDS = 0.3  # between a follower's reads of home (keeps feeds warm)
BURST = 8  # posts sent at once just before a server worker is killed or Redis is cut off
BURST_LEAD_SECONDS = 0.04  # how long before
CUT_LEADS_SECONDS = (0.04, 0.1, 0.02, 0.06)  # the same, for each try at cutting Redis off
RELAYS_CUT_OFF = 2  # Redis is cut off again until this many committed posts could not relay
CUT_SECONDS = 1.5  # Redis stays cut off until a committed post could not relay, or this long
ATTEMPTS = 4  # a post is sent this many times (same Idempotency-Key) before it is given up
CONVERGENCE_SECONDS = 30.0
START_SECONDS = 120.0  # the fork server imports the app first, on a busy machine
PAGE = 40  # Mastodon's largest home page


@dataclass
class Account:
    id: int
    username: str
    token: str


@dataclass
class Ledger:
    acknowledged: dict[str, str] = field(default_factory=dict)  # text -> status id
    failed: set[str] = field(default_factory=set)  # every attempt failed
    mentions: dict[str, int] = field(default_factory=dict)  # text -> mentioned account id
    outcomes: Counter[str] = field(default_factory=Counter)  # each attempt's answer


# --- processes ---------------------------------------------------------------------------


class Cluster:
    """`connecthub serve --workers 2` and `connecthub worker` on the test's engines."""

    def __init__(self, env: conftest.TestEnv, redis_url: str) -> None:
        self.env = env
        self.environ = env.environ(
            REDIS_URL=redis_url,
            JOBS_IN_SERVER="false",
            # A killed worker's jobs return within seconds; rows a crash left in the outbox
            # are relayed after one second.
            JOBS_VISIBILITY_TIMEOUT_SECONDS="3",
            JOBS_OUTBOX_RELAY_AFTER_SECONDS="1",
            JOBS_RETRY_BASE_SECONDS="0.5",
            PYTHONUNBUFFERED="1",
        )
        port = free_port()
        self.environ["LOCAL_DOMAIN"] = f"127.0.0.1:{port}"
        self.server = self._start_server(port)
        self.workers: list[ForkedCommand] = []
        self.start_worker()

    def _start_server(self, port: int) -> LiveServer:
        log_path = self.env.workdir / "server.log"
        process = start_connecthub(
            "serve", "--port", str(port), "--workers", "2", env=self.environ, output=log_path
        )
        return LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)

    def start_worker(self) -> None:
        self.workers.append(
            start_connecthub(
                "worker", "--concurrency", "4",
                env=self.environ, output=self.env.workdir / "worker.log",
            )
        )  # fmt: skip

    def kill_worker(self) -> None:
        worker = self.workers[-1]
        worker.kill()
        worker.wait(timeout=15)

    def server_workers(self) -> list[int]:
        return sorted(server_processes(self.server.process.pid))

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        async with httpx.AsyncClient(
            base_url=self.server.url, timeout=2, verify=probe.ssl_context()
        ) as client:
            while time.monotonic() < deadline:
                assert self.server.process.poll() is None, self.logs()
                if len(self.server_workers()) == 2:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get("/health/ready")).status_code == 200:
                            return
                await asyncio.sleep(0.2)
        raise AssertionError(f"the server did not become ready:\n{self.logs()}")

    def count_in_logs(self, event: str) -> int:
        path = self.env.workdir / "server.log"
        return path.read_text(errors="replace").count(f'"event": "{event}"')

    def logs(self) -> str:
        parts = []
        for name in ("server.log", "worker.log"):
            path = self.env.workdir / name
            if path.exists():
                parts.append(f"--- {name} (end)\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        for worker in self.workers:
            stop_process(worker)
        stop_process(self.server.process)


@contextlib.asynccontextmanager
async def cluster(env: conftest.TestEnv, redis_url: str) -> AsyncIterator[Cluster]:
    started = Cluster(env, redis_url)
    try:
        yield started
    finally:
        # Off the loop: the processes' way to Redis (the proxy) runs on it while they stop.
        await asyncio.to_thread(started.stop)


@contextlib.asynccontextmanager
async def proxy_to(redis: RedisProcess) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(redis.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


# --- accounts ----------------------------------------------------------------------------


async def make_accounts(
    env: conftest.TestEnv, redis_url: str
) -> tuple[list[Account], list[Account]]:
    """Authors and followers, each a confirmed user with a token (rows through the real
    services, as tests/factories.py makes them)."""
    engines = Engines.from_settings(env.settings(redis_url=redis_url, jobs_in_server=False))
    await engines.start()
    made: list[Account] = []
    try:
        names = [f"author{n}" for n in range(AUTHORS)] + [f"reader{n}" for n in range(FOLLOWERS)]
        async with engines.db.transaction() as session:
            for name in names:
                account, _user = await accounts.create_user(
                    session, username=name, email=f"{name}@example.com", password="x" * 16
                )
                issued = await issue_token(
                    session,
                    account_id=account.id,
                    application_id=None,
                    scopes=frozenset({"read", "write", "follow"}),
                )
                made.append(Account(account.id, name, issued.access_token))
    finally:
        await engines.stop()
    return made[:AUTHORS], made[AUTHORS:]


def auth(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


async def follow_everyone(
    client: httpx.AsyncClient, authors: list[Account], followers: list[Account]
) -> None:
    """Every follower follows every author through the API, with new-post notifications
    on (one more job per post, whose duplicates the ledger looks for)."""
    for follower, author in itertools.product(followers, authors):
        response = await client.post(
            f"/api/v1/accounts/{author.id}/follow", json={"notify": True}, headers=auth(follower)
        )
        assert response.status_code == 200, response.text
        assert response.json()["following"] is True


# --- load --------------------------------------------------------------------------------


def fresh_connections(url: str) -> httpx.AsyncClient:
    """A client that opens a connection per request, so requests spread over both server
    workers (the kernel hands each new connection to one of them)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(base_url=url, timeout=8, limits=limits, verify=probe.ssl_context())


async def post_until(
    url: str, author: Account, followers: list[Account], ledger: Ledger, stop: asyncio.Event
) -> None:
    async with fresh_connections(url) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            text = f"ledger {author.username} {n}"
            mentioned = followers[n % len(followers)] if n % 4 == 0 else None
            if mentioned is not None:
                text += f" @{mentioned.username}"
                ledger.mentions[text] = mentioned.id
            await post_one(client, author, text, ledger)
            await asyncio.sleep(POST_PAUSE_SECONDS)


async def post_one(client: httpx.AsyncClient, author: Account, text: str, ledger: Ledger) -> None:
    """Post `text`, sending it again (same `Idempotency-Key`) after a failure; record the
    answer in the ledger."""
    headers = {**auth(author), "Idempotency-Key": f"ledger-{text}"}
    for attempt in range(ATTEMPTS):
        outcome = await send(client, text, headers)
        ledger.outcomes[outcome if isinstance(outcome, str) else "2xx"] += 1
        if not isinstance(outcome, str):
            ledger.acknowledged[text] = outcome["id"]
            return
        await asyncio.sleep(0.25 * (attempt + 1))
    ledger.failed.add(text)


async def burst(url: str, authors: list[Account], ledger: Ledger, label: str) -> None:
    """BURST posts at once, each on its own connection (so both server workers get some):
    a fault that comes a moment later finds requests at every stage."""
    async with fresh_connections(url) as client:
        posts = []
        for k in range(BURST):
            author = authors[k % len(authors)]
            posts.append(post_one(client, author, f"ledger {author.username} {label} {k}", ledger))
        await asyncio.gather(*posts)


async def send(client: httpx.AsyncClient, text: str, headers: dict[str, str]) -> Any:
    """The created status, or what went wrong (a status code or an error's name)."""
    try:
        response = await client.post("/api/v1/statuses", json={"status": text}, headers=headers)
    except httpx.TransportError as exc:
        return type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.json()
    # Only a failure of the server side is expected here; a 4xx would be a bug in the test
    # or the server (a retry while the first attempt runs is 409/429, and allowed).
    assert response.status_code >= 500 or response.status_code in (409, 429), response.text
    return str(response.status_code)


async def read_until(url: str, followers: list[Account], stop: asyncio.Event) -> None:
    """Followers read their first page of home now and then: their feeds stay warm (and
    are rebuilt after each Redis restart), as active accounts' are."""
    async with fresh_connections(url) as client:
        while not stop.is_set():
            for follower in followers:
                with contextlib.suppress(httpx.TransportError):
                    await client.get("/api/v1/timelines/home", headers=auth(follower))
            await asyncio.sleep(READ_PAUSE_SECONDS)


async def faults(
    running: Cluster, redis: RedisProcess, proxy: TcpProxy, authors: list[Account], ledger: Ledger
) -> list[str]:
    """The faults, one after the other, while the clients post; returns what was done."""
    done: list[str] = []
    await asyncio.sleep(0.8)

    await asyncio.to_thread(redis.kill)
    assert redis.directory is not None
    (redis.directory / "dump.rdb").unlink(missing_ok=True)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(redis.start)
    done.append("Redis killed (-9) and started empty")

    # Feeds are warm again (the readers rebuilt them); a snapshot, then seconds of fan-out
    # that the snapshot does not have.
    await asyncio.sleep(2.0)
    await asyncio.to_thread(redis.snapshot)
    await asyncio.sleep(2.0)
    await asyncio.to_thread(redis.kill)
    await asyncio.sleep(0.5)
    await asyncio.to_thread(redis.start)
    done.append("Redis killed (-9) and started from a snapshot 2 s old")

    await asyncio.sleep(1.5)
    running.kill_worker()
    await asyncio.sleep(0.5)
    running.start_worker()
    done.append("job worker killed (-9) and another started")

    await asyncio.sleep(1.0)
    [victim, *_] = running.server_workers()
    posts = asyncio.create_task(burst(running.server.url, authors, ledger, "burst-kill"))
    await asyncio.sleep(BURST_LEAD_SECONDS)
    os.kill(victim, signal.SIGKILL)
    done.append("server worker killed (-9) under a burst of posts")
    await posts

    await asyncio.sleep(1.0)
    # A request past its last read of Redis commits, and its relay fails: the server logs
    # that (a request that still needs Redis before its commit is refused 503). Which
    # requests are where when the link goes is luck, so the cut is tried again, the burst
    # given a different lead, until RELAYS_CUT_OFF committed posts could not relay (one
    # relay may still have reached Redis just before the link went, its answer lost).
    wanted = running.count_in_logs("uow.relay_deferred") + RELAYS_CUT_OFF
    for lead in CUT_LEADS_SECONDS:
        posts = asyncio.create_task(burst(running.server.url, authors, ledger, f"cut-{lead}"))
        await asyncio.sleep(lead)
        proxy.cut()
        cut_at = time.monotonic()
        while time.monotonic() < cut_at + CUT_SECONDS:
            if running.count_in_logs("uow.relay_deferred") >= wanted:
                break
            await asyncio.sleep(0.1)
        proxy.heal()
        done.append(f"Redis cut off for {time.monotonic() - cut_at:.1f} s under a burst")
        await posts
        if running.count_in_logs("uow.relay_deferred") >= wanted:
            break
    await asyncio.sleep(1.0)
    assert victim not in running.server_workers()
    return done


# --- checks ------------------------------------------------------------------------------


async def whole_home(client: httpx.AsyncClient, account: Account) -> list[str]:
    """Every id of the account's home, newest first, page by page (`max_id`); a status
    twice on one page fails here."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        response = await client.get("/api/v1/timelines/home", params=params, headers=auth(account))
        assert response.status_code == 200, response.text
        page = [status["id"] for status in response.json()]
        assert len(page) == len(set(page)), f"a status twice in one page of {account.username}"
        if not page:
            return ids
        ids += page
        params["max_id"] = page[-1]


async def missing_from_homes(
    client: httpx.AsyncClient,
    authors: list[Account],
    followers: list[Account],
    ledger: Ledger,
    homes: dict[str, list[str]],
) -> list[str]:
    """The (home, acknowledged post) pairs still missing, as "home: text"; fills `homes`."""
    texts = {status_id: text for text, status_id in ledger.acknowledged.items()}
    by_author = {
        author.username: {
            status_id
            for text, status_id in ledger.acknowledged.items()
            if text.split()[1] == author.username
        }
        for author in authors
    }
    everything = set().union(*by_author.values())
    missing = []
    for account in [*authors, *followers]:
        homes[account.username] = await whole_home(client, account)
        wanted = by_author.get(account.username, everything)
        lacking = sorted(wanted - set(homes[account.username]))
        missing += [f"{account.username}: {texts[status_id]!r}" for status_id in lacking]
    return missing


async def notifications(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 80}
    while True:
        response = await client.get("/api/v1/notifications", params=params, headers=auth(account))
        assert response.status_code == 200, response.text
        page = response.json()
        if not page:
            return found
        found += page
        params["max_id"] = page[-1]["id"]


async def check_notifications(
    client: httpx.AsyncClient, authors: list[Account], followers: list[Account], ledger: Ledger
) -> None:
    for author in authors:
        notes = await notifications(client, author)
        follows = sorted(note["account"]["id"] for note in notes if note["type"] == "follow")
        assert follows == sorted(str(follower.id) for follower in followers), author.username
    for follower in followers:
        notes = await notifications(client, follower)
        keys = [
            (note["type"], note["account"]["id"], (note.get("status") or {}).get("id"))
            for note in notes
        ]
        doubled = [key for key, count in Counter(keys).items() if count > 1]
        assert not doubled, f"notifications doubled for {follower.username}: {doubled}"
        mentions = {status_id for kind, _account, status_id in keys if kind == "mention"}
        expected = {
            status_id
            for text, status_id in ledger.acknowledged.items()
            if ledger.mentions.get(text) == follower.id
        }
        assert expected <= mentions, f"mentions not notified: {expected - mentions}"


async def check_database(
    env: conftest.TestEnv, redis_url: str, authors: list[Account], ledger: Ledger
) -> None:
    """Each acknowledged post exists once, under the id its client got; every other post
    is one whose every attempt failed."""
    engines = Engines.from_settings(env.settings(redis_url=redis_url, jobs_in_server=False))
    await engines.start()
    try:
        async with engines.db.session(readonly=True) as session:
            rows = (
                await session.execute(
                    select(Status.id, Status.text).where(
                        Status.account_id.in_([author.id for author in authors])
                    )
                )
            ).all()
    finally:
        await engines.stop()
    texts = Counter(text for _id, text in rows)
    doubled = [text for text, count in texts.items() if count > 1]
    assert not doubled, f"posts stored twice: {doubled}"
    stored = {text: str(status_id) for status_id, text in rows}
    for text, status_id in ledger.acknowledged.items():
        assert stored.get(text) == status_id, f"acknowledged post {text!r} not stored as answered"
    unexplained = set(stored) - set(ledger.acknowledged) - ledger.failed
    assert not unexplained, f"posts nobody was told about and that did not fail: {unexplained}"


# --- the test ----------------------------------------------------------------------------


@pytest.mark.timeout(300)
async def test_every_acknowledged_post_reaches_every_home_once_through_crashes(
    test_env: conftest.TestEnv, own_redis: RedisProcess
) -> None:
    began = time.monotonic()
    authors, followers = await make_accounts(test_env, own_redis.url)
    async with proxy_to(own_redis) as proxy, cluster(test_env, proxy.url) as running:
        await running.wait_ready()
        ready = time.monotonic()
        url = running.server.url
        async with httpx.AsyncClient(
            base_url=url, timeout=10, verify=probe.ssl_context()
        ) as client:
            await follow_everyone(client, authors, followers)
            for account in [*authors, *followers]:  # every home warm before the faults
                assert await whole_home(client, account) == []

            ledger = Ledger()
            stop = asyncio.Event()
            load = [
                *(post_until(url, author, followers, ledger, stop) for author in authors),
                read_until(url, followers, stop),
            ]
            load_began = time.monotonic()
            tasks = [asyncio.create_task(work) for work in load]
            try:
                done = await faults(running, own_redis, proxy, authors, ledger)
            finally:
                stop.set()
                await asyncio.gather(*tasks)
            last_post = time.monotonic()

            homes: dict[str, list[str]] = {}
            deadline = last_post + CONVERGENCE_SECONDS
            while (
                missing := await missing_from_homes(client, authors, followers, ledger, homes)
            ) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            converged = time.monotonic() - last_post
            print(
                f"ledger: {len(ledger.acknowledged)} acknowledged, {len(ledger.failed)} failed; "
                f"attempts {dict(ledger.outcomes)}; faults {done}; "
                f"relays deferred {running.count_in_logs('uow.relay_deferred')}; "
                f"homes complete {converged:.1f} s after the last post; "
                f"startup {ready - began:.1f} s, posting {last_post - load_began:.1f} s"
            )
            assert not missing, (
                f"{len(missing)} acknowledged posts still missing from homes "
                f"{CONVERGENCE_SECONDS} s after the last post: {missing[:12]}\n{running.logs()}"
            )
            for username, ids in homes.items():
                assert len(ids) == len(set(ids)), f"a status twice in {username}'s home"
            await check_notifications(client, authors, followers, ledger)
    await check_database(test_env, own_redis.url, authors, ledger)
    assert ledger.acknowledged, "no post was acknowledged"
    print(f"ledger: {time.monotonic() - began:.1f} s in all")
