"""Ids and numbers a client sends are ASCII digits within the signed 64-bit range (the
database's BIGINT), or they are refused: a 404 for an id in the path, a 422 naming the
parameter otherwise — never a 500 (a Unicode digit such as `²` passes `str.isdigit()`, and
a 20-digit id overflows SQLite and asyncpg alike)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from connecthub.accounts.models import Role
from tests.factories import create_token, create_user
from tests.social_factories import auth, post_status

BAD_NUMBERS = [
    "²",
    "١٢٣",  # Arabic-Indic digits
    "9223372036854775808",  # 2**63: one past the largest BIGINT
    "99999999999999999999999",
    "-1",
    "1e3",
    " 1",
    "9" * 5000,  # past Python's int() digit limit
]
ALL_SCOPES = frozenset({"read", "write", "follow", "push", "admin:read", "admin:write"})
_ID_PARAM = re.compile(r"\{(\w+_id)\}")
_ID_ROUTES: list[tuple[str, str]] = []  # `_id_routes`' answer, kept for the module


def _id_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every documented route with an id in its path, from the app's
    own route table, so a route added later is probed too. Read from the first app that
    asks: every test's app here is built from the same code and settings, and writing the
    OpenAPI document cost ~0.4 CPU-s per app, once per parametrised case before."""
    if not _ID_ROUTES:
        found = []
        for path, operations in app.openapi()["paths"].items():
            if _ID_PARAM.search(path):
                found += [(method.upper(), path) for method in operations]
        _ID_ROUTES[:] = found
    return _ID_ROUTES


async def _admin_token(app: FastAPI) -> str:
    account, _ = await create_user(app, "boss", role=Role.ADMIN)
    return await create_token(app, account.id, scopes=ALL_SCOPES)


@pytest.mark.slow
@pytest.mark.parametrize("bad", [*BAD_NUMBERS, ""])
async def test_a_malformed_path_id_names_no_record(
    app: FastAPI, client: httpx.AsyncClient, bad: str
) -> None:
    token = await _admin_token(app)
    routes = _id_routes(app)
    assert len(routes) > 50  # the table was read
    failures = []
    for method, path in routes:
        url = _ID_PARAM.sub(quote(bad, safe=""), path)
        for headers in (auth(token), {}):
            response = await client.request(method, url, headers=headers, json={})
            if bad == "":
                # `/api/v1/lists/` is another route (or its redirect): only no 500.
                ok = response.status_code < 500
            elif response.headers.get("content-type", "").startswith("text/html"):
                ok = response.status_code == 404  # a public page (public_pages/): its 404 page
            elif headers:
                ok = response.status_code == 404 and response.json() == {
                    "error": "Record not found"
                }
            else:
                ok = response.status_code in (401, 404)
            if not ok:
                failures.append(f"{method} {url[:80]} {bool(headers)}: {response.status_code}")
    assert not failures, "\n".join(failures)


# (method, path, parameter): every numeric parameter a client may send.
_PAGES = [
    "/api/v1/timelines/home",
    "/api/v1/timelines/public",
    "/api/v1/timelines/tag/cats",
    "/api/v1/notifications",
    "/api/v1/conversations",
    "/api/v1/bookmarks",
    "/api/v1/favourites",
    "/api/v1/blocks",
    "/api/v1/mutes",
    "/api/v1/follow_requests",
    "/api/v1/lists/{list}/accounts",
    "/api/v1/timelines/list/{list}",
    "/api/v1/accounts/{me}/statuses",
    "/api/v1/accounts/{me}/followers",
    "/api/v1/accounts/{me}/following",
    "/api/v1/statuses/{status}/favourited_by",
    "/api/v1/statuses/{status}/reblogged_by",
    "/api/v2/admin/accounts",
]
_PAGE_PARAMS = ["max_id", "since_id", "min_id", "limit"]


async def _fixture(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    token = await _admin_token(app)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))).json()
    status = await post_status(
        client, token, "numbers", poll={"options": ["a", "b"], "expires_in": 600}
    )
    created = await client.post("/api/v1/lists", json={"title": "L"}, headers=auth(token))
    assert created.status_code == 200, created.text
    other, _ = await create_user(app, "other")
    ids = {
        "me": me["id"],
        "other": str(other.id),
        "status": status["id"],
        "poll": status["poll"]["id"],
        "list": created.json()["id"],
    }
    return token, ids


