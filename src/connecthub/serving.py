"""How `connecthub serve` runs uvicorn: its options, the slow-client timeouts uvicorn lacks,
the event loop's heartbeat and the liveness port answered from it (docs/adr/0009), and the
supervisor of several server processes (docs/operations.md, "Processes and restarts")."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from socket import socket
from typing import Any

import structlog
import uvicorn
from uvicorn._subprocess import subprocess_started
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from connecthub.config import Settings
from connecthub.http.admission import Admission, exempt, refusal_response
from connecthub.http.responses import HEADER_BLOCK
from connecthub.ops import metrics
from connecthub.ops.liveness import Heartbeat, LivenessListener, loop_verdict
from connecthub.ops.logging import configure_logging
from connecthub.routes import compile_included_routes

log = structlog.get_logger(__name__)

APP = "connecthub.app:create_app"


class ServeConfig(uvicorn.Config):
    """uvicorn's settings plus the two client timeouts `GuardedHttpToolsProtocol` reads.
    With several processes the supervisor pickles it into each one, attributes included."""

    def __init__(
        self, app: Any, *, header_timeout: float, body_timeout: float, **options: Any
    ) -> None:
        super().__init__(app, **options)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout

    def load(self) -> None:
        """Imports and builds the app (in each server process) with the garbage collector
        paused, then turns it on: the import makes over a million objects that live as
        long as the process, and the collector's passes over them while they were made
        were ~15 % of its CPU (`import connecthub.app`: 1.34 -> 1.14 CPU-s). No cycle is
        garbage yet; the lifespan freezes what exists once the app has started (app.py).
        `serve` pauses the collector from its own start (cli.py).

        The routes are compiled here too, before the first request rather than on it (a
        single server process; forked ones find them compiled by the fork server)."""
        gc.disable()
        try:
            super().load()
            compile_included_routes()
        finally:
            gc.enable()


def server_config(
    settings: Settings, app: Any = APP, *, host: str, port: int, workers: int = 1
) -> ServeConfig:
    """How every ConnectHub server runs uvicorn (`serve`, and the tests' in-process one)."""
    return ServeConfig(
        app,
        factory=isinstance(app, str),
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,
        ws="websockets-sansio",
        # Streaming sends the same event to thousands of sockets: compressing it for each
        # one costs ~40 KiB of zlib state per socket and most of the CPU of a fan-out.
        ws_per_message_deflate=False,
        proxy_headers=False,  # the app trusts X-Forwarded-For only from TRUSTED_PROXIES
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        timeout_graceful_shutdown=settings.shutdown_drain_seconds,
        # Only used by uvicorn's own restart on SIGHUP (a new process has this long to
        # become ready); the supervisor below applies its own timeouts otherwise.
        timeout_worker_healthcheck=max(1, round(settings.web_startup_timeout_seconds)),
        header_timeout=settings.http_header_timeout_seconds,
        body_timeout=settings.http_body_timeout_seconds,
    )


def run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    config = server_config(settings, host=host, port=port, workers=workers)
    if workers == 1:
        server = HeartbeatServer(config)
        listener = start_liveness_listener(settings, host, server.liveness(settings))
        try:
            with contextlib.suppress(KeyboardInterrupt):
                server.run()
        finally:
            if listener is not None:
                listener.close()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    # The supervisor never loads the app (its processes do): its collector runs again now
    # (`serve` paused it for start-up).
    gc.enable()
    # The supervising process logs as the servers do (one JSON line per event).
    configure_logging(settings.log_level, settings.log_format)
    supervisor = Supervisor(
        config,
        [config.bind_socket()],
        startup_timeout=settings.web_startup_timeout_seconds,
        healthcheck_timeout=settings.web_healthcheck_timeout_seconds,
    )
    listener = start_liveness_listener(settings, host, supervisor.liveness(settings))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            supervisor.run()
    finally:
        if listener is not None:
            listener.close()


# --- liveness ---------------------------------------------------------------------------------


class HeartbeatServer(uvicorn.Server):
    """uvicorn's server, stamping `heartbeat` at each turn of its main loop: every 0.1 s
    while the event loop keeps up, later while it runs late, never again once it hangs."""

    def __init__(self, config: uvicorn.Config, heartbeat: Heartbeat | None = None) -> None:
        super().__init__(config)
        self.heartbeat = heartbeat or Heartbeat()

    async def on_tick(self, counter: int) -> bool:
        self.heartbeat.beat()
        return await super().on_tick(counter)

    def liveness(self, settings: Settings) -> Callable[[], str | None]:
        """The liveness port's verdict for this one process."""
        stall = settings.liveness_stall_seconds
        return lambda: loop_verdict([self.heartbeat.age()], stall)


def start_liveness_listener(
    settings: Settings, host: str, verdict: Callable[[], str | None]
) -> LivenessListener | None:
    """The liveness port's listener, answering from `verdict` (None when LIVENESS_PORT is
    unset); a port that cannot be bound stops `serve` as the main port would."""
    if settings.liveness_port is None:
        return None
    try:
        listener = LivenessListener(host, settings.liveness_port, verdict)
    except OSError as exc:
        configure_logging(settings.log_level, settings.log_format)
        log.error("server.liveness_port_unavailable", port=settings.liveness_port, error=str(exc))
        sys.exit(STARTUP_FAILURE)
    listener.start()
    return listener


# --- slow clients ---------------------------------------------------------------------------


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


# The ASGI extension this server offers (http/responses.HEADER_BLOCK): uvicorn checks every
# header with two regular expressions and rebuilds its line, per response; for ConnectHub's
# dozen fixed headers (security, CORS, rate limits, request id) that was ~20 µs of a request
# whose whole budget is ~40 (docs/benchmarks.md, "Eighth round"). http/edge.py renders them
# once and hands them over as one block.
_EXTENSIONS: dict[str, dict[object, object]] = {HEADER_BLOCK: {}}


class _Cycle(RequestResponseCycle):
    """uvicorn's request cycle (its checks and rules for a response's head, the same
    errors), plus the header block, and an answer of known length written to the socket
    at once (head and body in one write, not two) when its body comes in one message."""

    _head: bytes | None = None

    async def send(self, message: Any) -> None:
        if self.response_started or message["type"] != "http.response.start":
            if self._head is not None:
                await self._send_with_head(message)
                return
            await super().send(message)
            return
        if self.access_log:
            await super().send(message)  # uvicorn's access line (ConnectHub logs its own)
            return
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        content = [STATUS_LINE[status]]
        closing = False
        for name, value in self.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        for name, value in message.get("headers", ()):
            # uvicorn's own checks, for the few headers the route itself set.
            if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
                raise RuntimeError("Invalid HTTP header.")
            name = name.lower()
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value)
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection" and b"close" in [
                token.lower().strip() for token in value.split(b",")
            ]:
                self.keep_alive = False
                closing = True
            content.extend([name, b": ", value, b"\r\n"])
        content.append(message.get(HEADER_BLOCK, b""))
        if not self.keep_alive and not closing:
            content.append(b"connection: close\r\n")
        head_only = self.scope["method"] == "HEAD" or status in (204, 304)
        if self.chunked_encoding is None and not head_only:
            self.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        head = b"".join(content)
        if self.chunked_encoding is False and not head_only:
            self._head = head  # written with the body
        else:
            self.transport.write(head)

    async def _send_with_head(self, message: Any) -> None:
        head = self._head
        assert head is not None
        self._head = None
        body = message.get("body", b"") if message["type"] == "http.response.body" else None
        whole = body is not None and len(body) == self.expected_content_length
        if not whole or message.get("more_body", False):
            # Not the whole answer in one piece: uvicorn's way (and its errors).
            if not self.disconnected:
                self.transport.write(head)
            await super().send(message)
            return
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        self.transport.write(head + body if body else head)
        self.expected_content_length = 0
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()


