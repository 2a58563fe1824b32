"""How `connecthub serve` runs uvicorn (connecthub/serving.py): the slow-client timeouts,
and the supervisor that brings a killed server process back and says so."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.serving import _Watch, exit_reason
from tests.conftest import LiveServer, free_port, start_connecthub, stop_process
from tests.ops.test_metrics import sample
from tests.servers import InProcessServer, start_inprocess_server
from tests.support import probe
from tests.support.redis_server import RedisProcess
from tests.support.server_processes import cpu_seconds, fork_servers, server_processes

if TYPE_CHECKING:
    from tests.conftest import TestEnv


def wait_until(condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


# --- slow clients -------------------------------------------------------------------------


@contextlib.contextmanager
def slow_client_server(
    test_env: TestEnv, prepare: Callable[[FastAPI], None] | None = None, **environ: str
) -> Iterator[InProcessServer]:
    server = start_inprocess_server(test_env, prepare=prepare, **environ)
    try:
        yield server
    finally:
        server.stop()


def connect(server: InProcessServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection (30 s at most)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def timeouts(server: InProcessServer, phase: str) -> float:
    scrape = probe.get(f"{server.url}/metrics", timeout=30).text
    return sample(scrape, "connecthub_http_client_timeouts_total", phase=phase) or 0


@pytest.mark.slow
def test_headers_that_never_end_and_silent_connections_are_closed(test_env: TestEnv) -> None:
    with slow_client_server(test_env, HTTP_HEADER_TIMEOUT_SECONDS="0.3") as server:
        # Headers trickling in without their end (a slowloris client).
        with connect(server) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\nX-Slow: 1\r\n")
            assert closed_by_server(sock) == b""
        # A connection that never sends anything.
        with connect(server) as sock:
            assert closed_by_server(sock) == b""
        assert timeouts(server, "headers") >= 2
        # A client that sends its request in one go is served as always.
        response = probe.get(f"{server.url}/health/live", timeout=30)
        assert response.status_code == 200


@pytest.mark.slow
def test_a_body_that_stops_arriving_is_dropped_and_frees_its_slot(test_env: TestEnv) -> None:
    with slow_client_server(test_env, HTTP_BODY_TIMEOUT_SECONDS="0.3") as server:
        admission = server.server.config.app.state.admission
        with connect(server) as sock:
            sock.sendall(
                b"POST /api/v1/statuses HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                b'{"status": '
            )
            assert closed_by_server(sock) == b""
        assert timeouts(server, "body") == 1
        wait_until(lambda: admission.in_flight == 0, "the stalled request kept its slot")


@pytest.mark.slow
def test_an_idle_keep_alive_connection_is_closed(test_env: TestEnv) -> None:
    with (
        slow_client_server(test_env, HTTP_KEEP_ALIVE_SECONDS="1") as server,
        connect(server) as sock,
    ):
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
        answer = closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"status":"ok"}')


# --- the liveness port ---------------------------------------------------------------------


def liveness(server: InProcessServer) -> httpx.Response:
    assert server.liveness is not None
    return probe.get(f"http://127.0.0.1:{server.liveness.port}/health/live", timeout=30)


def add_blocking_route(app: FastAPI) -> None:
    async def block(seconds: float) -> dict[str, str]:
        time.sleep(seconds)  # a blocking call in a handler: the whole event loop stops
        return {"status": "unblocked"}

    app.add_api_route("/test/block", block)


@pytest.mark.slow
def test_the_liveness_port_reports_an_event_loop_that_stopped_turning(
    test_env: TestEnv,
) -> None:
    with slow_client_server(
        test_env,
        prepare=add_blocking_route,
        LIVENESS_PORT=str(free_port()),
        LIVENESS_STALL_SECONDS="0.5",
    ) as server:
        assert liveness(server).json() == {"status": "ok"}
        blocked = threading.Thread(
            target=probe.get, args=(f"{server.url}/test/block?seconds=5",), kwargs={"timeout": 30}
        )
        blocked.start()
        # The main port cannot answer now; the liveness port says why.
        stalled = wait_until(
            lambda: (answer := liveness(server)).status_code == 503 and answer,
            "the liveness port did not report the stalled loop",
        )
        assert stalled.json()["error"].startswith("Not live: event loop stalled for ")
        with pytest.raises(httpx.TimeoutException):
            probe.get(f"{server.url}/health/live", timeout=0.5)
        blocked.join(30)
        # The loop turns again: live again.
        wait_until(lambda: liveness(server).status_code == 200, "not live after the stall")
        assert probe.get(f"{server.url}/health/live", timeout=30).status_code == 200
        # Only the probe lives there.
        assert server.liveness is not None
        other = probe.get(f"http://127.0.0.1:{server.liveness.port}/metrics", timeout=30)
        assert other.status_code == 404


def add_busy_route(app: FastAPI) -> None:
    async def busy() -> dict[str, str]:
        time.sleep(0.01)  # a request's CPU: the event loop does nothing else meanwhile
        await asyncio.sleep(0)
        return {"status": "done"}

    app.add_api_route("/test/busy", busy)


@pytest.mark.slow
def test_the_liveness_port_answers_while_the_main_port_is_flooded(test_env: TestEnv) -> None:
    with slow_client_server(
        test_env,
        prepare=add_busy_route,
        LIVENESS_PORT=str(free_port()),
        MAX_REQUESTS_IN_FLIGHT="2",
    ) as server:
        host, port = server.url.removeprefix("http://").split(":")
        flooding = threading.Event()
        flooding.set()
        statuses: list[int] = []

        def flood() -> None:
            with socket.create_connection((host, int(port)), timeout=60) as sock:
                reader = sock.makefile("rb")
                while flooding.is_set():
                    sock.sendall(b"GET /test/busy HTTP/1.1\r\nHost: test\r\n\r\n")
                    status = int(reader.readline().split()[1])
                    length = 0
                    while (line := reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.partition(b":")
                        if name.lower() == b"content-length":
                            length = int(value)
                    reader.read(length)
                    statuses.append(status)

        clients = [threading.Thread(target=flood) for _ in range(40)]
        for client in clients:
            client.start()
        try:
            wait_until(lambda: statuses.count(503) >= 100, "the flood was not shed")
            probes = [liveness(server) for _ in range(20)]
        finally:
            flooding.clear()
            for client in clients:
                client.join(60)
        assert [probe.status_code for probe in probes] == [200] * 20
        assert statuses.count(200) > 0


# --- several processes --------------------------------------------------------------------


def log_events(server: LiveServer, event: str, **fields: Any) -> list[dict[str, Any]]:
    found = []
    for line in server.logs().splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record["event"] == event and all(record.get(k) == v for k, v in fields.items()):
            found.append(record)
    return found


def start_supervised(test_env: TestEnv, redis_url: str, **environ: str) -> LiveServer:
    port = free_port()
    log_path = test_env.workdir / f"server-{port}.log"
    process = start_connecthub(
        "serve", "--port", str(port), "--workers", "2",
        env=test_env.environ(REDIS_URL=redis_url, LOG_LEVEL="info", **environ), output=log_path,
    )  # fmt: skip
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        # The fork server imports the app before the first process: be patient on a busy machine.
        wait_until(
            lambda: process.poll() is None and len(log_events(server, "server.process_ready")) == 2,
            "the two server processes did not start",
            seconds=240,
        )
    except BaseException:
        stop_process(process)
        print(server.logs())
        raise
    return server


@pytest.mark.processes
@pytest.mark.timeout(600)
def test_a_killed_or_silent_server_process_is_replaced_and_logged(
    test_env: TestEnv, own_redis: RedisProcess
) -> None:
    liveness_port = free_port()
    server = start_supervised(
        test_env,
        own_redis.url,
        WEB_HEALTHCHECK_TIMEOUT_SECONDS="3",
        LIVENESS_PORT=str(liveness_port),
    )
    supervisor = server.process.pid
    stopped: int | None = None

    def live() -> int:
        url = f"http://127.0.0.1:{liveness_port}/health/live"
        return probe.get(url, timeout=30).status_code

    try:
        first, second = sorted(server_processes(supervisor))
        # The supervisor answers the liveness port from its processes' heartbeats.
        wait_until(lambda: live() == 200, "the liveness port did not answer 200")

        # kill -9: the supervisor logs the death and starts a replacement, which serves.
        os.kill(first, signal.SIGKILL)
        (exited,) = wait_until(
            lambda: log_events(server, "server.process_exited", pid=first), "no exit logged"
        )
        assert exited["reason"] == "killed by SIGKILL"
        assert exited["exit_code"] == -signal.SIGKILL
        assert exited["level"] == "warning"
        (started,) = wait_until(
            lambda: log_events(server, "server.process_started", replaces=first),
            "no replacement started",
        )
        replacement = started["pid"]
        assert replacement in server_processes(supervisor)
        wait_until(
            lambda: log_events(server, "server.process_ready", pid=replacement),
            "the replacement did not start serving",
            seconds=240,
        )
        # Forked from the fork server, which imported the app once: the replacement did not
        # import it again (a spawned one spent about what the import costs).
        (fork_server,) = fork_servers(supervisor)
        assert cpu_seconds(replacement) < cpu_seconds(fork_server) / 2

        # With the other original process stopped, only the replacement can answer.
        os.kill(second, signal.SIGSTOP)
        stopped = second
        for _ in range(5):
            response = probe.get(
                f"{server.url}/api/v1/timelines/public", headers={"Connection": "close"}, timeout=30
            )
            assert response.status_code == 200
        assert live() == 200  # one event loop turns: live

        # A process that stops answering its health ping is killed and replaced too.
        (silent,) = wait_until(
            lambda: log_events(server, "server.process_exited", pid=second), "no kill logged"
        )
        stopped = None
        assert silent["reason"] == "did not answer its health ping in time"
        assert silent["exit_code"] == -signal.SIGKILL
        (started,) = wait_until(
            lambda: log_events(server, "server.process_started", replaces=second),
            "no replacement started",
        )
        assert server_processes(supervisor) == {replacement, started["pid"]}
    finally:
        if stopped is not None:
            os.kill(stopped, signal.SIGCONT)
        stop_process(server.process)
    assert server.process.returncode == 0, server.logs()


@pytest.mark.processes
@pytest.mark.timeout(600)
def test_a_killed_fork_server_leaves_its_processes_serving_and_supervised(
    test_env: TestEnv, own_redis: RedisProcess
) -> None:
    """The fork server is the server processes' parent: killed, it can no longer tell their
    exits. They go on serving, the supervisor does not take them for exited (it replaced
    them and left them running unsupervised), still replaces one that dies, from a new
    fork server, and stops them all when it stops."""
    server = start_supervised(test_env, own_redis.url)
    supervisor = server.process.pid
    originals = sorted(server_processes(supervisor))
    try:
        (fork_server,) = fork_servers(supervisor)
        os.kill(fork_server, signal.SIGKILL)
        wait_until(lambda: not fork_servers(supervisor), "the fork server was not reaped")
        time.sleep(3)  # several of the supervisor's looks
        assert log_events(server, "server.process_exited") == []
        assert all(Path(f"/proc/{pid}").exists() for pid in originals)
        for _ in range(4):
            response = probe.get(
                f"{server.url}/api/v1/instance", headers={"Connection": "close"}, timeout=30
            )
            assert response.status_code == 200

        first = originals[0]
        os.kill(first, signal.SIGKILL)
        (started,) = wait_until(
            lambda: log_events(server, "server.process_started", replaces=first),
            "no replacement started",
        )
        wait_until(
            lambda: log_events(server, "server.process_ready", pid=started["pid"]),
            "the replacement did not start serving",
            seconds=240,
        )
        assert server_processes(supervisor) == {started["pid"]}  # the new fork server's
    finally:
        stop_process(server.process)
    wait_until(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in originals),
        "a server process outlived its supervisor",
        seconds=30,
    )


@pytest.mark.processes
@pytest.mark.timeout(600)
def test_processes_paused_with_their_supervisor_are_not_killed_on_resuming(
    test_env: TestEnv, own_redis: RedisProcess
) -> None:
    """A pause of everything (the process group stopped, a frozen machine) is no process's
    stall: on resuming, the supervisor lets them answer again instead of replacing them
    (it killed both, and a benchmark that paused the servers it was not measuring found
    them replaced, their caches cold, mid-run)."""
    server = start_supervised(test_env, own_redis.url, WEB_HEALTHCHECK_TIMEOUT_SECONDS="3")
    supervisor = server.process.pid
    children = sorted(server_processes(supervisor))
    paused: list[int] = []
    try:
        for pid in [*children, supervisor]:
            os.kill(pid, signal.SIGSTOP)
            paused.append(pid)
        time.sleep(7)  # longer than the health-check timeout, and than a look's gap
        os.kill(supervisor, signal.SIGCONT)  # resumed in an order no signal guarantees:
        time.sleep(1)  # the supervisor looks before its processes run again
        for pid in children:
            with contextlib.suppress(ProcessLookupError):  # killed by the supervisor
                os.kill(pid, signal.SIGCONT)
        paused.clear()
        wait_until(
            lambda: log_events(server, "server.supervisor_resumed"), "the pause was not noticed"
        )
        time.sleep(5)  # past the grace: a process still silent now would be killed
        assert log_events(server, "server.process_exited") == []
        assert sorted(server_processes(supervisor)) == children
        response = probe.get(f"{server.url}/api/v1/instance", timeout=30)
        assert response.status_code == 200
    finally:
        for pid in paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        stop_process(server.process)
    assert server.process.returncode == 0, server.logs()


def test_a_process_whose_event_loop_stalls_is_killed_even_though_it_answers_pings() -> None:
    watch = _Watch(pid=1, started_at=0.0, ready_at=5.0)
    # Pings answered (a thread answers them), the loop silent for longer than allowed.
    watch.answered_at, watch.ping_sent_at = 100.0, None
    assert watch.overdue(100.0, 31.0, 120, 30) == "its event loop stalled for 31 s"
    assert watch.overdue(100.0, 0.1, 120, 30) is None
    # A stopped or wedged process: the ping goes unanswered; the ping tells.
    watch.ping_sent_at = 80.0
    assert watch.overdue(100.0, 31.0, 120, 30) is None
    assert watch.overdue(111.0, 42.0, 120, 30) == "did not answer its health ping in time"
    # Not serving yet: only the startup timeout counts.
    starting = _Watch(pid=2, started_at=0.0)
    assert starting.overdue(100.0, None, 120, 30) is None
    assert starting.overdue(121.0, None, 120, 30) == "did not start serving in time"


def test_exit_reasons_name_the_signal() -> None:
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(-signal.SIGSEGV) == "killed by SIGSEGV"
    assert exit_reason(3) == "failed to start"
    assert exit_reason(1) == "exited with code 1"


# --- the header block and the one write ---------------------------------------------------


def _once(response: httpx.Response, name: str) -> str:
    values = response.headers.get_list(name)
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def test_answers_under_the_server_carry_every_header_once(test_env: TestEnv) -> None:
    """Under `connecthub serve`'s uvicorn the edge layer's headers go out as one block
    written with the body (serving._Cycle): the same headers as in process, each once,
    and a keep-alive connection that carries the next answer whole."""
    from tests.http.test_security import assert_security_headers

    with (
        slow_client_server(test_env) as server,
        httpx.Client(base_url=server.url, verify=probe.ssl_context()) as client,
    ):
        for _ in range(2):  # the second on the same connection
            headers = {
                "Origin": "https://app.example",
                "X-Request-Id": "r-1",
                "Accept-Encoding": "identity",  # the header block (compressed: below)
            }
            response = client.get("/api/v1/instance", headers=headers)
            assert response.status_code == 200
            assert response.json()["uri"]
            assert int(_once(response, "content-length")) == len(response.content)
            assert _once(response, "x-request-id") == "r-1"
            assert _once(response, "vary") == "Origin"
            assert _once(response, "access-control-allow-origin") == "*"
            assert "X-RateLimit-Remaining" in _once(response, "access-control-expose-headers")
            for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
                _once(response, name)
            for name in ("x-content-type-options", "x-frame-options", "content-security-policy"):
                _once(response, name)
            assert_security_headers(response)
        # Compressed, the headers go as pairs: still each once, Vary naming both.
        packed = client.get(
            "/api/v1/instance", headers={"Origin": "https://app.example", "Accept-Encoding": "br"}
        )
        assert _once(packed, "content-encoding") == "br"
        assert _once(packed, "vary") == "Accept-Encoding, Origin"
        assert packed.json() == response.json()
        # A 304 (no body, no length) keeps the connection for the next answer.
        etag = response.headers["etag"]
        unchanged = client.get("/api/v1/instance", headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert _once(unchanged, "etag") == etag
        missing = client.get("/api/v1/no-such-thing")
        assert missing.status_code == 404
        assert missing.json() == {"error": "Record not found"}
        assert "access-control-allow-origin" not in missing.headers
        assert _once(missing, "vary") == "Origin"
        head = client.head("/health/live")
        assert head.status_code in (200, 405)
        assert head.content == b""
        # A route that sets its own policy keeps it, and gets the rest merged in.
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "sha256-" in _once(docs, "content-security-policy")
        _once(docs, "x-frame-options")
        _once(docs, "x-request-id")
