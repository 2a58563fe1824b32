"""Overload is shed, not queued, and work for a client that left is dropped (issue 25, item 4).

One pure ASGI layer, the outermost of the stack:

- **Admission.** A server process works on at most `limit` requests at once
  (`Settings.requests_in_flight_limit`). The next one is answered at once with
  `503 {"error": …}` and `Retry-After`, before anything else runs: no body read, no token
  resolved, no rate-limit bucket, no access line or span (one `http.overloaded` warning per
  10 s while shedding, and `connecthub_http_requests_shed_total`). A request without a body
  is refused by the server's protocol itself as soon as its headers are read
  (`serving.GuardedHttpToolsProtocol`, with `refusal_response`: no task, no ASGI call);
  this layer refuses the others. A queued request would have waited for a pooled
  connection behind all the others and timed out anyway, and what shedding spends per
  refusal decides how much excess a process survives. The probes and `/metrics` are never
  counted nor refused (an orchestrator must see the process alive while it sheds), and
  neither is streaming (`/api/v1/streaming…`: its WebSocket skips this stack altogether,
  SSE streams are held for hours and capped per token and account).
- **Disconnects.** uvicorn does not stop a request whose client has gone: the handler runs
  to the end and its answer is thrown away. Under `connecthub serve` a request whose client
  closed before it was read never starts (after an overload, the accept queue is full of
  them: `serving.GuardedHttpToolsProtocol` starts a request one read of the sockets later
  and drops it if its client's close came meanwhile), and once a request's body has been
  read, a watcher waits for the `http.disconnect` and cancels the request's task; the
  access log says 499. A write request's commit and what follows it
  are never cut (`http/deps._unit_of_work` finishes them first).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connecthub.http.errors import error_body
from connecthub.http.security import CONTENT_SECURITY_POLICY
from connecthub.ops import metrics

log = structlog.get_logger(__name__)

# Never counted, never refused: probes, metrics, and the long-lived streaming requests.
EXEMPT_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})
EXEMPT_PREFIX = "/api/v1/streaming"
# Seconds a refused client is asked to wait: one in-flight request takes milliseconds, so
# slots come free at once; a client that honours it spreads its retries over the next second.
RETRY_AFTER_SECONDS = 1
# The admission limit adapts (see `Admission`): the mean time to answer an admitted request
# it aims under, how often it moves, and how low it goes.
_TARGET_SECONDS = 0.5
_WINDOW_SECONDS = 0.5
_FLOOR = 2
# While shedding, one warning line per this many seconds (with the count), not one per
# refusal: at ten times capacity that would be thousands of lines a second.
_LOG_EVERY_SECONDS = 10.0

# A request still running this long after its body was read is watched for its client
# leaving (the cost of a task, paid only by requests that last).
_WATCH_AFTER_SECONDS = 0.05

_REFUSAL_BODY = json.dumps(error_body(503)).encode()
_REFUSAL_START: Message = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_REFUSAL_BODY)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"cache-control", b"no-store"),
        # The security headers every answer carries (http/security.py), fixed here.
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        # A browser client of the API (any origin, as http/security.py allows) can read
        # the refusal and its Retry-After instead of seeing a network error.
        (b"access-control-allow-origin", b"*"),
        (b"access-control-expose-headers", b"Retry-After"),
    ],
}
_REFUSAL_BODY_MESSAGE: Message = {"type": "http.response.body", "body": _REFUSAL_BODY}
# The same refusal as bytes on the wire, for the protocol's own (`serving`).
_REFUSAL_WIRE = b"".join(b"%s: %s\r\n" % header for header in _REFUSAL_START["headers"])


def refusal_response(default_headers: list[tuple[bytes, bytes]], *, closing: bool) -> bytes:
    """The refusal as an HTTP/1.1 response, after the server's `default_headers` (Date)."""
    head = [b"HTTP/1.1 503 Service Unavailable\r\n"]
    head += [b"%s: %s\r\n" % header for header in default_headers]
    head.append(_REFUSAL_WIRE)
    if closing:
        head.append(b"connection: close\r\n")
    head += [b"\r\n", _REFUSAL_BODY]
    return b"".join(head)


_DISCONNECT: Message = {"type": "http.disconnect"}


