"""Malformed input is a 4xx naming what is wrong, on every route, and stores nothing: JSON
or bracketed form keys nested a thousand deep (Python's parsers recurse), NUL characters
(PostgreSQL refuses them in text) and lone surrogates (not UTF-8 on either engine)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from connecthub.accounts.models import OAuthApplication
from tests.social_factories import auth, user_with_token

DEPTH = 1000
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# How a client can spell each bad character in a JSON string.
BAD_JSON_TEXT = {
    "nul": b"a\\u0000b",
    "lone surrogate": b"a\\ud800b",
    "lone low surrogate": b"\\uDC00",
    "raw surrogate bytes": b"a\xed\xa0\x80b",  # Python's JSON reader decodes these too
}


def _json(template: str, bad: bytes) -> bytes:
    """`template` (JSON with one `BAD` placeholder inside a string) holding `bad`."""
    return template.encode().replace(b"BAD", bad)


def _deep_json(depth: int) -> list[bytes]:
    return [
        b"[" * depth + b"]" * depth,
        b'{"status": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}",
        b'{"status": "x", "poll": ' + b"[{}, " * depth + b"1" + b"]" * depth + b"}",
    ]


async def test_json_nested_a_thousand_deep_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await user_with_token(app, "alice")
    for body in _deep_json(DEPTH):
        for path, headers in (("/oauth/token", JSON), ("/api/v1/statuses", auth(token) | JSON)):
            response = await client.post(path, content=body, headers=headers)
            assert response.status_code == 422, (path, body[:20], response.text)
            assert response.json() == {
                "error": "Validation failed: body: is nested more than 32 levels deep"
            }
    # An unclosed thousand-deep document is refused before the parser recurses into it.
    unclosed = await client.post("/oauth/token", content=b"[" * DEPTH, headers=JSON)
    assert unclosed.status_code == 422
    assert "body" in unclosed.json()["error"]
    statuses = await client.get("/api/v1/timelines/home", headers=auth(token))
    assert statuses.json() == []


async def test_json_of_ordinary_depth_still_works(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, token = await user_with_token(app, "alice")
    body = b'{"status": "[{\\"a\\": [1]}] \\ud83d\\ude00", "poll": {"options": ["[", "{"], '
    body += b'"expires_in": 600}}'
    response = await client.post("/api/v1/statuses", content=body, headers=auth(token) | JSON)
    assert response.status_code == 200, response.text
    assert response.json()["content"] == '<p>[{"a": [1]}] \U0001f600</p>'


@pytest.mark.parametrize(
    "key",
    [
        "status" + "[a]" * DEPTH,
        "poll" + "[][a]" * DEPTH,  # the list-of-hashes form, which the parser recurses on
    ],
)
async def test_form_keys_bracketed_a_thousand_deep_are_refused(
    app: FastAPI, client: httpx.AsyncClient, key: str
) -> None:
    _, token = await user_with_token(app, "alice")
    as_form = await client.post("/api/v1/statuses", data={key: "1"}, headers=auth(token))
    as_query = await client.post("/api/v1/statuses", params={key: "1"}, headers=auth(token))
    as_multipart = await client.post(
        "/api/v1/statuses", data={key: "1"}, files={"x": ("x", b"")}, headers=auth(token)
    )
    for response in (as_form, as_query, as_multipart):
        if response is as_multipart and response.status_code == 400:
            # Starlette's multipart parser refuses a part header this long by itself.
            assert response.json() == {"error": "Invalid multipart data."}
            continue
        assert response.status_code == 422, response.text
        assert response.json()["error"] == (
            f"Validation failed: {key.partition('[')[0]}: is nested more than 32 levels deep"
        )
    statuses = await client.get("/api/v1/timelines/home", headers=auth(token))
    assert statuses.json() == []


def _text_requests(list_id: str) -> list[tuple[str, str, str, str]]:
    """(method, path, JSON template with BAD, field the 422 must name) per text field."""
    return [
        ("POST", "/api/v1/statuses", '{"status": "BAD"}', "status"),
        ("POST", "/api/v1/statuses", '{"status": "ok", "spoiler_text": "BAD"}', "spoiler_text"),
        (
            "POST",
            "/api/v1/statuses",
            '{"status": "ok", "poll": {"options": ["a", "BAD"], "expires_in": 600}}',
            "poll[options][1]",
        ),
        ("PATCH", "/api/v1/accounts/update_credentials", '{"display_name": "BAD"}', "display_name"),
        ("PATCH", "/api/v1/accounts/update_credentials", '{"note": "BAD"}', "note"),
        (
            "PATCH",
            "/api/v1/accounts/update_credentials",
            '{"fields_attributes": [{"name": "n", "value": "BAD"}]}',
            "fields_attributes[0][value]",
        ),
        ("POST", "/api/v1/lists", '{"title": "BAD"}', "title"),
        ("PUT", f"/api/v1/lists/{list_id}", '{"title": "BAD"}', "title"),
        ("POST", "/api/v2/filters", '{"title": "BAD", "context": ["home"]}', "title"),
        (
            "POST",
            "/api/v2/filters",
            '{"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "BAD"}]}',
            "keywords_attributes[0][keyword]",
        ),
        ("POST", "/api/v1/filters", '{"phrase": "BAD", "context": ["home"]}', "phrase"),
        (
            "POST",
            "/api/v1/apps",
            '{"client_name": "BAD", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}',
            "client_name",
        ),
        ("POST", "/oauth/token", '{"grant_type": "password", "username": "BAD"}', "username"),
        ("POST", "/api/v1/statuses", '{"xBAD": "key"}', "x"),  # a malformed name is named too
    ]


async def _nothing_stored(app: FastAPI, client: httpx.AsyncClient, token: str) -> None:
    headers = auth(token)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).json()
    assert (me["display_name"], me["note"], me["fields"]) == ("", "", [])
    assert me["statuses_count"] == 0
    assert [
        lst["title"] for lst in (await client.get("/api/v1/lists", headers=headers)).json()
    ] == ["Kept"]
    assert (await client.get("/api/v2/filters", headers=headers)).json() == []
    async with app.state.engines.db.session(readonly=True) as session:
        assert await session.scalar(select(func.count()).select_from(OAuthApplication)) == 0


@pytest.mark.parametrize("spelling", list(BAD_JSON_TEXT))
async def test_unstorable_text_in_json_is_a_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, spelling: str
) -> None:
    _, token = await user_with_token(app, "alice")
    kept = await client.post("/api/v1/lists", json={"title": "Kept"}, headers=auth(token))
    failures = []
    for method, path, template, field in _text_requests(kept.json()["id"]):
        body = _json(template, BAD_JSON_TEXT[spelling])
        response = await client.request(method, path, content=body, headers=auth(token) | JSON)
        message: Any = response.json().get("error", "")
        if response.status_code != 422 or not message.startswith(f"Validation failed: {field}"):
            failures.append(f"{method} {path} {field}: {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)
    await _nothing_stored(app, client, token)


async def test_nul_in_forms_queries_and_paths_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, token = await user_with_token(app, "alice")
    await client.post("/api/v1/lists", json={"title": "Kept"}, headers=auth(token))
    headers = auth(token)
    cases: list[tuple[httpx.Response, str]] = [
        (
            await client.post("/api/v1/statuses", data={"status": "a\x00b"}, headers=headers),
            "status",
        ),
        (
            await client.post("/api/v1/statuses", content=b"status=a\x00b", headers=headers | FORM),
            "status",
        ),
        (
            await client.post("/api/v1/statuses", params={"status": "a\x00b"}, headers=headers),
            "status",
        ),
        (
            await client.patch(
                "/api/v1/accounts/update_credentials",
                data={"display_name": "a\x00b"},
                files={"avatar": ("", b"")},  # multipart, as clients send profile images
                headers=headers,
            ),
            "display_name",
        ),
        (await client.post("/api/v1/lists", data={"title": "\x00"}, headers=headers), "title"),
        (
            await client.post(
                "/api/v2/filters",
                data={"title": "t", "context[]": "home", "keywords_attributes[][keyword]": "\x00"},
                headers=headers,
            ),
            "keywords_attributes[][keyword]",
        ),
        (
            await client.post(
                "/api/v1/apps",
                data={"client_name": "a\x00", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
            ),
            "client_name",
        ),
        (await client.get("/api/v2/search", params={"q": "a\x00b"}, headers=headers), "q"),
        (await client.get("/api/v1/accounts/lookup", params={"acct": "a\x00"}), "acct"),
    ]
    for response, field in cases:
        assert response.status_code == 422, (field, response.text)
        assert (
            response.json()["error"]
            == f"Validation failed: {field}: must not contain NUL characters"
        )
    in_path = await client.get("/api/v1/timelines/tag/a%00b")
    assert in_path.status_code == 404
    assert in_path.json() == {"error": "Record not found"}
    await _nothing_stored(app, client, token)
