"""The hot routes served ahead of FastAPI's router, and the routes the route index serves
by their plans (http/fast_routes.py), answer exactly as FastAPI's own path does: each
request here is sent twice, with the plans on and off, and the two answers compared
(status, body, headers but the per-request ones)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.http.fast_routes import FastRoutes
from connecthub.http.route_index import RouteIndex
from connecthub.routes import HOT_ROUTES
from tests.social_factories import auth, post_status, user_with_token

# Differ from one request to the next whichever path answers.
_PER_REQUEST = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset", "date"}


def _fast_routes(app: FastAPI) -> FastRoutes:
    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while not isinstance(layer, FastRoutes):
        layer = layer.app
    return layer


async def _both_ways(
    app: FastAPI, client: httpx.AsyncClient, path: str, method: str = "GET", **request: Any
) -> httpx.Response:
    """`path` through the plans and through FastAPI's path; assert they agree."""
    fast = _fast_routes(app)
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    answered_fast = await client.request(method, path, **request)
    plans, fast.plans = fast.plans, {}
    by_route, index.plans = index.plans, {}
    try:
        answered_slow = await client.request(method, path, **request)
    finally:
        fast.plans = plans
        index.plans = by_route
    assert answered_fast.status_code == answered_slow.status_code
    assert answered_fast.content == answered_slow.content
    headers_fast = [(k, v) for k, v in answered_fast.headers.multi_items() if k not in _PER_REQUEST]
    headers_slow = [(k, v) for k, v in answered_slow.headers.multi_items() if k not in _PER_REQUEST]
    assert headers_fast == headers_slow
    return answered_fast


async def test_the_hot_routes_take_the_fast_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.get("/health/live")  # builds the stack
    taken = _fast_routes(app).fast_paths
    for route in [
        ("GET", "/api/v1/timelines/home"),
        ("GET", "/api/v1/accounts/verify_credentials"),
        ("GET", "/api/v1/instance"),
        ("GET", "/api/v2/instance/"),
        ("GET", "/api/v1/notifications"),
    ]:
        assert route in taken
    assert taken <= set(HOT_ROUTES)


async def test_answers_match_fastapi(app: FastAPI, client: httpx.AsyncClient) -> None:
    reader, reader_token = await user_with_token(app, "reader")
    _writer, writer_token = await user_with_token(app, "writer")
    followed = await client.post(
        f"/api/v1/accounts/{_writer.id}/follow", headers=auth(reader_token)
    )
    assert followed.status_code == 200
    for number in range(5):
        await post_status(client, writer_token, f"note {number}")
    await client.post(f"/api/v1/accounts/{reader.id}/follow", headers=auth(writer_token))

    me = await _both_ways(
        app, client, "/api/v1/accounts/verify_credentials", headers=auth(reader_token)
    )
    assert me.json()["username"] == "reader"
    await _both_ways(app, client, "/api/v1/instance")
    await _both_ways(app, client, "/api/v2/instance/", headers={"Origin": "https://app.example"})

    home = await _both_ways(
        app, client, "/api/v1/timelines/home?limit=2", headers=auth(reader_token)
    )
    assert home.status_code == 200
    assert 'rel="next"' in home.headers.get("link", "")
    await _both_ways(app, client, "/api/v1/timelines/home?limit=", headers=auth(reader_token))
    await _both_ways(app, client, "/api/v1/notifications?limit=1", headers=auth(writer_token))


