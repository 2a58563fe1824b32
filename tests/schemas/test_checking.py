"""The check itself: a wrong answer of a known route is reported with its route and the
path of the wrong field; unknown routes and error answers are left alone."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.schemas.checking import CheckedApp, take_violations
from tests.schemas.contract import contract


def answering(body: Any, status: int = 200) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        # In two pieces, as a streamed answer arrives.
        await send({"type": "http.response.body", "body": data[:10], "more_body": True})
        await send({"type": "http.response.body", "body": data[10:]})

    return app


async def get(app: Any, path: str) -> None:
    transport = httpx.ASGITransport(app=CheckedApp(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get(path)


async def test_a_wrong_field_is_reported_by_route_and_path() -> None:
    relationship = {"id": "1", "following": "yes"}
    await get(answering([relationship]), "/api/v1/accounts/relationships")
    found = take_violations()
    assert any(
        v.startswith("GET /api/v1/accounts/relationships ([Relationship]) at /0/following:")
        for v in found
    ), found
    assert any("/0: " in v and "showing_reblogs" in v for v in found), found


async def test_unknown_routes_and_errors_are_not_checked() -> None:
    await get(answering({"anything": 1}), "/api/v1/connecthub/presence_settings")
    await get(answering({"error": "Record not found"}, status=404), "/api/v1/accounts/1")
    assert take_violations() == []


def test_literal_routes_win_over_parameters() -> None:
    table = contract()
    assert table.returns("GET", "/api/v1/accounts/verify_credentials") == "CredentialAccount"
    assert table.returns("GET", "/api/v1/accounts/123") == "Account"
    assert table.returns("GET", "/api/v1/lists/5/accounts") == "[Account]"
    assert table.returns("GET", "/api/v1/notifications/unread_count") == ""
    assert table.returns("GET", "/api/v1/connecthub/presence") is None
