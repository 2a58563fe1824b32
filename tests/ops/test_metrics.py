"""`/metrics` speaks Prometheus text, labels requests by route template, and sums every
server process when `serve` runs several."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from connecthub.ops import metrics
from tests.conftest import LiveServer, free_port, start_connecthub, stop_process
from tests.support import probe
from tests.support.redis_server import RedisProcess
from tests.support.server_processes import environment, server_processes

METRIC_NAMES = (
    "connecthub_http_requests_total",
    "connecthub_http_request_duration_seconds",
    "connecthub_db_pool_connections_in_use",
    "connecthub_job_queue_depth",
    "connecthub_cache_requests_total",
    "connecthub_streaming_connections",
)


async def _item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the one sample of `name` whose labels include `labels`."""
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    return None


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    for name in METRIC_NAMES:
        assert f"# TYPE {name} " in text, name
    assert "# TYPE connecthub_http_request_duration_seconds histogram" in text
    ready = {"route": "/health/ready", "method": "GET", "status": "200"}
    assert (sample(text, "connecthub_http_requests_total", **ready) or 0) >= 1
    latency = {"route": "/health/ready", "method": "GET"}
    assert sample(text, "connecthub_http_request_duration_seconds_bucket", le="+Inf", **latency)
    assert sample(text, "connecthub_http_request_duration_seconds_count", **latency)
    assert sample(text, "connecthub_db_pool_connections_in_use") is not None
    assert sample(text, "connecthub_job_queue_depth") is not None


async def test_requests_are_counted_by_route_template(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.add_api_route("/test/metric-items/{item_id}", _item)
    before = sample(
        (await client.get("/metrics")).text,
        "connecthub_http_requests_total",
        route="/test/metric-items/{item_id}",
        status="200",
    )
    for item_id in (1, 2, 3):
        assert (await client.get(f"/test/metric-items/{item_id}")).status_code == 200
    assert (await client.get("/test/metric-items/oops")).status_code == 422
    # (under /api: any other unknown address is the web app's shell, web/app_shell.py)
    assert (await client.get("/api/no/such/page/9876")).status_code == 404

    text = (await client.get("/metrics")).text
    template = {"route": "/test/metric-items/{item_id}", "method": "GET"}
    assert (
        sample(text, "connecthub_http_requests_total", status="200", **template)
        == (before or 0) + 3
    )
    assert sample(text, "connecthub_http_requests_total", status="422", **template)
    assert sample(text, "connecthub_http_requests_total", route="unmatched", status="404")
    # Raw paths would give every id its own series.
    assert "/test/metric-items/1" not in text
    assert "/no/such/page" not in text


def test_gathered_latencies_are_written_as_observe_writes_them() -> None:
    """A process gathers its requests' latencies and writes them once a second (and before
    a scrape): the histogram must read as though each had been observed, bucket by bucket,
    values on a bound included."""
    route = "/test/gathered-latency"
    values = [0.0, 0.004, 0.005, 0.0051, 0.2, 0.35, 0.9, 2.5, 11.0, 0.01, 0.01]
    for value in values:
        metrics.record_request(route, "GET", 200, value)
    metrics.flush_requests()
    reference = Histogram(
        "reference_seconds", "", buckets=metrics.LATENCY_BUCKETS, registry=CollectorRegistry()
    )
    for value in values:
        reference.observe(value)
    expected = {
        sample.labels["le"]: sample.value
        for sample in reference.collect()[0].samples
        if sample.name.endswith("_bucket")
    }
    text = generate_latest().decode()
    labels = {"route": route, "method": "GET"}
    for bound, count in expected.items():
        got = sample(text, "connecthub_http_request_duration_seconds_bucket", le=bound, **labels)
        assert got == count, bound
    assert sample(text, "connecthub_http_request_duration_seconds_count", **labels) == len(values)
    total = sample(text, "connecthub_http_request_duration_seconds_sum", **labels)
    assert total is not None
    assert abs(total - sum(values)) < 1e-9
    assert sample(text, "connecthub_http_requests_total", status="200", **labels) == len(values)


def worker_environments(supervisor: int) -> list[dict[str, str]]:
    """The environment of each server process `serve` (`supervisor`) runs."""
    found = (environment(pid) for pid in server_processes(supervisor))
    return [env for env in found if env is not None]


def start_two_workers(test_env: Any, redis_url: str) -> LiveServer:
    """`start_server`, with two server processes and as patient."""
    port = free_port()
    log_path = test_env.workdir / f"server-{port}.log"
    process = start_connecthub(
        "serve", "--port", str(port), "--workers", "2",
        env=test_env.environ(REDIS_URL=redis_url), output=log_path,
    )  # fmt: skip
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, server.logs()
        if len(worker_environments(process.pid)) == 2:
            with contextlib.suppress(httpx.HTTPError):
                if probe.get(f"{server.url}/health/ready", timeout=2).status_code == 200:
                    return server
        time.sleep(0.2)
    stop_process(process)
    raise AssertionError(f"server did not become ready:\n{server.logs()}")


@pytest.mark.processes
@pytest.mark.timeout(600)
def test_several_workers_report_one_sum(test_env: Any, own_redis: RedisProcess) -> None:
    server = start_two_workers(test_env, own_redis.url)
    try:
        workers = worker_environments(server.process.pid)
        assert len(workers) == 2
        directory = Path(workers[0]["PROMETHEUS_MULTIPROC_DIR"])
        assert all(env["PROMETHEUS_MULTIPROC_DIR"] == str(directory) for env in workers)

        # A fresh connection each time, so the kernel spreads them over both workers.
        requests = 40
        for _ in range(requests):
            response = probe.get(f"{server.url}/health/live", headers={"Connection": "close"})
            assert response.status_code == 200

        live = {"route": "/health/live", "method": "GET", "status": "200"}
        # Each process writes its requests' metrics within FLUSH_SECONDS (and before a
        # scrape it answers itself): the other's may show that much later.
        deadline = time.monotonic() + 10 * metrics.FLUSH_SECONDS
        while True:
            response = probe.get(f"{server.url}/metrics", headers={"Connection": "close"})
            counted = sample(response.text, "connecthub_http_requests_total", **live)
            if counted == requests or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for _ in range(6):
            response = probe.get(f"{server.url}/metrics", headers={"Connection": "close"})
            assert response.status_code == 200
            text = response.text
            # Whichever worker answers, it reports the requests both of them served.
            assert sample(text, "connecthub_http_requests_total", **live) == requests
            for name in METRIC_NAMES:
                assert f"# TYPE {name} " in text, name
            # Gauges are summed or take the latest value; none is split per process.
            assert 'pid="' not in text
        assert any(path.name.startswith("counter_") for path in directory.iterdir())
    finally:
        stop_process(server.process)
    # The directory `serve` made for the workers goes with them.
    assert not directory.exists()
