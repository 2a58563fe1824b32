"""Overload is shed, not queued (http/admission.py): past MAX_REQUESTS_IN_FLIGHT a request is
refused at once with 503 + Retry-After while the probes keep answering; a request whose
client disconnected is cancelled, and what it held (a pooled connection, its slot, a
PostgreSQL statement) is given back; an exhausted pool is a 503, not a 500.

Requests are held inside the app on events the test releases: nothing here depends on
timing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from connecthub.http.admission import Admission
from connecthub.http.deps import UowDep
from tests.http.test_errors import assert_error_response
from tests.http.test_request_context import captured_root_log, json_lines
from tests.ops.test_metrics import sample
from tests.servers import start_inprocess_server
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv

AppFactory = Callable[..., Any]


@dataclass
class Gate:
    """Requests to /test/held wait here until the test opens the gate."""

    entered: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0


def add_held_route(app: FastAPI, gate: Gate) -> None:
    async def held() -> dict[str, int]:
        gate.entered += 1
        if gate.entered >= gate.expected:
            gate.arrived.set()
        await gate.opened.wait()
        return {"entered": gate.entered}

    app.add_api_route("/test/held", held)


def assert_shed(response: httpx.Response) -> None:
    """A refusal: the usual 503 body and Retry-After, and the fixed security headers; no
    request id (nothing ran)."""
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "Service temporarily unavailable"}
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "x-request-id" not in response.headers


async def test_the_excess_is_refused_at_once_while_the_probes_answer(
    app_factory: AppFactory,
) -> None:
    async with app_factory(max_requests_in_flight=2) as (app, client):
        gate = Gate(expected=2)
        add_held_route(app, gate)
        admitted = [asyncio.create_task(client.get("/test/held")) for _ in range(2)]
        await asyncio.wait_for(gate.arrived.wait(), 30)

        refused = await client.get("/test/held")
        assert_shed(refused)
        assert gate.entered == 2  # the refused request never reached the handler
        assert refused.headers["access-control-allow-origin"] == "*"
        # Refused before anything else: no rate-limit bucket hit either.
        api = await client.get("/api/v1/timelines/public")
        assert_shed(api)
        assert "x-ratelimit-limit" not in api.headers
        assert_shed(await client.post("/api/v1/statuses", json={"status": "hello"}))

        # Probes and metrics are never counted nor refused.
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
        scrape = await client.get("/metrics")
        assert scrape.status_code == 200
        assert sample(scrape.text, "connecthub_http_requests_in_flight") == 2
        assert (sample(scrape.text, "connecthub_http_requests_shed_total") or 0) >= 3

        gate.opened.set()
        for response in await asyncio.gather(*admitted):
            assert response.status_code == 200
        # The slots are free again.
        assert (await client.get("/api/v1/timelines/public")).status_code == 200
        assert app.state.admission.in_flight == 0


async def test_the_default_limit_is_the_database_pool(app_factory: AppFactory) -> None:
    async with app_factory(database_pool_size=3, database_max_overflow=2) as (app, _client):
        assert app.state.admission.limit == 5
    async with app_factory(max_requests_in_flight=0) as (app, client):
        assert app.state.admission.limit is None  # 0: no limit
        assert (await client.get("/api/v1/timelines/public")).status_code == 200


async def test_shedding_is_logged_once_per_interval_not_per_request(
    app_factory: AppFactory,
) -> None:
    async with app_factory(max_requests_in_flight=1, log_level="info") as (app, client):
        gate = Gate(expected=1)
        add_held_route(app, gate)
        with captured_root_log() as buffer:
            admitted = asyncio.create_task(client.get("/test/held"))
            await asyncio.wait_for(gate.arrived.wait(), 30)
            for _ in range(5):
                assert_shed(await client.get("/test/held"))
            gate.opened.set()
            assert (await admitted).status_code == 200
    lines = json_lines(buffer.getvalue())
    overloaded = [line for line in lines if line["event"] == "http.overloaded"]
    assert len(overloaded) == 1
    assert overloaded[0]["limit"] == 1
    # No access line per refusal: at ten times capacity that is thousands a second.
    access = [line for line in lines if line["event"] == "http.request"]
    assert [line["status"] for line in access] == [200]


def read_answer(reader: Any) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer from a socket's file: status, headers, body."""
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader.read(int(headers.get("content-length", "0")))


