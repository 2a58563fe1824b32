"""Every error leaves as `{"error": ...}` with the security headers and a request id, and
never with a stack trace — whatever produced it: routing, validation, size, a bug."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

from connecthub.errors import OAuthError, ValidationFailed
from tests.http.test_request_context import captured_root_log

AppFactory = Callable[..., Any]


class Profile(BaseModel):
    name: str
    age: int


async def _echo(profile: Profile) -> Profile:
    return profile


async def _boom() -> None:
    raise RuntimeError("the database password is hunter2")


async def _oauth_error() -> None:
    raise OAuthError("invalid_grant", "The authorization code has expired")


async def _domain_error() -> None:
    raise ValidationFailed("username", "is already taken")


async def _items(limit: int = 20) -> dict[str, int]:
    return {"limit": limit}


async def _upload(request: Request) -> dict[str, int]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


async def _form(request: Request) -> dict[str, int]:
    return {"fields": len(await request.form())}


def add_test_routes(app: FastAPI) -> None:
    app.add_api_route("/test/echo", _echo, methods=["POST"])
    app.add_api_route("/test/boom", _boom)
    app.add_api_route("/test/oauth-error", _oauth_error)
    app.add_api_route("/test/domain-error", _domain_error, methods=["POST"])
    app.add_api_route("/test/items", _items)
    app.add_api_route("/test/upload", _upload, methods=["POST"])
    app.add_api_route("/test/form", _form, methods=["POST"])


def assert_error_response(response: httpx.Response, status: int) -> dict[str, object]:
    """The shape every error shares: JSON, no trace, security headers, a request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert isinstance(body["error"], str)
    assert body["error"]
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-request-id"]
    return body


async def test_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/no/such/route")
    body = assert_error_response(response, 404)
    assert body == {"error": "Record not found"}


async def test_wrong_method_on_a_known_route_is_a_json_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/health/live")
    body = assert_error_response(response, 405)
    assert body == {"error": "Method not allowed"}
    assert response.headers["allow"] == "GET"


async def test_validation_error_names_the_missing_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_test_routes(app)
    response = await client.post("/test/echo", json={"name": "alice"})
    body = assert_error_response(response, 422)
    assert body["error"] == "Validation failed: age: is required"
    assert body["details"] == [{"field": "age", "message": "is required"}]


async def test_validation_error_names_a_field_of_the_wrong_type(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_test_routes(app)
    response = await client.post("/test/echo", json={"name": "alice", "age": "old"})
    body = assert_error_response(response, 422)
    assert str(body["error"]).startswith("Validation failed: age: ")

    response = await client.get("/test/items", params={"limit": "many"})
    body = assert_error_response(response, 422)
    assert str(body["error"]).startswith("Validation failed: limit: ")


async def test_malformed_json_is_a_422_naming_the_body(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_test_routes(app)
    response = await client.post(
        "/test/echo", content=b'{"name": "alice", ', headers={"content-type": "application/json"}
    )
    body = assert_error_response(response, 422)
    assert body["error"] == "Validation failed: body: is not valid JSON"


async def test_domain_validation_error_names_the_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_test_routes(app)
    response = await client.post("/test/domain-error")
    body = assert_error_response(response, 422)
    assert body["error"] == "Validation failed: username: is already taken"


async def test_uncaught_exception_is_a_json_500_without_details(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_test_routes(app)
    response = await client.get("/test/boom", headers={"X-Request-Id": "bug-report-1"})
    body = assert_error_response(response, 500)
    assert body == {"error": "Internal server error"}
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-request-id"] == "bug-report-1"
    # The server keeps serving after a bug.
    assert (await client.get("/health/live")).status_code == 200


async def test_oauth_errors_use_the_rfc_6749_shape(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_test_routes(app)
    response = await client.get("/test/oauth-error")
    body = assert_error_response(response, 400)
    assert body == {
        "error": "invalid_grant",
        "error_description": "The authorization code has expired",
    }


async def test_declared_body_over_the_limit_is_a_413(app_factory: AppFactory) -> None:
    async with app_factory(max_request_body_bytes=2048) as (app, client):
        add_test_routes(app)
        response = await client.post("/test/echo", content=b"x" * 2049)
        body = assert_error_response(response, 413)
        assert body == {"error": "Request body is larger than 2048 bytes"}
        # At the limit the body reaches the route (and fails validation, as it is not JSON).
        response = await client.post(
            "/test/echo", content=b" " * 2048, headers={"content-type": "application/json"}
        )
        assert_error_response(response, 422)


async def test_streamed_body_over_the_limit_is_a_413(app_factory: AppFactory) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1024

    async with app_factory(max_request_body_bytes=4096) as (app, client):
        add_test_routes(app)
        response = await client.post(
            "/test/echo", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        body = assert_error_response(response, 413)
        assert body == {"error": "Request body is larger than 4096 bytes"}


async def test_a_body_refused_mid_stream_is_not_reported_as_a_bug(
    app_factory: AppFactory,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"a=" + b"x" * 1022

    async with app_factory(max_request_body_bytes=4096, log_level="info") as (app, client):
        add_test_routes(app)
        with captured_root_log() as output:
            for path in ("/test/upload", "/test/form"):
                response = await client.post(
                    path,
                    content=chunks(),
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
                assert_error_response(response, 413)
            small = await client.post("/test/upload", content=b"x" * 4096)
    assert small.json() == {"size": 4096}
    logged = output.getvalue()
    assert "http.unhandled_error" not in logged
    assert logged.count('"status": 413') == 2
