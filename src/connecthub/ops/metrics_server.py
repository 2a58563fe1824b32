"""The `/metrics` listener of a process that serves no HTTP API: `connecthub worker
--metrics-port`. The same exposition and the same METRICS_TOKEN gate as the server's
`/metrics`; the queue gauges are read from the queue at each scrape."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connecthub.config import Settings
from connecthub.errors import ConnectHubError
from connecthub.ops import metrics

log = structlog.get_logger(__name__)

SCRAPE_READ_SECONDS = 2.0


def metrics_app(settings: Settings, refresh: Callable[[], Awaitable[None]]) -> Starlette:
    async def scrape(request: Request) -> Response:
        try:
            metrics.check_scrape(settings, request.headers.get("authorization"))
        except ConnectHubError as exc:
            refusal = {"error": exc.message}
            return JSONResponse(refusal, exc.status_code, headers=exc.headers or None)
        # The scrape answers even when the queue cannot.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(refresh(), SCRAPE_READ_SECONDS)
        body, content_type = metrics.render_latest()
        return Response(body, media_type=content_type)

    async def live(_request: Request) -> Response:
        # A liveness probe for the worker (Kubernetes): answered by its event loop, so a
        # wedged worker stops answering; no token, nothing read.
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/metrics", scrape), Route("/health/live", live)])


class _Listener(uvicorn.Server):
    """uvicorn inside a process that owns its signals (the worker drains on SIGTERM)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MetricsServer:
    def __init__(
        self, settings: Settings, host: str, port: int, refresh: Callable[[], Awaitable[None]]
    ) -> None:
        config = uvicorn.Config(
            metrics_app(settings, refresh),
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
        )
        self._server = _Listener(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listening on return (or raises: the port is taken)."""
        self._task = asyncio.create_task(self._serve(), name="metrics-listener")
        while not self._server.started:
            if self._task.done():
                await self._task  # raises why it stopped
                raise OSError("the metrics listener stopped before it listened")
            await asyncio.sleep(0.01)
        log.info("metrics.listening", host=self._server.config.host, port=self._server.config.port)

    async def _serve(self) -> None:
        try:
            await self._server.serve()
        except SystemExit:
            # uvicorn logs why (the address is taken, say) and exits; in a task, an exit
            # would stop the whole event loop.
            config = self._server.config
            raise OSError(f"cannot listen on {config.host}:{config.port}") from None

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task