def test_the_server_refuses_on_its_own_what_the_middleware_would(test_env: TestEnv) -> None:
    """Past the limit, a request without a body is refused by the protocol as its headers
    arrive (serving.GuardedHttpToolsProtocol): the same answer as the middleware's, on a
    connection that stays usable, answers in order, and the probes still pass."""
    release = threading.Event()

    def add_routes(app: FastAPI) -> None:
        async def held() -> dict[str, str]:
            while not release.is_set():
                await asyncio.sleep(0.01)
            return {"status": "released"}

        app.add_api_route("/test/held", held)

    def hold(url: str) -> None:
        assert probe.get(url, timeout=120).status_code == 200

    server = start_inprocess_server(test_env, prepare=add_routes, MAX_REQUESTS_IN_FLIGHT="1")
    admission = server.server.config.app.state.admission
    host, port = server.url.removeprefix("http://").split(":")
    holder = threading.Thread(target=hold, args=(f"{server.url}/test/held",))

    def shed() -> float:
        scrape = probe.get(f"{server.url}/metrics", timeout=30).text
        return sample(scrape, "connecthub_http_requests_shed_total") or 0

    shed_before = shed()  # the counter is the test process', shared by its servers
    try:
        holder.start()
        wait_until(lambda: admission.in_flight == 1, "the held request did not start")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            reader = sock.makefile("rb")
            # Two pipelined reads: two refusals, in order, the connection kept.
            sock.sendall(
                b"GET /api/v1/timelines/public HTTP/1.1\r\nHost: test\r\n\r\n"
                b"GET /api/v1/accounts/1 HTTP/1.1\r\nHost: test\r\n\r\n"
            )
            for _ in range(2):
                status, headers, body = read_answer(reader)
                assert (status, json.loads(body)) == (
                    503,
                    {"error": "Service temporarily unavailable"},
                )
                assert headers["retry-after"] == "1"
                assert headers["x-content-type-options"] == "nosniff"
                assert headers["access-control-allow-origin"] == "*"
                assert "date" in headers
                assert "connection" not in headers
            # A request with a body is refused by the middleware: the same answer.
            sock.sendall(
                b"POST /api/v1/statuses HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            )
            status, headers, body = read_answer(reader)
            assert (status, json.loads(body)) == (503, {"error": "Service temporarily unavailable"})
            assert headers["retry-after"] == "1"
            # HEAD: the same refusal without a body.
            sock.sendall(b"HEAD /api/v1/timelines/public HTTP/1.1\r\nHost: test\r\n\r\n")
            status, headers, _body = reader.readline().split()[1], {}, b""
            assert int(status) == 503
            while reader.readline() not in (b"\r\n", b""):
                pass
            # The probe is never refused.
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
            assert read_answer(reader)[0] == 200
            # Once the slot is free, the same connection is served.
            release.set()
            wait_until(lambda: admission.in_flight == 0, "the held request did not end")
            sock.sendall(b"GET /api/v1/timelines/public HTTP/1.1\r\nHost: test\r\n\r\n")
            assert read_answer(reader)[0] == 200
        # A client that asks to close gets its refusal, then the close.
        release.clear()
        holder.join(30)
        # The request above may still be on its way out (its answer is sent before its
        # slot is given back): the count below must be the new holder's.
        wait_until(lambda: admission.in_flight == 0, "the last request did not end")
        holder = threading.Thread(target=hold, args=(f"{server.url}/test/held",))
        holder.start()
        wait_until(lambda: admission.in_flight == 1, "the held request did not start")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                b"GET /api/v1/timelines/public HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
            )
            reader = sock.makefile("rb")
            status, headers, _body = read_answer(reader)
            assert (status, headers["connection"]) == (503, "close")
            assert reader.read() == b""  # closed by the server
        assert shed() - shed_before == 5
    finally:
        release.set()
        holder.join(30)
        server.stop()


def test_the_limit_shrinks_while_admitted_requests_are_slow_and_grows_back() -> None:
    admission = Admission(limit=20)
    now = 0.0

    def window(seconds: float, *, full: bool) -> int:
        nonlocal now
        if full:
            admission.in_flight = admission.current
            assert not admission.admits()
        else:
            admission.in_flight = 1
        now += 0.6
        admission.answered(seconds, now)
        return admission.current

    # At its limit, and answers take seconds: a quarter less per window, down to 2.
    assert [window(3.0, full=True) for _ in range(9)] == [15, 11, 8, 6, 4, 3, 2, 2, 2]
    # Answered in time again: one more per window, up to MAX_REQUESTS_IN_FLIGHT.
    assert [window(0.05, full=True) for _ in range(3)] == [3, 4, 5]
    for _ in range(20):
        window(0.05, full=False)
    assert admission.current == 20
    # A slow request in a process below its limit (an upload, say) changes nothing.
    assert window(3.0, full=False) == 20
    # No limit: nothing moves.
    unlimited = Admission(limit=None)
    unlimited.answered(30.0, 10.0)
    assert unlimited.admits()


# --- clients that leave -------------------------------------------------------------------


@dataclass
class HandlerSignals:
    """What a handler on the in-process server's thread tells the test's thread."""

    entered: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