@pytest.mark.parametrize("bad", BAD_NUMBERS)
async def test_malformed_pagination_is_a_422_naming_the_parameter(
    app: FastAPI, client: httpx.AsyncClient, bad: str
) -> None:
    token, ids = await _fixture(app, client)
    failures = []
    for path in _PAGES:
        for param in _PAGE_PARAMS:
            response = await client.get(
                path.format(**ids), params={param: bad}, headers=auth(token)
            )
            if response.status_code != 422 or param not in response.json()["error"]:
                failures.append(f"{path} {param}: {response.status_code} {response.text[:80]}")
    assert not failures, "\n".join(failures)


def _numeric_requests(ids: dict[str, str], bad: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, request options, the parameter the 422 must name)."""
    return [
        ("GET", "/api/v1/accounts/relationships", {"params": {"id[]": bad}}, "id"),
        ("GET", "/api/v1/statuses", {"params": {"id[]": bad}}, "id"),
        ("GET", "/api/v1/notifications", {"params": {"account_id": bad}}, "account_id"),
        ("GET", "/api/v2/search", {"params": {"q": "a", "limit": bad}}, "limit"),
        ("GET", "/api/v2/search", {"params": {"q": "a", "offset": bad}}, "offset"),
        ("GET", "/api/v2/admin/accounts", {"params": {"invited_by": bad}}, "invited_by"),
        (
            "POST",
            "/api/v1/statuses",
            {"json": {"status": "x", "in_reply_to_id": bad}},
            "in_reply_to_id",
        ),
        ("POST", "/api/v1/statuses", {"data": {"status": "x", "media_ids[]": bad}}, "media_ids"),
        ("POST", "/api/v1/statuses", {"json": {"status": "x", "media_ids": [bad]}}, "media_ids"),
        (
            "POST",
            "/api/v1/statuses",
            {"json": {"status": "x", "poll": {"options": ["a", "b"], "expires_in": bad}}},
            "poll[expires_in]",
        ),
        ("POST", f"/api/v1/polls/{ids['poll']}/votes", {"data": {"choices[]": bad}}, "choices"),
        ("POST", f"/api/v1/polls/{ids['poll']}/votes", {"json": {"choices": [bad]}}, "choices"),
        (
            "POST",
            f"/api/v1/lists/{ids['list']}/accounts",
            {"data": {"account_ids[]": bad}},
            "account_ids",
        ),
        (
            "DELETE",
            f"/api/v1/lists/{ids['list']}/accounts",
            {"params": {"account_ids[]": bad}},
            "account_ids",
        ),
        ("POST", f"/api/v1/accounts/{ids['other']}/mute", {"data": {"duration": bad}}, "duration"),
        ("POST", "/api/v1/markers", {"data": {"home[last_read_id]": bad}}, "home[last_read_id]"),
        (
            "POST",
            "/api/v2/filters",
            {"data": {"title": "t", "context[]": "home", "expires_in": bad}},
            "expires_in",
        ),
        (
            "POST",
            "/api/v1/filters",
            {"data": {"phrase": "t", "context[]": "home", "expires_in": bad}},
            "expires_in",
        ),
    ]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
async def test_malformed_numeric_parameters_are_a_422_naming_them(
    app: FastAPI, client: httpx.AsyncClient, bad: str
) -> None:
    token, ids = await _fixture(app, client)
    failures = []
    for method, path, options, field in _numeric_requests(ids, bad):
        response = await client.request(method, path, headers=auth(token), **options)
        if response.status_code != 422 or field not in response.json()["error"]:
            failures.append(f"{method} {path} {field}: {response.status_code} {response.text[:90]}")
    assert not failures, "\n".join(failures)


async def test_malformed_numbers_in_other_places_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token, _ids = await _fixture(app, client)
    for bad in BAD_NUMBERS:
        stream = await client.get(
            "/api/v1/streaming/list", params={"list": bad}, headers=auth(token)
        )
        assert stream.status_code == 400, (bad, stream.text)
        assert stream.json() == {"error": "No list for stream provided"}
        # Rails-style index keys (`media_ids[0]=…`) are only an order: any key is fine.
        indexed = await client.post(
            "/api/v1/statuses",
            data={"status": "x", f"media_ids[{bad}]": "1"},
            headers=auth(token),
        )
        assert indexed.status_code == 422, (bad, indexed.text)
        assert "media_ids" in indexed.json()["error"]
        keyword = await client.post(
            "/api/v2/filters",
            data={"title": "t", "context[]": "home", f"keywords_attributes[{bad}][keyword]": "k"},
            headers=auth(token),
        )
        assert keyword.status_code == 200, (bad, keyword.text)
        assert [k["keyword"] for k in keyword.json()["keywords"]] == ["k"]