@dataclass
class Admission:
    """The process' count of requests in flight and its limit (one per app; `/metrics`
    reads it).

    `limit` is MAX_REQUESTS_IN_FLIGHT; the limit applied, `current`, follows how fast the
    admitted requests are answered (AIMD, per `_WINDOW_SECONDS`): while the process is at
    its limit and they take more than `_TARGET_SECONDS` on average, it shrinks by a
    quarter (down to `_FLOOR`); while they take less, it grows back by one. A process given
    a fraction of a core (a shared machine, a throttled container) serves fewer requests at
    once, each in time, and refuses the rest at once: with 20 admitted on a tenth of a
    core each took seconds, and beyond the client's 10 s the answer was wasted work.
    Unloaded, answers take milliseconds and `current` stays at `limit`."""

    limit: int | None
    in_flight: int = 0
    shed: int = 0
    current: int = 0
    _shed_unlogged: int = 0
    _logged_at: float = field(default=-_LOG_EVERY_SECONDS)
    _window_began: float = 0.0
    _window_seconds: float = 0.0  # summed latency of the answers in the window
    _window_answers: int = 0
    _window_full: bool = False  # the limit was reached during the window

    def __post_init__(self) -> None:
        self.current = self.limit or 0

    def admits(self) -> bool:
        if self.limit is None:
            return True
        if self.in_flight < self.current:
            return True
        self._window_full = True
        return False

    @property
    def busy(self) -> bool:
        """Half the limit or more in flight: requests are watched for their client leaving
        from the start (see `_ClientWatch`)."""
        return self.limit is not None and 2 * self.in_flight >= self.current

    def answered(self, seconds: float, now: float) -> None:
        """An admitted request ended after `seconds`; once per window, the limit moves."""
        self._window_seconds += seconds
        self._window_answers += 1
        if now - self._window_began < _WINDOW_SECONDS or self.limit is None:
            return
        mean = self._window_seconds / self._window_answers
        if mean > _TARGET_SECONDS:
            if self._window_full:
                self.current = max(min(_FLOOR, self.limit), (self.current * 3) // 4)
        elif self.current < self.limit:
            self.current += 1
        self._window_began = now
        self._window_seconds = 0.0
        self._window_answers = 0
        self._window_full = self.in_flight >= self.current

    def refused(self) -> None:
        self.shed += 1
        self._shed_unlogged += 1
        metrics.HTTP_SHED.inc()
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY_SECONDS:
            log.warning(
                "http.overloaded",
                limit=self.current,
                refused=self._shed_unlogged,
                since_seconds=round(min(now - self._logged_at, _LOG_EVERY_SECONDS), 1),
            )
            self._logged_at = now
            self._shed_unlogged = 0


def exempt(path: str) -> bool:
    """Never counted, never refused (the probes, `/metrics`, streaming)."""
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIX)


def _declares_body(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (key == b"content-length" and value.strip() != b"0"):
            return True
    return False


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission
        self.sweep: _Sweep | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if not admission.admits():
            admission.refused()
            await send(_REFUSAL_START)
            await send(_REFUSAL_BODY_MESSAGE)
            return
        task = asyncio.current_task()
        assert task is not None
        sweep = self.sweep
        if sweep is None or sweep.loop is not task.get_loop():
            sweep = self.sweep = _Sweep()  # the app serves from another loop (tests do)
        watch = _ClientWatch(receive, task, at_once=admission.busy, send=send, sweep=sweep)
        if not _declares_body(scope):
            # A request whose client left before it started never started: the protocol
            # saw to that (serving.GuardedHttpToolsProtocol starts a request one read of
            # the sockets after reading it, time enough to see its client's close).
            watch.without_body()
        admission.in_flight += 1
        began = time.monotonic()
        try:
            await self.app(scope, watch.app_receive, watch.watched_send)
        except asyncio.CancelledError:
            if not watch.cancelled:
                raise  # not ours: the server is stopping
            if task.uncancel():
                raise  # someone else cancelled it too
            metrics.HTTP_CANCELLED.inc()
        finally:
            watch.stop()
            admission.in_flight -= 1
            now = time.monotonic()
            admission.answered(now - began, now)


class _Sweep:
    """Starts the watch of each request still running `_WATCH_AFTER_SECONDS` (to twice
    that) after its body was read: one timer for all of a process' requests, while any is
    waiting, instead of a timer armed and cancelled per request. A request is added to the
    young set; each tick starts the watches of the old set and ages the young one."""

    __slots__ = ("loop", "old", "timer", "young")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.young: set[_ClientWatch] = set()
        self.old: set[_ClientWatch] = set()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, watch: _ClientWatch) -> None:
        self.young.add(watch)
        if self.timer is None:
            self.timer = self.loop.call_later(_WATCH_AFTER_SECONDS, self._tick)

    def discard(self, watch: _ClientWatch) -> None:
        self.young.discard(watch)
        self.old.discard(watch)

    def _tick(self) -> None:
        due, self.old, self.young = self.old, self.young, set()
        for watch in due:
            watch.begin()
        self.timer = self.loop.call_later(_WATCH_AFTER_SECONDS, self._tick) if self.old else None