def add_waiting_routes(app: FastAPI, signals: HandlerSignals) -> None:
    async def holding_a_connection(uow: UowDep) -> dict[str, str]:
        await uow.session.execute(text("SELECT 1"))  # the session now holds a connection
        signals.entered.set()
        try:
            await asyncio.sleep(300)
        except asyncio.CancelledError:
            signals.cancelled.set()
            raise
        signals.finished.set()
        return {"status": "finished"}

    async def sleeping_in_postgresql(uow: UowDep) -> dict[str, str]:
        signals.entered.set()
        try:
            await uow.session.execute(text("SELECT pg_sleep(300) AS held_for_the_test"))
        except asyncio.CancelledError:
            signals.cancelled.set()
            raise
        signals.finished.set()
        return {"status": "finished"}

    app.add_api_route("/test/holding", holding_a_connection)
    app.add_api_route("/test/pg-sleep", sleeping_in_postgresql)


@contextlib.contextmanager
def request_then_leave(url: str, path: str, signals: HandlerSignals) -> Iterator[None]:
    """Sends a request on a raw socket, waits until its handler runs, then disconnects."""
    address = url.removeprefix("http://").split(":")
    with socket.create_connection((address[0], int(address[1])), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        assert signals.entered.wait(30), "the handler never started"
    yield


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_request_whose_client_left_is_cancelled_and_gives_back_its_connection(
    test_env: TestEnv,
) -> None:
    signals = HandlerSignals()
    server = start_inprocess_server(
        test_env,
        prepare=lambda app: add_waiting_routes(app, signals),
        DATABASE_POOL_SIZE="1",
        DATABASE_MAX_OVERFLOW="0",
    )
    app = server.server.config.app
    try:
        with request_then_leave(server.url, "/test/holding", signals):
            pass
        assert signals.cancelled.wait(30), "the request was not cancelled"
        assert not signals.finished.is_set()
        engines = app.state.engines
        wait_until(lambda: engines.db.pool_in_use() == 0, "the connection was not returned")
        # The unit of work hands its connection back while the cancelled request unwinds
        # (its rollback runs then, http/deps.py): the admission slot follows a moment later.
        wait_until(lambda: app.state.admission.in_flight == 0, "the request slot was kept")
        # The only pooled connection serves the next request.
        response = probe.get(f"{server.url}/api/v1/timelines/public", timeout=30)
        assert response.status_code == 200
        scrape = probe.get(f"{server.url}/metrics", timeout=30).text
        assert (sample(scrape, "connecthub_http_requests_cancelled_total") or 0) >= 1
    finally:
        server.stop()


def test_a_cancelled_request_stops_its_postgresql_statement(test_env: TestEnv) -> None:
    if not test_env.database_url.startswith("postgresql"):
        pytest.skip("pg_sleep is PostgreSQL's")
    signals = HandlerSignals()
    server = start_inprocess_server(test_env, prepare=lambda app: add_waiting_routes(app, signals))
    try:
        with request_then_leave(server.url, "/test/pg-sleep", signals):
            pass
        assert signals.cancelled.wait(30), "the request was not cancelled"

        async def sleeping_statements() -> int:
            connection = await asyncpg.connect(test_env.database_url)
            try:
                return int(
                    await connection.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND query LIKE '%held_for_the_test%' AND pid <> pg_backend_pid()"
                    )
                )
            finally:
                await connection.close()

        # PostgreSQL was told to cancel the statement: it stops sleeping.
        wait_until(lambda: asyncio.run(sleeping_statements()) == 0, "the statement still runs")
        response = probe.get(f"{server.url}/api/v1/timelines/public", timeout=30)
        assert response.status_code == 200
    finally:
        server.stop()
    assert not signals.finished.is_set()


# --- exhausted pools ----------------------------------------------------------------------


async def test_an_exhausted_database_pool_is_a_503_with_one_log_line(
    test_env: TestEnv, app_factory: AppFactory
) -> None:
    if not test_env.database_url.startswith("postgresql"):
        pytest.skip("the SQLite engine keeps SQLAlchemy's default pool")
    async with app_factory(
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout_seconds=0.2,
        max_requests_in_flight=0,  # no admission limit: the pool is what runs out
        log_level="info",
    ) as (app, client):
        held = await app.state.engines.db.primary.connect()
        try:
            with captured_root_log() as buffer:
                response = await client.get("/api/v1/timelines/public")
        finally:
            await held.close()
        assert_error_response(response, 503)
        assert response.headers["retry-after"] == "1"
        assert (await client.get("/api/v1/timelines/public")).status_code == 200
    lines = json_lines(buffer.getvalue())
    outage = [line for line in lines if line["event"] == "http.engine_unavailable"]
    assert [(line["engine"], line["reason"]) for line in outage] == [("database", "pool_exhausted")]
    assert not any("exception" in line or line["level"] == "error" for line in lines)


