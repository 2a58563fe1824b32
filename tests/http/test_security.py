"""Security headers on every response, HSTS only over TLS, and CORS as Mastodon does it:
any origin, no credentials, on the API and token endpoints only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

AppFactory = Callable[..., Any]
HSTS = "max-age=63072000; includeSubDomains"
ORIGIN = "https://client.example"


async def _api_echo() -> dict[str, str]:
    return {"ok": "yes"}


async def _boom() -> None:
    raise RuntimeError("bug")


def add_test_routes(app: FastAPI) -> None:
    app.add_api_route("/api/v1/test-echo", _api_echo, methods=["GET", "POST"])
    app.add_api_route("/test/boom", _boom)


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    permissions = headers["permissions-policy"]
    for feature in ("geolocation=()", "camera=()", "microphone=()", "payment=()"):
        assert feature in permissions
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health/live", 200),
        ("GET", "/health/ready", 200),
        ("GET", "/metrics", 200),
        ("GET", "/api/v1/test-echo", 200),
        ("GET", "/api/no/such/page", 404),
        ("DELETE", "/health/live", 405),
        ("GET", "/test/boom", 500),
    ],
)
async def test_every_response_carries_the_security_headers(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    add_test_routes(app)
    response = await client.request(method, path)
    assert response.status_code == status
    assert_security_headers(response)


async def test_no_hsts_over_plain_http(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert "strict-transport-security" not in response.headers


async def test_hsts_when_the_request_arrived_over_https(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.get("/health/live")
    assert response.headers["strict-transport-security"] == HSTS


async def test_hsts_when_behind_a_tls_terminating_proxy(app_factory: AppFactory) -> None:
    async with app_factory(behind_tls=True) as (_app, client):
        for path in ("/health/live", "/no/such/page"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == HSTS


async def test_api_allows_any_origin_without_credentials(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_test_routes(app)
    for origin in (ORIGIN, "http://localhost:3000", "null"):
        response = await client.get("/api/v1/test-echo", headers={"Origin": origin})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        assert "link" in response.headers["access-control-expose-headers"].lower()
        assert_security_headers(response)


async def test_api_errors_carry_cors_headers_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-endpoint", headers={"Origin": ORIGIN})
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/api/v1/test-echo", "/oauth/token"])
async def test_preflight_is_answered(app: FastAPI, client: httpx.AsyncClient, path: str) -> None:
    add_test_routes(app)
    response = await client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    methods = response.headers["access-control-allow-methods"]
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert method in methods
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key"):
        assert header in allowed
    assert_security_headers(response)


async def test_token_endpoint_answers_cross_origin_posts(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", headers={"Origin": ORIGIN}, data={})
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/", "/health/ready", "/metrics", "/oauth/authorize"])
async def test_no_cors_outside_the_api(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers
    preflight = await client.options(
        path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-methods" not in preflight.headers


@pytest.mark.parametrize(
    "path", ["/", "/auth/sign_up", "/auth/password/new", "/api/v1/instance", "/no/such/page"]
)
async def test_pages_outside_the_authorize_flow_keep_coop_same_origin(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.headers["cross-origin-opener-policy"] == "same-origin"
