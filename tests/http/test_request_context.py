"""Request ids (echoed, replaced or generated; in every log line of the request) and the
client address (X-Forwarded-For honoured only from trusted proxies)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request

from tests.conftest import start_server, stop_process
from tests.support import probe

AppFactory = Callable[..., Any]
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def _client_ip(request: Request) -> dict[str, str]:
    return {"client_ip": request.scope["state"]["client_ip"]}


async def _chatty() -> dict[str, str]:
    structlog.get_logger("tests.chatty").info("chatty.structlog")
    logging.getLogger("tests.chatty").warning("chatty stdlib line")
    return {"ok": "yes"}


def add_test_routes(app: FastAPI) -> None:
    app.add_api_route("/test/client-ip", _client_ip)
    app.add_api_route("/test/chatty", _chatty)


async def client_ip_seen(client: httpx.AsyncClient, forwarded_for: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    response = await client.get("/test/client-ip", headers=headers)
    assert response.status_code == 200
    return str(response.json()["client_ip"])


# Client address


async def test_peer_address_without_a_forwarded_header(app_factory: AppFactory) -> None:
    async with app_factory(peer="198.51.100.20") as (app, client):
        add_test_routes(app)
        assert await client_ip_seen(client) == "198.51.100.20"


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(app_factory: AppFactory) -> None:
    async with app_factory(peer="198.51.100.20") as (app, client):
        add_test_routes(app)
        assert await client_ip_seen(client, "203.0.113.7") == "198.51.100.20"


async def test_forwarded_for_from_a_trusted_proxy_is_honoured(app_factory: AppFactory) -> None:
    # The default TRUSTED_PROXIES is the loopback: a reverse proxy on the same host.
    async with app_factory(peer="127.0.0.1") as (app, client):
        add_test_routes(app)
        assert await client_ip_seen(client, "203.0.113.7") == "203.0.113.7"


async def test_forwarded_chain_is_walked_from_the_right(app_factory: AppFactory) -> None:
    async with app_factory(peer="10.0.0.2", trusted_proxies="10.0.0.0/8") as (app, client):
        add_test_routes(app)
        # The left-most hop is whatever the client claimed; the first untrusted hop from
        # the right is the address our own proxies saw.
        chain = "1.2.3.4, 203.0.113.9, 10.0.0.7"
        assert await client_ip_seen(client, chain) == "203.0.113.9"
        # Only proxies: the left-most one is as far as we can see.
        assert await client_ip_seen(client, "10.1.1.1, 10.0.0.7") == "10.1.1.1"
        # A hop that is not an address stops the walk at the last trusted one.
        assert await client_ip_seen(client, "203.0.113.9, not-an-ip") == "10.0.0.2"
        assert await client_ip_seen(client, "") == "10.0.0.2"


async def test_forwarded_for_with_ipv6(app_factory: AppFactory) -> None:
    async with app_factory(peer="::1") as (app, client):
        add_test_routes(app)
        assert await client_ip_seen(client, "2001:db8::5") == "2001:db8::5"
    # A dual-stack listener reports an IPv4 proxy as an IPv4-mapped address.
    async with app_factory(peer="::ffff:127.0.0.1") as (app, client):
        add_test_routes(app)
        assert await client_ip_seen(client, "203.0.113.7") == "203.0.113.7"
    async with app_factory(peer="2001:db8::9") as (app, client):
        add_test_routes(app)
        assert await client_ip_seen(client, "203.0.113.7") == "2001:db8::9"


# Request ids


async def test_a_valid_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    for supplied in ("abc-123", "7f1c2e9a.edge:42_x", "a" * 128):
        response = await client.get("/health/live", headers={"X-Request-Id": supplied})
        assert response.headers["x-request-id"] == supplied


@pytest.mark.parametrize("supplied", ["has spaces in it", "a" * 129, "semi;colon", "<script>"])
async def test_an_invalid_request_id_is_replaced(client: httpx.AsyncClient, supplied: str) -> None:
    response = await client.get("/health/live", headers={"X-Request-Id": supplied})
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_a_request_id_is_generated_for_every_request(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health/live")).headers["x-request-id"]
    second = (await client.get("/no/such/page")).headers["x-request-id"]
    assert GENERATED_ID.match(first)
    assert GENERATED_ID.match(second)
    assert first != second


@contextlib.contextmanager
def captured_root_log() -> Iterator[io.StringIO]:
    """The root handler's output, rendered as the app configured it, into a buffer."""
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_every_log_line_of_a_request_carries_its_id(app_factory: AppFactory) -> None:
    async with app_factory(log_level="info") as (app, client):
        add_test_routes(app)
        # The app's background tasks (the embedded job worker) log their start on their
        # first turn of the loop: not a request's lines, so before the capture.
        await asyncio.sleep(0)
        with captured_root_log() as buffer:
            response = await client.get("/test/chatty", headers={"X-Request-Id": "req-chatty"})
            other = await client.get("/test/chatty")
    assert response.status_code == 200
    lines = [line for line in json_lines(buffer.getvalue()) if line["logger"] != "httpx"]
    events = {(line["event"], line.get("request_id")) for line in lines}
    generated = other.headers["x-request-id"]
    for request_id in ("req-chatty", generated):
        assert ("chatty.structlog", request_id) in events
        assert ("chatty stdlib line", request_id) in events
        assert ("http.request", request_id) in events
    assert all(line.get("request_id") for line in lines)


@pytest.mark.processes
@pytest.mark.timeout(300)
async def test_server_access_log_is_json_with_the_request_id(test_env: Any) -> None:
    server = start_server(test_env, LOG_LEVEL="info")
    try:
        # Generous timeouts: a server process on a loaded machine (load 20-26) once took
        # more than httpx's default 5 s to answer its first 404.
        for request_id in ("live-1", "live-2"):
            response = probe.get(
                f"{server.url}/health/live", headers={"X-Request-Id": request_id}, timeout=60
            )
            assert response.headers["x-request-id"] == request_id
        generated = probe.get(f"{server.url}/api/no/such/page", timeout=60).headers["x-request-id"]
    finally:
        stop_process(server.process)
    output = server.logs()
    lines = json_lines(output)
    access = [line for line in lines if line["event"] == "http.request"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["live-1"]["route"] == "/health/live"
    assert by_id["live-1"]["status"] == 200
    assert by_id["live-1"]["client_ip"] == "127.0.0.1"
    assert by_id[generated]["status"] == 404
    assert all(line.get("request_id") for line in access)
    # After the few lines of banner `serve` prints for a person, every line is JSON.
    logged = output.splitlines()
    first_json = next(n for n, line in enumerate(logged) if line.startswith("{"))
    assert first_json <= 5
    assert len(json_lines(output)) == len(logged) - first_json


async def test_an_unmatched_route_logs_its_method_and_path(app_factory: AppFactory) -> None:
    async with app_factory(log_level="info") as (_app, client):
        with captured_root_log() as buffer:
            missed = await client.post("/api/v9/no/such/thing?access_token=s3cret&x=1")
            matched = await client.get("/health/live?probe=1")
    assert missed.status_code == 404
    assert matched.status_code == 200
    access = {
        line["request_id"]: line
        for line in json_lines(buffer.getvalue())
        if line["event"] == "http.request"
    }
    line = access[missed.headers["x-request-id"]]
    assert (line["route"], line["method"], line["status"]) == ("unmatched", "POST", 404)
    assert line["path"] == "/api/v9/no/such/thing"
    assert "s3cret" not in buffer.getvalue()
    # A matched route is named by its template: no path, no query string.
    assert "path" not in access[matched.headers["x-request-id"]]