@pytest.mark.slow
def test_requests_whose_clients_left_while_they_waited_to_be_read_never_start(
    test_env: TestEnv,
) -> None:
    stalled = threading.Event()
    started: list[int] = []

    def add_routes(app: FastAPI) -> None:
        async def stall() -> dict[str, str]:
            stalled.set()
            time.sleep(1)  # the whole server stops, as a busy one does
            return {"status": "stalled"}

        async def counted() -> dict[str, str]:
            started.append(1)
            return {"status": "started"}

        app.add_api_route("/test/stall", stall)
        app.add_api_route("/test/counted", counted)

    server = start_inprocess_server(test_env, prepare=add_routes)
    try:
        staller = threading.Thread(target=probe.get, args=(f"{server.url}/test/stall",))
        staller.start()
        assert stalled.wait(30)
        # Meanwhile clients connect, ask and give up: their requests wait in the accept
        # queue with their close right behind them.
        host, port = server.url.removeprefix("http://").split(":")
        for _ in range(20):
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(b"GET /test/counted HTTP/1.1\r\nHost: test\r\n\r\n")
        staller.join(30)

        def dropped() -> float:
            scrape = probe.get(f"{server.url}/metrics", timeout=30).text
            return sample(scrape, "connecthub_http_requests_cancelled_total") or 0

        wait_until(lambda: dropped() >= 20, "the requests were not dropped")
        assert started == []  # none of them ran
    finally:
        server.stop()


async def test_a_commit_under_way_finishes_before_the_cancellation_goes_through() -> None:
    from connecthub.http.deps import _uncancelled

    began, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def commit() -> None:
        began.set()
        await release.wait()
        finished.append("committed")
        await asyncio.sleep(0)
        finished.append("events sent")

    request = asyncio.create_task(_uncancelled(commit()))
    await began.wait()
    request.cancel()  # the client left
    await asyncio.sleep(0)
    assert not request.done()  # still waiting for the commit
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert finished == ["committed", "events sent"]


async def test_statement_and_lock_timeouts_are_a_503(
    test_env: TestEnv, app_factory: AppFactory
) -> None:
    if not test_env.database_url.startswith("postgresql"):
        pytest.skip("statement_timeout and lock_timeout are PostgreSQL's")

    async def slow_statement(uow: UowDep) -> dict[str, str]:
        await uow.session.execute(text("SET LOCAL statement_timeout = 50"))
        await uow.session.execute(text("SELECT pg_sleep(5)"))
        return {"status": "finished"}

    async def lock_wait(uow: UowDep) -> dict[str, str]:
        await uow.session.execute(text("SET LOCAL lock_timeout = 50"))
        await uow.session.execute(text("SELECT pg_advisory_xact_lock(424242)"))
        return {"status": "finished"}

    async with app_factory(log_level="info") as (app, client):
        app.add_api_route("/test/slow-statement", slow_statement, methods=["POST"])
        app.add_api_route("/test/lock-wait", lock_wait, methods=["POST"])
        holder = await asyncpg.connect(test_env.database_url)
        try:
            await holder.execute("SELECT pg_advisory_lock(424242)")
            with captured_root_log() as buffer:
                for path in ("/test/slow-statement", "/test/lock-wait"):
                    response = await client.post(path)
                    assert_error_response(response, 503)
                    assert response.headers["retry-after"] == "1"
        finally:
            await holder.close()
    outage = [
        (line["engine"], line["reason"])
        for line in json_lines(buffer.getvalue())
        if line["event"] == "http.engine_unavailable"
    ]
    assert outage == [("database", "busy"), ("database", "busy")]


@pytest.mark.slow
async def test_a_stopped_client_watch_leaves_no_reference_cycle() -> None:
    """The watch of a request that was answered is stopped and ends without keeping an
    exception: a cycle per request (task, its CancelledError's traceback, the watch) would
    wait for the server's rare full collections, memory growing round after round under
    load (docs/benchmarks.md, "Embedded mode")."""
    import gc

    from connecthub.http.admission import _ClientWatch

    async def never() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    request_task = asyncio.current_task()
    assert request_task is not None
    gc.collect()  # only the watches made below count, not earlier tests' garbage
    gc.disable()  # what a young collection would free counts too
    try:
        for _ in range(3):
            watch = _ClientWatch(never, request_task, at_once=True)
            watch.read({"type": "http.request", "body": b""})  # the body: the watch starts
            await asyncio.sleep(0)  # the watcher waits on the client
            watch.stop()  # the answer went out
            await asyncio.sleep(0)
            assert watch.watcher is not None
            assert watch.watcher.done()
            del watch
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if type(o).__name__ == "_ClientWatch"]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
    assert left == []
