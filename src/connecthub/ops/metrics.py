"""Prometheus metrics. Defined once here; with several server workers the CLI turns on
prometheus-client's multiprocess mode so `/metrics` sums all of them."""

from __future__ import annotations

import os
import secrets

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from connecthub.config import Settings
from connecthub.errors import NotFound, Unauthorized

HTTP_REQUESTS = Counter(
    "connecthub_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "connecthub_http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL_IN_USE = Gauge(
    "connecthub_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
JOB_QUEUE_DEPTH = Gauge(
    "connecthub_job_queue_depth",
    "Jobs waiting to run (ready and delayed).",
    # The queue is shared: the latest reading from any worker is the truth, not the max
    # of stale ones.
    multiprocess_mode="livemostrecent",
)
JOB_QUEUE_OLDEST_AGE = Gauge(
    "connecthub_job_queue_oldest_age_seconds",
    "Age of the oldest job waiting to run.",
    multiprocess_mode="livemostrecent",
)
JOBS_PROCESSED = Counter(
    "connecthub_jobs_processed_total",
    "Jobs finished, by name and outcome.",
    ["job", "outcome"],
)
CACHE_REQUESTS = Counter(
    "connecthub_cache_requests_total",
    "Cache look-ups by engine and result (hit or miss).",
    ["cache", "result"],
)
STREAMING_CONNECTIONS = Gauge(
    "connecthub_streaming_connections",
    "Open streaming connections (WebSocket and SSE).",
    ["transport"],
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "connecthub_rate_limited_total",
    "Requests refused by the rate limiter, by bucket.",
    ["bucket"],
)


def _start_known_series_at_zero() -> None:
    """Series with known label values exist from the first scrape, so `rate()` sees their
    first increment; in multiprocess mode a metric without any series is not exported."""
    for cache in ("memory", "redis"):
        for result in ("hit", "miss"):
            CACHE_REQUESTS.labels(cache=cache, result=result)
    for transport in ("websocket", "sse"):
        STREAMING_CONNECTIONS.labels(transport=transport)


_start_known_series_at_zero()


def render_latest() -> tuple[bytes, str]:
    """The exposition text: of every worker in multiprocess mode, else of this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def check_scrape(settings: Settings, authorization: str | None) -> None:
    """May this request read `/metrics`? With METRICS_TOKEN set, only with
    `Authorization: Bearer <token>` (401, as Prometheus' `authorization` config sends it);
    without one, only outside production (404 there: nothing to find)."""
    if settings.metrics_open_without_token:
        return
    if not settings.metrics_token:
        raise NotFound()
    scheme, _, supplied = (authorization or "").partition(" ")
    valid = scheme.lower() == "bearer" and secrets.compare_digest(
        supplied.strip().encode(), settings.metrics_token.encode()
    )
    if not valid:
        raise Unauthorized(
            "The metrics token is missing or wrong", headers={"WWW-Authenticate": "Bearer"}
        )
