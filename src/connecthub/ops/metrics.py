"""Prometheus metrics. Defined once here; with several server workers the CLI turns on
prometheus-client's multiprocess mode so `/metrics` sums all of them."""

from __future__ import annotations

import asyncio
import bisect
import os
import secrets
from typing import Any, Protocol

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
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_LATENCY = Histogram(
    "connecthub_http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "connecthub_http_requests_in_flight",
    "Requests the server processes are working on (read at each scrape; probes, metrics "
    "and streaming are not counted).",
    multiprocess_mode="livesum",
)
HTTP_ADMISSION_LIMIT = Gauge(
    "connecthub_http_admission_limit",
    "Requests the server processes admit at once now (read at each scrape): "
    "MAX_REQUESTS_IN_FLIGHT, lowered while admitted requests are answered slowly.",
    multiprocess_mode="livesum",
)
HTTP_SHED = Counter(
    "connecthub_http_requests_shed_total",
    "Requests refused at once (503) because the process had MAX_REQUESTS_IN_FLIGHT in flight.",
)
HTTP_CANCELLED = Counter(
    "connecthub_http_requests_cancelled_total",
    "Requests dropped because their client disconnected before the answer: cancelled, or "
    "not started at all (the client left while the request waited to be read).",
)
HTTP_CLIENT_TIMEOUTS = Counter(
    "connecthub_http_client_timeouts_total",
    "Connections closed because a client sent its request too slowly: headers not complete "
    "within HTTP_HEADER_TIMEOUT_SECONDS, or a body silent for HTTP_BODY_TIMEOUT_SECONDS.",
    ["phase"],
)
DB_POOL_IN_USE = Gauge(
    "connecthub_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_REPLICA_LAG = Gauge(
    "connecthub_db_replica_lag_seconds",
    "Seconds a read replica's replay is behind the primary's writes (NaN: not answering); "
    "past DATABASE_REPLICA_MAX_LAG_SECONDS it leaves the read rotation.",
    ["replica"],
    multiprocess_mode="livemax",
)
DB_REPLICA_IN_ROTATION = Gauge(
    "connecthub_db_replica_in_rotation",
    "1 while a read replica serves reads, 0 while it is down or lags too far.",
    ["replica"],
    multiprocess_mode="livemin",
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
JOB_DEAD_LETTERS = Gauge(
    "connecthub_job_dead_letters",
    "Jobs that failed every attempt, waiting for `connecthub jobs retry` or `drop`.",
    multiprocess_mode="livemostrecent",
)
JOB_DEAD_LETTER_OLDEST_AGE = Gauge(
    "connecthub_job_dead_letter_oldest_age_seconds",
    "How long the oldest dead letter has waited (0 when there is none).",
    multiprocess_mode="livemostrecent",
)
JOBS_PROCESSED = Counter(
    "connecthub_jobs_processed_total",
    "Jobs finished, by name and outcome.",
    ["job", "outcome"],
)
SWEEP_REQUEUED = Counter(
    "connecthub_sweeper_requeued_total",
    "Jobs the sweeper queued again from database state, by kind of pending work.",
    ["kind"],
)
SWEEP_RUNS = Counter(
    "connecthub_sweeper_runs_total",
    "Sweeps of one kind of pending work, by outcome (done or failed).",
    ["kind", "outcome"],
)
SWEEP_LAST_SUCCESS = Gauge(
    "connecthub_sweeper_last_success_timestamp_seconds",
    "When a sweep last finished without error (Unix time).",
    multiprocess_mode="max",
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
FLAGS_RULES_STALE = Gauge(
    "connecthub_flags_rules_stale",
    "1 while a process serves its last known feature-flag rules without the event bus "
    "(changes made elsewhere may not have reached it), else 0 (flags/store.py).",
    multiprocess_mode="max",
)
FLAGS_RELOADS = Counter(
    "connecthub_flags_reloads_total",
    "Reloads of the feature-flag rule set, by outcome (done or failed).",
    ["outcome"],
)


class QueueReading(Protocol):
    """What the queue gauges show (infra.jobs.QueueStats has these)."""

    @property
    def ready(self) -> int: ...
    @property
    def delayed(self) -> int: ...
    @property
    def dead(self) -> int: ...
    @property
    def oldest_age_seconds(self) -> float: ...
    @property
    def oldest_dead_age_seconds(self) -> float: ...


def record_queue(stats: QueueReading) -> None:
    """The job queue gauges, from one reading taken when scraped (server and worker)."""
    JOB_QUEUE_DEPTH.set(stats.ready + stats.delayed)
    JOB_QUEUE_OLDEST_AGE.set(stats.oldest_age_seconds)
    JOB_DEAD_LETTERS.set(stats.dead)
    JOB_DEAD_LETTER_OLDEST_AGE.set(stats.oldest_dead_age_seconds)


def _start_known_series_at_zero() -> None:
    """Series with known label values exist from the first scrape, so `rate()` sees their
    first increment; in multiprocess mode a metric without any series is not exported."""
    for cache in ("memory", "redis"):
        for result in ("hit", "miss"):
            CACHE_REQUESTS.labels(cache=cache, result=result)
    for transport in ("websocket", "sse"):
        STREAMING_CONNECTIONS.labels(transport=transport)


_start_known_series_at_zero()


# -- the HTTP metrics, gathered per process ---------------------------------------------
#
# Every request counts once in `HTTP_REQUESTS` and `HTTP_LATENCY`. Written to the values one
# by one, in multiprocess mode (several server processes) that was a counter's and a
# histogram's memory-mapped writes per request: 8 % of a process answering at once
# (docs/benchmarks.md, "Where instance's CPU goes"). The process gathers them in plain dicts
# instead and writes them FLUSH_SECONDS after the first of a batch, before every scrape it
# answers, and when the app stops: a scrape sees the other processes' last second late.

FLUSH_SECONDS = 1.0
_BOUNDS = (*LATENCY_BUCKETS, float("inf"))
# Requests by (route, method, status); latencies by (route, method): [sum, per bucket...].
_requests: dict[tuple[str, str, int], int] = {}
_latencies: dict[tuple[str, str], list[float]] = {}
_flush_timer: asyncio.TimerHandle | None = None
# Children by label values: `labels()` looks them up under a lock; the labels are few.
_counters: dict[tuple[str, str, int], Any] = {}
_histograms: dict[tuple[str, str], Any] = {}


def record_request(route: str, method: str, status: int, elapsed: float) -> None:
    """Count one finished request and its latency (written by the next flush)."""
    global _flush_timer
    key = (route, method, status)
    _requests[key] = _requests.get(key, 0) + 1
    latency = _latencies.get((route, method))
    if latency is None:
        latency = _latencies[(route, method)] = [0.0] * (len(_BOUNDS) + 1)
    latency[0] += elapsed
    latency[1 + bisect.bisect_left(_BOUNDS, elapsed)] += 1
    if _flush_timer is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to come back on: written now
            flush_requests()
            return
        _flush_timer = loop.call_later(FLUSH_SECONDS, flush_requests)


def flush_requests() -> None:
    """Write what `record_request` gathered to the metrics' values."""
    global _flush_timer
    if _flush_timer is not None:
        _flush_timer.cancel()
        _flush_timer = None
    requests, latencies = dict(_requests), dict(_latencies)
    _requests.clear()
    _latencies.clear()
    for (route, method, status), count in requests.items():
        counter = _counters.get((route, method, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(route=route, method=method, status=str(status))
            _counters[(route, method, status)] = counter
        counter.inc(count)
    for (route, method), (total, *per_bucket) in latencies.items():
        histogram = _histograms.get((route, method))
        if histogram is None:
            histogram = HTTP_LATENCY.labels(route=route, method=method)
            _histograms[(route, method)] = histogram
        # What `observe` does for one value, for many: the sum, and each value in the first
        # bucket whose bound holds it (the exposition makes the buckets cumulative).
        histogram._sum.inc(total)
        for index, observed in enumerate(per_bucket):
            if observed:
                histogram._buckets[index].inc(observed)


def render_latest() -> tuple[bytes, str]:
    """The exposition text: of every worker in multiprocess mode, else of this process."""
    flush_requests()
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