# uvicorn's default headers (it makes a new list each second) and their lines.
_defaults: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")


def _default_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The server's default headers (`date`, `server`) as lines, made once per list."""
    global _defaults
    if _defaults[0] is not headers:
        _defaults = (headers, b"".join(b"%s: %s\r\n" % header for header in headers))
    return _defaults[1]


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the read timeouts it lacks, and admission's
    refusal given without starting the request.

    Timeouts: uvicorn closes a keep-alive connection idle between requests
    (`timeout_keep_alive`), but waits forever for a request's headers, and for the first
    request of a new connection, and for a body that stops arriving: each such client holds
    a socket, and a stalled body holds a slot of the admission limit too. Here a request's
    headers must be complete within `header_timeout` of its first byte (of the connection,
    for the first request), and a body must not go `body_timeout` without a byte while the
    server is reading it; else the connection is closed (counted in
    `connecthub_http_client_timeouts_total`).

    Refusals: while the app's admission limit is reached (http/admission.py), a request
    without a body that the limit applies to is answered its 503 from here, as soon as its
    headers are read: no request cycle, no task, no ASGI call, which were most of what a
    refusal cost (bench/refusal_cpu.py) and decide how much excess a process can refuse
    before the excess waits in its listen backlog. A request with a body, a pipelined one,
    or one for an exempt path goes the usual way (the middleware refuses it there)."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout: float = getattr(config, "header_timeout", 10.0)
        self.body_timeout: float = getattr(config, "body_timeout", 30.0)
        self._read_timer: asyncio.TimerHandle | None = None
        self._reading_headers = False  # a request has begun and its headers are not all read
        self._body_read_at = 0.0
        # The app's admission (None: not ConnectHub's app, or no limit).
        admission = getattr(getattr(self.app, "state", None), "admission", None)
        self.admission: Admission | None = (
            admission if isinstance(admission, Admission) and admission.limit else None
        )
        self._refused = False  # the current request was refused (or answered) here
        # The app's answers given as soon as a request's headers are read (http/edge.py,
        # `EdgeMiddleware.answer_now`); None: not ConnectHub's app, or nothing to answer so.
        answer_now = getattr(getattr(self.app, "state", None), "answer_now", None)
        self.answer_now: Callable[[dict[str, Any]], tuple[int, bytes, bytes] | None] | None = (
            answer_now if callable(answer_now) else None
        )

    def _stop_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._read_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def eof_received(self) -> None:
        # The client closed its side. uvicorn then closes the connection (it does not serve
        # half-closed clients) but tells the request only in `connection_lost`, a few turns
        # of the loop later: a request that waited in the accept queue while its client gave
        # up would be started, and served to nobody. Tell it now (http/admission.py).
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        super().eof_received()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # A request whose headers did not all come in this read gets its deadline now (the
        # moment of its first byte, as near as matters). Most come in one read: they pay
        # no timer at all, where arming one per request and cancelling it was a few percent
        # of a request answered at once.
        if self._reading_headers and self._read_timer is None and not self.transport.is_closing():
            self._read_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = _EXTENSIONS
        self._refused = False
        self._reading_headers = True

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._stop_timer()
        if self._refuses_at_once():
            self._refuse()
            return
        if self.answer_now is not None and self._answers_at_once(self.answer_now):
            return
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # a WebSocket: its protocol takes the connection over
        if _declares_body(self.headers):
            self._body_read_at = self.loop.time()
            self._read_timer = self.loop.call_later(self.body_timeout, self._body_stalled)

    def on_body(self, body: bytes) -> None:
        self._body_read_at = self.loop.time()
        super().on_body(body)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.__class__ = _Cycle  # made by uvicorn's `on_headers_complete`; same state
        # Started after one more read of the sockets (a callback scheduled from a callback
        # runs after the next poll): a request that waited in the accept queue while its
        # client gave up is read together with the close right behind it, and must not be
        # served to nobody (after an overload there are thousands). `eof_received` marks
        # it; it is dropped before any task or ASGI call.
        self.loop.call_soon(self.loop.call_soon, self._start_unless_gone, cycle, app)

    def _start_unless_gone(self, cycle: RequestResponseCycle, app: Any) -> None:
        if cycle.disconnected:
            metrics.HTTP_CANCELLED.inc()
            return
        super()._start_asgi_task(cycle, app)

    def on_message_complete(self) -> None:
        self._stop_timer()
        if self._refused:
            return  # answered in `_refuse`
        super().on_message_complete()

    def _refuses_at_once(self) -> bool:
        admission = self.admission
        if admission is None or admission.admits():
            return False
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return False  # pipelined behind a request still running: answers keep their order
        if self.parser.get_method() not in (b"GET", b"DELETE", b"OPTIONS"):
            return False  # HEAD: no body in its answer; others may send a body
        if _declares_body(self.headers) or self.parser.should_upgrade():
            return False
        path = self.url.partition(b"?")[0]
        if not path.startswith(b"/") or b"%" in path:
            return False  # an absolute or escaped target: the usual way reads it
        return not exempt(path.decode("latin-1"))

    def _refuse(self) -> None:
        assert self.admission is not None
        self.admission.refused()
        self._refused = True
        keep_alive = self.parser.get_http_version() == "1.1" and self.parser.should_keep_alive()
        default_headers = self.server_state.default_headers
        self.transport.write(refusal_response(default_headers, closing=not keep_alive))
        if keep_alive:
            self.on_response_complete()  # the keep-alive timer, as after any answer
        else:
            self.transport.close()

    def _answers_at_once(
        self, answer_now: Callable[[dict[str, Any]], tuple[int, bytes, bytes] | None]
    ) -> bool:
        """A plain GET the app can answer without an await (`answer_now`: a prebuilt
        document, http/edge.py) is answered here, as a refusal is: no request cycle, task
        or ASGI call, which were most of such an answer's CPU. Any other request, or one
        the app cannot answer so, goes the usual way."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return False  # pipelined behind a request still running: answers keep their order
        if self.flow.write_paused or self.parser.get_method() != b"GET":
            return False
        url = self.url
        if not url.startswith(b"/") or not url.isascii() or b"%" in url:
            return False  # escaped or an absolute target: the usual way
        if b"#" in url or self.parser.should_upgrade() or _declares_body(self.headers):
            return False
        target, _, query = url.partition(b"?")
        http_version = self.parser.get_http_version()
        scope = self.scope
        scope["method"] = "GET"
        if http_version != "1.1":
            scope["http_version"] = http_version
        path = target.decode("ascii")
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + target
        scope["query_string"] = query
        answer = answer_now(scope)  # type: ignore[arg-type]
        if answer is None:
            return False
        status, lines, body = answer
        keep_alive = http_version != "1.0" and self.parser.should_keep_alive()
        content = [STATUS_LINE[status], _default_lines(self.server_state.default_headers), lines]
        if not keep_alive:
            content.append(b"connection: close\r\n")
        content.extend((b"\r\n", body))
        self.transport.write(b"".join(content))
        self._refused = True  # `on_message_complete` has nothing to do
        if keep_alive:
            self.on_response_complete()  # the keep-alive timer, as after any answer
        else:
            self.server_state.total_requests += 1
            self.transport.close()
        return True

    def _headers_late(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            metrics.HTTP_CLIENT_TIMEOUTS.labels(phase="headers").inc()
            self.transport.close()

    def _body_stalled(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        cycle = self.cycle
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            # The server's turn, not the client's: the app has not taken what arrived, or
            # has not asked for the body yet (the client waits for `100 Continue`).
            self._body_read_at = now
        idle = now - self._body_read_at
        if idle < self.body_timeout:
            self._read_timer = self.loop.call_later(self.body_timeout - idle, self._body_stalled)
            return
        metrics.HTTP_CLIENT_TIMEOUTS.labels(phase="body").inc()
        self.transport.close()  # the app's next receive says the client left


# --- several processes ----------------------------------------------------------------------

# The supervisor asks each process whether it is alive this often (one ping outstanding at
# a time, never waited on: a silent process does not hold up the others' checks).
_PING_INTERVAL_SECONDS = 1.0
# The supervisor looks every 0.5 s; a gap this long between two looks means it was not
# running (its process group stopped, the machine or container frozen), and its processes'
# silence over the gap says nothing of them.
_PAUSE_GAP_SECONDS = 5.0
# A process that exits before it ever served is restarted after 1, 2, 4 … seconds, at
# most this long (a database down at startup, say), instead of in a tight loop.
_MAX_RESTART_DELAY_SECONDS = 10.0


@dataclass
class _Watch:
    """What the supervisor knows of one server process."""

    pid: int | None
    started_at: float
    ready_at: float | None = None
    ping_sent_at: float | None = None
    answered_at: float | None = None
    restart_at: float | None = None  # exited: replaced at this time

    def exchange(self, process: Process, now: float) -> None:
        """Reads any answer to the health ping (`True` once the process serves) and sends
        the next one; never blocks."""
        connection = process.parent_conn
        try:
            while connection.poll():
                started = connection.recv()
                self.ping_sent_at = None
                self.answered_at = now
                if started and self.ready_at is None:
                    self.ready_at = now
                    log.info(
                        "server.process_ready",
                        pid=self.pid,
                        startup_seconds=round(now - self.started_at, 2),
                    )
            if self.ping_sent_at is None and (
                self.answered_at is None or now - self.answered_at >= _PING_INTERVAL_SECONDS
            ):
                connection.send(b"ping")
                self.ping_sent_at = now
        except (OSError, EOFError, pickle.UnpicklingError):
            pass  # the process is going away: the next look at it says how

    def overdue(
        self, now: float, loop_age: float | None, startup_timeout: float, healthcheck_timeout: float
    ) -> str | None:
        """Why this process must be killed, if it must: it has not started serving within
        `startup_timeout`, or, serving, has left a ping unanswered or not turned its event
        loop (`loop_age`, seconds since its heartbeat) for `healthcheck_timeout`."""
        if self.ready_at is None:
            if now - self.started_at > startup_timeout:
                return "did not start serving in time"
            return None
        unanswered = 0.0 if self.ping_sent_at is None else now - self.ping_sent_at
        if unanswered > healthcheck_timeout:
            return "did not answer its health ping in time"
        # A loop that stopped turning in an interpreter that still answers (its ping
        # thread does): a handler stuck in a blocking call. A stopped or wedged process
        # stops answering too, and is told by the ping.
        answering = unanswered < _PING_INTERVAL_SECONDS
        if answering and loop_age is not None and loop_age > healthcheck_timeout:
            return f"its event loop stalled for {loop_age:.0f} s"
        return None


def exit_reason(exit_code: int | None) -> str:
    if exit_code is None:
        return "unknown"
    if exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    if exit_code == STARTUP_FAILURE:
        return "failed to start"
    return f"exited with code {exit_code}"


# Server processes are forked from multiprocessing's fork server, a clean process that
# imported these modules once, rather than spawned (uvicorn's way): each spawned process
# imported the app again (~2.5 CPU-s, seconds of wall), at start and for every replacement
# of one that died or hung. A fork copies no thread, socket or open connection of the
# supervisor: the fork server is a fresh interpreter started by the supervisor, with its
# environment, before the first server process (ADR 0056). It preloads the app with the
# collector paused and compiles the routes before forking (connecthub/preforked.py), so no
# process compiles them on its first request; then this module, for the processes' target.
_FORK_SERVER = multiprocessing.get_context("forkserver")
_FORK_SERVER.set_forkserver_preload(["connecthub.preforked", "connecthub.serving"])


class ServerProcess(Process):
    """uvicorn's server process, with the heartbeat its event loop stamps (shared memory the
    supervisor reads: `Supervisor.liveness`, and a stalled loop is killed), forked from the
    fork server above.

    The fork server is the processes' parent and tells the supervisor of each exit; were it
    killed, multiprocessing would call every process it forked exited (code 255) while they
    still served, and a process "replaced" that way would be left running without a
    supervisor. So whether the process runs, and the signals sent to it, go through a pidfd
    of its own (Linux): true after the fork server is gone, and never to a reused pid."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket]) -> None:
        self.heartbeat = Heartbeat()  # before the process is started: it goes with it
        super().__init__(config, sockets)
        # uvicorn made a spawning process (not started yet); the same call, forked instead.
        self.process = _FORK_SERVER.Process(  # type: ignore[assignment]
            target=subprocess_started,
            kwargs={
                "config": config,
                "target": self.target,
                "sockets": sockets,
                "stdin_fileno": None,
            },
        )
        self._pidfd: int | None = None

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = HeartbeatServer(self.config, self.heartbeat)
        return self._server

    def start(self) -> None:
        self.process.start()
        assert self.process.pid is not None
        with contextlib.suppress(ProcessLookupError):  # exited already
            self._pidfd = os.pidfd_open(self.process.pid)

    def is_running(self) -> bool:
        if self._pidfd is None:
            return self.process.is_alive()
        return not select.select([self._pidfd], [], [], 0)[0]  # readable once it has exited

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def join(self) -> None:
        if self._pidfd is not None:
            select.select([self._pidfd], [], [])
            os.close(self._pidfd)
            self._pidfd = None
        self.process.join()  # its exit code, when the fork server could tell it

    def _signal(self, number: int) -> None:
        if self._pidfd is None:  # gone before it could be opened, or joined already
            if number == signal.SIGKILL:
                super().kill()
            else:
                super().terminate()
            return
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self._pidfd, number)
        self.parent_conn.close()
        self.child_conn.close()


