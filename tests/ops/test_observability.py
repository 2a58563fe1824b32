"""Tracing (OpenTelemetry over OTLP/HTTP) and error reporting (Sentry): off unless
configured, and when configured they really send, to collectors this test runs."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import free_port, start_server, stop_process
from tests.support import probe
from tests.support.forked_command import ForkedCommand

SECRET = "tok-never-in-a-span"


@dataclass
class Received:
    path: str
    body: bytes


@dataclass
class Collector:
    """A tiny HTTP server that keeps every POST it is sent."""

    url: str
    received: list[Received] = field(default_factory=list)

    def wait_for(self, accept: Callable[[Received], bool], seconds: float = 60) -> Received:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for item in list(self.received):
                if accept(item):
                    return item
            time.sleep(0.1)
        paths = [item.path for item in self.received]
        raise AssertionError(f"nothing matching arrived; received: {paths}")


@pytest.fixture
def collector() -> Iterator[Collector]:
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":  # sentry-sdk prefers brotli when it is installed
                body = brotli.decompress(body)
            received.append(Received(self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Collector(url=f"http://127.0.0.1:{server.server_address[1]}", received=received)
    server.shutdown()
    server.server_close()


def spans(item: Received) -> list[dict[str, Any]]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(item.body)
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {a.key: str(a.value).strip() for a in span.attributes}
                found.append({"name": span.name, "resource": resource, "attributes": attributes})
    return found


@pytest.mark.processes
@pytest.mark.timeout(300)
def test_requests_are_traced_to_the_otlp_endpoint(test_env: Any, collector: Collector) -> None:
    server = start_server(
        test_env,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_SERVICE_NAME="connecthub-under-test",
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    try:
        # A generous timeout: on a loaded machine the server's first 404 once took more
        # than httpx's default 5 s.
        response = probe.get(f"{server.url}/api/v1/traced-path?access_token={SECRET}", timeout=60)
        assert response.status_code == 404

        def traced(item: Received) -> bool:
            return item.path == "/v1/traces" and any(
                span["name"].endswith("/api/v1/traced-path") for span in spans(item)
            )

        item = collector.wait_for(traced)
    finally:
        stop_process(server.process)
    span = next(s for s in spans(item) if s["name"].endswith("/api/v1/traced-path"))
    assert span["resource"]["service.name"] == "connecthub-under-test"
    everything = b"".join(received.body for received in collector.received)
    assert SECRET.encode() not in everything
    # Readiness probes (start_server polled them) are not traced.
    assert b"/health/ready" not in everything


SCRIPT = """
import asyncio, json, sys

import brotli  # type: ignore[import-untyped]
import httpx
import sentry_sdk
from opentelemetry import trace

from connecthub.app import create_app
from connecthub.config import load_settings


async def boom() -> None:
    raise RuntimeError("sentry-test-failure for alice.secret@example.com")


async def main() -> None:
    app = create_app(load_settings())
    app.add_api_route("/test/boom", boom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(
                "/test/boom?access_token=tok-never-in-a-report&stream=user",
                headers={"Authorization": "Bearer bearer-never-in-a-report"},
            )
    sentry_sdk.flush(timeout=20)
    print(json.dumps({
        "status": response.status_code,
        "body": response.json(),
        "sentry": sentry_sdk.get_client().is_active(),
        "tracing": type(trace.get_tracer_provider()).__name__,
    }))


asyncio.run(main())
"""


def run_script(test_env: Any, tmp_path: Path, **environ: str) -> dict[str, Any]:
    import json

    script = tmp_path / "report_error.py"
    script.write_text(SCRIPT)
    env = test_env.environ(**environ)
    for name in ("SENTRY_DSN", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if name not in environ:
            env.pop(name, None)
    # Forked from the worker's fork server, which imported the app and configured neither
    # Sentry nor tracing (the import was ~2.5 CPU-s of a new interpreter). 240 s: at load
    # ~20 on 2 cores the child (one request, Sentry's flush) once took more than 120 s.
    output = tmp_path / "report_error.out"
    child = ForkedCommand([], env=env, output=output, script=script)
    assert child.wait(240) == 0, output.read_text()
    # Its stdout and stderr share the file: the report is the line the script printed.
    [line] = [line for line in output.read_text().splitlines() if line.startswith('{"status"')]
    report: dict[str, Any] = json.loads(line)
    return report


@pytest.mark.processes
@pytest.mark.timeout(300)
def test_tracing_and_error_reporting_are_off_by_default(test_env: Any, tmp_path: Path) -> None:
    report = run_script(test_env, tmp_path)
    assert report["status"] == 500
    assert report["sentry"] is False
    assert report["tracing"] == "ProxyTracerProvider"


@pytest.mark.processes
@pytest.mark.timeout(300)
def test_uncaught_errors_are_reported_to_sentry(
    test_env: Any, tmp_path: Path, collector: Collector
) -> None:
    dsn = collector.url.replace("http://", "http://public@") + "/1"
    report = run_script(test_env, tmp_path, SENTRY_DSN=dsn)
    assert report["status"] == 500
    assert report["body"] == {"error": "Internal server error"}
    assert report["sentry"] is True
    item = collector.wait_for(lambda item: b"sentry-test-failure" in item.body, seconds=30)
    assert item.path == "/api/1/envelope/"
    assert b"RuntimeError" in item.body
    assert b"/test/boom" in item.body
    for secret in (b"tok-never-in-a-report", b"bearer-never-in-a-report", b"alice.secret@"):
        assert secret not in item.body
    events = [r for r in collector.received if b"sentry-test-failure" in r.body]
    assert len(events) == 1, "one uncaught error, one report"
