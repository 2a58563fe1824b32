"""Probes for the orchestrator and the Prometheus scrape endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from connecthub.http.deps import EnginesDep, SettingsDep
from connecthub.ops import metrics

router = APIRouter(tags=["operations"])

PROBE_TIMEOUT_SECONDS = 2.0


@router.get(
    "/health",
    summary="The process is up (Mastodon's health check: plain `OK`)",
    response_class=PlainTextResponse,
)
async def health() -> str:
    return "OK"


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="The database and (when configured) Redis answer",
    description=(
        "`detail` says what a ready process does in a degraded way, without failing the probe "
        "(e.g. `flags`: serving the last known feature-flag rules while the event bus is away)."
    ),
)
async def ready(request: Request, engines: EnginesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    probes: dict[str, Callable[[], Awaitable[object]]] = {"database": engines.db.ping}
    if engines.redis is not None:
        probes["redis"] = engines.redis.ping
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    # Notes registered by the app (name -> a callable answering "ok" or what is degraded).
    notes = getattr(request.app.state, "readiness_notes", {})
    detail = {name: note() for name, note in notes.items()}
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        return JSONResponse(
            {
                "status": "unavailable",
                "error": f"Not ready: {', '.join(failing)}",
                "checks": checks,
                "detail": detail,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "checks": checks, "detail": detail})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description=(
        "With METRICS_TOKEN set, needs `Authorization: Bearer <METRICS_TOKEN>` (401 without "
        "it); without one, open outside production and 404 in production."
    ),
)
async def prometheus_metrics(
    request: Request,
    engines: EnginesDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    metrics.check_scrape(settings, authorization)
    metrics.DB_POOL_IN_USE.set(engines.db.pool_in_use())
    admission = getattr(request.app.state, "admission", None)
    if admission is not None:
        metrics.HTTP_IN_FLIGHT.set(admission.in_flight)
        metrics.HTTP_ADMISSION_LIMIT.set(admission.current)
    # The scrape answers even when the queue cannot.
    with contextlib.suppress(Exception):
        metrics.record_queue(await asyncio.wait_for(engines.jobs.stats(), PROBE_TIMEOUT_SECONDS))
    body, content_type = metrics.render_latest()
    return Response(body, media_type=content_type)