def _loop_age(process: Process) -> float | None:
    return process.heartbeat.age() if isinstance(process, ServerProcess) else None


def _running(process: Process) -> bool:
    return (
        process.is_running() if isinstance(process, ServerProcess) else process.process.is_alive()
    )


class Supervisor(Multiprocess):
    """uvicorn's supervisor of several server processes (the shared socket, signals:
    TERM/INT stop, HUP restarts one by one, TTIN/TTOU add or remove one), with its health
    check replaced. uvicorn pings every process and kills one that does not answer within
    5 s, blocking on each in turn; a replacement starting on a loaded machine took longer
    than that just to import, so it was killed again and again (issue 25, item 8), and
    nothing was logged. Here:

    - the ping is never waited on; a new process has `startup_timeout` to start serving,
      a serving one `healthcheck_timeout` to answer (a thread answers it, so only a wedged
      interpreter stays silent, never a busy one) and to turn its event loop (its
      heartbeat: a loop hung in a blocking call is caught too);
    - a process that exits or is killed is replaced at once (after 1, 2, 4 … ≤ 10 s when
      its predecessors in that slot never served), and every exit, kill and start is one
      structlog line with the pid and the reason;
    - a replacement that fails to start is retried: only when no process has ever served
      (bad configuration, port taken) does the supervisor give up, as uvicorn does.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket],
        *,
        startup_timeout: float,
        healthcheck_timeout: float,
    ) -> None:
        super().__init__(config, sockets)
        self.startup_timeout = startup_timeout
        self.healthcheck_timeout = healthcheck_timeout
        self._watches: dict[Process, _Watch] = {}
        self._failed_starts: dict[int, int] = {}  # slot → predecessors that never served
        self._ever_served = False
        self._last_look: float | None = None
        self._grace_until = 0.0  # after a pause: no verdict on silence before this

    def liveness(self, settings: Settings) -> Callable[[], str | None]:
        """The liveness port's verdict: live while one server process' event loop turns."""
        stall = settings.liveness_stall_seconds
        return lambda: loop_verdict([_loop_age(p) for p in list(self.processes)], stall)

    def init_processes(self) -> None:
        log.info("server.supervisor_started", processes=self.processes_num)
        for _ in range(self.processes_num):
            started = ServerProcess(self.config, self.sockets)
            started.start()
            self.processes.append(started)
        now = time.monotonic()
        for slot, process in enumerate(self.processes):
            self._watch(slot, process, now)

    def handle_ttin(self) -> None:
        self.processes_num += 1
        process = ServerProcess(self.config, self.sockets)
        process.start()
        self.processes.append(process)

    def restart_all(self) -> None:
        # uvicorn's, with our process class: each new process serves before its
        # predecessor stops; one that does not become ready aborts the restart.
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = ServerProcess(self.config, self.sockets)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    log.error("server.restart_aborted", pid=new.pid, keeps=old.pid)
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def handle_hup(self) -> None:
        # uvicorn's rolling restart: each new process serves before its predecessor stops.
        before = [process.pid for process in self.processes]
        log.info("server.processes_restarting", reason="SIGHUP", pids=before)
        self.restart_all()
        now = time.monotonic()
        for process in self.processes:
            if process not in self._watches:  # uvicorn waited until it served
                self._watches[process] = _Watch(pid=process.pid, started_at=now, ready_at=now)
        log.info("server.processes_restarted", pids=[process.pid for process in self.processes])

    def _watch(self, slot: int, process: Process, now: float) -> _Watch:
        watch = self._watches.get(process)
        if watch is None:  # started by uvicorn's own handler (TTIN: one more process)
            watch = self._watches[process] = _Watch(pid=process.pid, started_at=now)
            log.info("server.process_started", pid=process.pid, slot=slot)
        return watch

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        now = time.monotonic()
        self._after_a_pause(now)
        for slot, process in enumerate(self.processes):
            watch = self._watch(slot, process, now)
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    self._replace(slot, process)
                continue
            if not _running(process):
                self._exited(slot, process, watch, now, killed_for=None)
                continue
            watch.exchange(process, now)
            if watch.ready_at is not None:
                self._ever_served = True
                self._failed_starts[slot] = 0
            reason = watch.overdue(
                now, _loop_age(process), self.startup_timeout, self.healthcheck_timeout
            )
            if reason is not None and now < self._grace_until and watch.ready_at is not None:
                reason = None  # silent over a pause of everyone: let it beat again first
            if reason is not None:
                process.kill()
                process.join()
                self._exited(slot, process, watch, now, killed_for=reason)
            if self.should_exit.is_set():
                return
        for gone in set(self._watches) - set(self.processes):
            del self._watches[gone]  # removed by TTOU or replaced by HUP

    def _after_a_pause(self, now: float) -> None:
        """When the supervisor itself was stopped (SIGSTOP of the group, a frozen machine),
        its processes were too: their unanswered pings and old heartbeats are the pause's,
        not theirs. They get `healthcheck_timeout` from now to answer again (it killed every
        one of them on resuming: a benchmark pausing the servers it was not measuring saw
        them replaced, caches cold, mid-run)."""
        last, self._last_look = self._last_look, now
        if last is None or now - last < _PAUSE_GAP_SECONDS:
            return
        self._grace_until = now + self.healthcheck_timeout
        for watch in self._watches.values():
            watch.ping_sent_at = None
        log.warning("server.supervisor_resumed", paused_seconds=round(now - last, 1))

    def _exited(
        self, slot: int, process: Process, watch: _Watch, now: float, killed_for: str | None
    ) -> None:
        process.kill()  # closes the ping pipe (the process is gone already)
        process.join()
        code = process.exitcode
        served = watch.ready_at is not None
        if code == STARTUP_FAILURE and not self._ever_served:
            log.error(
                "server.process_exited",
                pid=watch.pid,
                slot=slot,
                exit_code=code,
                reason=exit_reason(code),
                action="stopping: no server process ever started",
            )
            self.should_exit.set()
            return
        failed = 0 if served else self._failed_starts.get(slot, 0) + 1
        self._failed_starts[slot] = failed
        delay = 0.0 if failed <= 1 else min(2.0 ** (failed - 2), _MAX_RESTART_DELAY_SECONDS)
        log.warning(
            "server.process_exited",
            pid=watch.pid,
            slot=slot,
            exit_code=code,
            reason=killed_for or exit_reason(code),
            served=served,
            uptime_seconds=round(now - watch.started_at, 1),
            restart_in_seconds=delay,
        )
        watch.restart_at = now + delay
        if delay == 0:
            self._replace(slot, process)

    def _replace(self, slot: int, old: Process) -> None:
        new = ServerProcess(self.config, self.sockets)
        new.start()
        self.processes[slot] = new
        self._watches.pop(old, None)
        self._watches[new] = _Watch(pid=new.pid, started_at=time.monotonic())
        log.info("server.process_started", pid=new.pid, slot=slot, replaces=old.pid)
