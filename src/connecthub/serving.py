"""How `connecthub serve` runs uvicorn: its options, the slow-client timeouts uvicorn lacks,
and the supervisor of several server processes (docs/operations.md, "Processes and
restarts")."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import signal
import sys
import time
from dataclasses import dataclass
from socket import socket
from typing import Any

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from connecthub.config import Settings
from connecthub.ops import metrics
from connecthub.ops.logging import configure_logging

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
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    # The supervising process logs as the servers do (one JSON line per event).
    configure_logging(settings.log_level, settings.log_format)
    supervisor = Supervisor(
        config,
        [config.bind_socket()],
        startup_timeout=settings.web_startup_timeout_seconds,
        healthcheck_timeout=settings.web_healthcheck_timeout_seconds,
    )
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run()


# --- slow clients ---------------------------------------------------------------------------


def _declares_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the read timeouts it lacks. uvicorn closes a
    keep-alive connection idle between requests (`timeout_keep_alive`), but waits forever
    for a request's headers, and for the first request of a new connection, and for a body
    that stops arriving: each such client holds a socket, and a stalled body holds a slot
    of the admission limit too. Here a request's headers must be complete within
    `header_timeout` of its first byte (of the connection, for the first request), and a
    body must not go `body_timeout` without a byte while the server is reading it; else
    the connection is closed (counted in `connecthub_http_client_timeouts_total`)."""

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
        self._body_read_at = 0.0

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

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        self._stop_timer()
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # a WebSocket: its protocol takes the connection over
        if _declares_body(self.headers):
            self._body_read_at = self.loop.time()
            self._read_timer = self.loop.call_later(self.body_timeout, self._body_stalled)

    def on_body(self, body: bytes) -> None:
        self._body_read_at = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_timer()
        super().on_message_complete()

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

    def silent_for(self, now: float, startup_timeout: float, healthcheck_timeout: float) -> float:
        """Seconds past what this process is allowed without an answer (> 0: kill it):
        `startup_timeout` to start serving, then `healthcheck_timeout` per ping."""
        if self.ready_at is None:
            return now - self.started_at - startup_timeout
        if self.ping_sent_at is None:
            return -1.0
        return now - self.ping_sent_at - healthcheck_timeout


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


class Supervisor(Multiprocess):
    """uvicorn's supervisor of several server processes (the shared socket, signals:
    TERM/INT stop, HUP restarts one by one, TTIN/TTOU add or remove one), with its health
    check replaced. uvicorn pings every process and kills one that does not answer within
    5 s, blocking on each in turn; a replacement starting on a loaded machine took longer
    than that just to import, so it was killed again and again (issue 25, item 8), and
    nothing was logged. Here:

    - the ping is never waited on; a new process has `startup_timeout` to start serving,
      a serving one `healthcheck_timeout` to answer (a thread answers it, so only a wedged
      interpreter stays silent, never a busy one);
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

    def init_processes(self) -> None:
        log.info("server.supervisor_started", processes=self.processes_num)
        super().init_processes()
        now = time.monotonic()
        for slot, process in enumerate(self.processes):
            self._watch(slot, process, now)

    def handle_hup(self) -> None:
        # uvicorn's rolling restart: each new process serves before its predecessor stops.
        before = [process.pid for process in self.processes]
        log.info("server.processes_restarting", reason="SIGHUP", pids=before)
        super().handle_hup()
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
        for slot, process in enumerate(self.processes):
            watch = self._watch(slot, process, now)
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    self._replace(slot, process)
                continue
            if not process.process.is_alive():
                self._exited(slot, process, watch, now, killed_for=None)
                continue
            watch.exchange(process, now)
            if watch.ready_at is not None:
                self._ever_served = True
                self._failed_starts[slot] = 0
            overdue = watch.silent_for(now, self.startup_timeout, self.healthcheck_timeout)
            if overdue > 0:
                waited = "start serving" if watch.ready_at is None else "answer its health ping"
                process.kill()
                process.join()
                self._exited(slot, process, watch, now, killed_for=f"did not {waited} in time")
            if self.should_exit.is_set():
                return
        for gone in set(self._watches) - set(self.processes):
            del self._watches[gone]  # removed by TTOU or replaced by HUP

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
        new = Process(self.config, self.sockets)
        new.start()
        self.processes[slot] = new
        self._watches.pop(old, None)
        self._watches[new] = _Watch(pid=new.pid, started_at=time.monotonic())
        log.info("server.process_started", pid=new.pid, slot=slot, replaces=old.pid)