async def test_routes_with_an_id_in_their_path_answer_as_fastapi_does(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    planned = {plan.route.path for plan in index.plans.values()}
    for path in (
        "/api/v1/accounts/{account_id:id}",
        "/api/v1/accounts/{account_id:id}/statuses",
        "/api/v1/statuses/{status_id}/favourite",
    ):
        assert path in planned
    writer, writer_token = await user_with_token(app, "writer")
    _reader, reader_token = await user_with_token(app, "reader")
    first = await post_status(client, writer_token, "first")
    await post_status(client, writer_token, "second")
    for path in (
        f"/api/v1/accounts/{writer.id}",
        "/api/v1/accounts/123456789",  # none: 404
        "/api/v1/accounts/99999999999999999999999",  # past the id type: 404, not a 500
        f"/api/v1/accounts/{writer.id}/statuses?limit=1",  # a Link header
        f"/api/v1/statuses/{first['id']}",
        f"/api/v1/statuses/{first['id']}/context",
    ):
        for headers in ({}, auth(reader_token), {"Authorization": "Bearer nope"}):
            await _both_ways(app, client, path, headers=headers)
    # A write: the second time is the same answer (already favourited).
    favourite = f"/api/v1/statuses/{first['id']}/favourite"
    liked = await _both_ways(app, client, favourite, method="POST", headers=auth(reader_token))
    assert liked.json()["favourited"] is True
    await _both_ways(app, client, favourite, method="POST", headers={})  # 401


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/accounts/verify_credentials", {}),  # 401
        ("/api/v1/accounts/verify_credentials", {"Authorization": "Bearer nope"}),  # 401
        ("/api/v1/timelines/home?limit=abc", None),  # 422 naming `limit`
        ("/api/v1/timelines/home?max_id=1x", None),  # 422 naming `max_id`
    ],
)
async def test_refusals_match_fastapi(
    app: FastAPI, client: httpx.AsyncClient, path: str, headers: dict[str, str] | None
) -> None:
    if headers is None:
        _account, token = await user_with_token(app, "reader")
        headers = auth(token)
    refused = await _both_ways(app, client, path, headers=headers)
    assert refused.status_code in (401, 422)
    assert "error" in refused.json()


async def test_a_read_only_token_is_refused_a_scope_it_lacks(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from tests.factories import create_token, create_user

    account, _ = await create_user(app, "pushonly")
    token = await create_token(app, account.id, scopes=frozenset({"push"}))
    refused = await _both_ways(app, client, "/api/v1/timelines/home", headers=auth(token))
    assert refused.status_code == 403


async def _post_both_ways(
    app: FastAPI, client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    """POST a status through the fast path and through FastAPI's: the same status code and
    headers (two posts: the ids and times differ, so bodies are compared by the caller)."""
    fast = _fast_routes(app)
    # Uncompressed: the two bodies differ (ids, times), and so would their compressed lengths.
    headers = {**headers, "Accept-Encoding": "identity"}
    answered_fast = await client.post("/api/v1/statuses", json=body, headers=headers)
    plans, fast.plans = fast.plans, {}
    try:
        answered_slow = await client.post("/api/v1/statuses", json=body, headers=headers)
    finally:
        fast.plans = plans
    assert answered_fast.status_code == answered_slow.status_code
    headers_fast = [(k, v) for k, v in answered_fast.headers.multi_items() if k not in _PER_REQUEST]
    headers_slow = [(k, v) for k, v in answered_slow.headers.multi_items() if k not in _PER_REQUEST]
    assert headers_fast == headers_slow
    return answered_fast, answered_slow


async def test_posting_a_status_matches_fastapi(app: FastAPI, client: httpx.AsyncClient) -> None:
    _writer, token = await user_with_token(app, "writer")
    assert ("POST", "/api/v1/statuses") in _fast_routes(app).fast_paths
    fast, slow = await _post_both_ways(app, client, {"status": "hi #there"}, auth(token))
    assert fast.status_code == 200
    different = ("id", "created_at", "uri", "url")
    same_fast = {k: v for k, v in fast.json().items() if k not in different and k != "account"}
    same_slow = {k: v for k, v in slow.json().items() if k not in different and k != "account"}
    assert same_fast == same_slow
    assert list(fast.json()) == list(slow.json())
    assert fast.json()["account"]["statuses_count"] + 1 == slow.json()["account"]["statuses_count"]
    for body, headers in [
        ({"status": ""}, auth(token)),  # 422 naming `status`
        ({"status": "x", "visibility": "everyone"}, auth(token)),  # 422 naming `visibility`
        ({"status": "x"}, {}),  # 401
    ]:
        fast, slow = await _post_both_ways(app, client, body, headers)
        assert fast.status_code in (401, 422)
        assert fast.json() == slow.json()