class _ClientWatch:
    """Wraps a request's receive and send: the app reads its body as usual; once the body
    is complete, a task waits for the client to disconnect and cancels the request's task,
    unless the answer has been sent by then. The task is only made for a request still
    running `_WATCH_AFTER_SECONDS` after its body (most are answered sooner; `_Sweep`),
    except in a busy process (`at_once`): there a request may come from a client that left
    while it waited to be read (thousands do when a crowd gives up at once), and is then
    cancelled at its first await instead of running its course. The app's own receive
    calls after the body get what the watcher got, as if they had asked the server.

    A request without a body has nothing to read but one empty message, which the server
    holds ready: it is watched at once (`unread`), and the message goes to whoever asks
    first, the app or the watcher (which keeps it for the app)."""

    __slots__ = (
        "answered",
        "at_once",
        "body_read",
        "cancelled",
        "first",
        "receive",
        "received",
        "request_task",
        "send",
        "sweep",
        "unread",
        "watcher",
    )

    def __init__(
        self,
        receive: Receive,
        request_task: asyncio.Task[Any],
        *,
        at_once: bool,
        send: Send | None = None,
        sweep: _Sweep | None = None,
    ) -> None:
        self.receive = receive
        self.request_task = request_task
        self.at_once = at_once
        self.send = send
        self.sweep = sweep
        self.watcher: asyncio.Task[None] | None = None
        self.received: Message = _DISCONNECT
        self.first: Message | None = None  # the body message the watcher took for the app
        self.body_read = False
        self.unread = False  # the body message is still the server's
        self.answered = False
        self.cancelled = False

    def read(self, message: Message) -> Message:
        """Notes a message the app gets; the last piece of the body starts the watch."""
        if message["type"] == "http.request" and not message.get("more_body", False):
            self.body_read = True
            self._arm()
        return message

    def without_body(self) -> None:
        """A request that declares no body: watched from now on."""
        self.body_read = True
        self.unread = True
        self._arm()

    def _arm(self) -> None:
        if self.at_once or self.sweep is None:
            self.begin()
        else:
            self.sweep.add(self)

    def begin(self) -> None:
        if self.watcher is None and not self.answered:
            self.watcher = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        if self.sweep is not None:
            self.sweep.discard(self)
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()

    async def _watch(self) -> None:
        # After the body, a server's receive returns when the client disconnects or the
        # answer is complete (uvicorn and httpx answer `http.disconnect` for both).
        try:
            received = await self.receive()
            if self.unread:
                self.unread = False
                if received["type"] == "http.request":  # the body: the app's
                    self.first = received
                    received = await self.receive()
            self.received = received
        except asyncio.CancelledError:
            # Stopped: the answer went out. Ending quietly keeps no exception on the task,
            # whose traceback would hold this watch and so the task itself: a reference
            # cycle per watched request, left for the rare full collections (growing the
            # process by tens of MiB a minute under load; docs/benchmarks.md).
            return
        except Exception:  # a server whose receive fails: nothing to watch
            return
        if self.received["type"] == "http.disconnect" and not self.answered:
            self.cancelled = True
            self.request_task.cancel()

    async def app_receive(self) -> Message:
        if not self.body_read:
            return self.read(await self.receive())
        if self.unread:  # the watcher has not taken it (it would have at its first step)
            self.unread = False
            return await self.receive()  # the body message, from the server
        if self.first is not None:
            first, self.first = self.first, None
            return first
        if self.answered:
            return _DISCONNECT
        if self.watcher is None:
            if self.sweep is not None:
                self.sweep.discard(self)
            self.begin()
        assert self.watcher is not None
        await asyncio.shield(self.watcher)
        received = self.received
        if received["type"] != "http.disconnect":
            self.watcher = None  # the server said something else: ask it again next time
        return received

    async def watched_send(self, message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.answered = True
        assert self.send is not None
        await self.send(message)
