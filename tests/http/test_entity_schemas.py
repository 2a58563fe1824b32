"""The OpenAPI document types every JSON answer of the API, and what the routes really send
matches the types they declare (connecthub/entities, http/entity_route.py): a key sent but
not declared, a declared key missing or a value of another type fails here."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from connecthub.clock import utcnow
from tests.flags.support import admin_token, create_flag
from tests.media.files import png
from tests.media.support import upload
from tests.social_factories import auth, user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


def _untyped(schema: dict[str, Any], schemas: dict[str, Any], seen: frozenset[str]) -> bool:
    """Whether a response schema leaves its shape open: `{}`, a bare object, or a list or
    union with such a member."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name not in seen and _untyped(schemas[name], schemas, seen | {name})
    if "anyOf" in schema:
        return any(_untyped(member, schemas, seen) for member in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        return _untyped(schema.get("items", {}), schemas, seen)
    if kind == "object":
        if "properties" in schema:
            return False
        values = schema.get("additionalProperties")
        return not isinstance(values, dict) or _untyped(values, schemas, seen)
    return kind is None


@pytest.mark.slow
async def test_every_api_json_answer_has_a_typed_schema(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]

    untyped = [
        f"{method.upper()} {path} {code}"
        for path, operations in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
        for code, answer in operation["responses"].items()
        if code.startswith("2")
        for media_type, content in answer.get("content", {}).items()
        if "json" in media_type and _untyped(content.get("schema", {}), schemas, frozenset())
    ]
    assert untyped == []


def _closed(node: Any) -> Any:
    """The schema with every object that lists its properties closed to others, so a key
    the route sends but its type does not declare is an error."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


class Answers:
    """Checks answers against the schema their route declares in /openapi.json."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked: list[str] = []

    def check(self, response: httpx.Response, method: str, path: str) -> Any:
        assert 200 <= response.status_code < 300, response.text
        declared = self.document["paths"][path][method]["responses"][str(response.status_code)]
        schema = declared["content"]["application/json"]["schema"]
        text = json.dumps({**schema, "$defs": self.document["components"]["schemas"]}).replace(
            "#/components/schemas/", "#/$defs/"
        )
        validator = jsonschema_rs.Draft202012Validator(_closed(json.loads(text)))
        body = response.json()
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], f"{method.upper()} {path}: {errors}"
        self.checked.append(f"{method.upper()} {path}")
        return body


@pytest.mark.slow
async def test_real_answers_match_their_declared_entities(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    answers = Answers((await client.get("/openapi.json")).json())
    check = answers.check
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    as_alice, as_bob = auth(alice_token), auth(bob_token)

    check(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=as_bob),
          "post", "/api/v1/accounts/{account_id}/follow")  # fmt: skip
    media = check(
        await upload(client, alice_token, png(), filename="a.png", content_type="image/png"),
        "post",
        "/api/v2/media",
    )
    posted = check(
        await client.post(
            "/api/v1/statuses",
            json={"status": "Hello @bob #ConnectHub tea", "media_ids": [media["id"]]},
            headers=as_alice,
        ),
        "post",
        "/api/v1/statuses",
    )
    polled = check(
        await client.post(
            "/api/v1/statuses",
            json={"status": "Tea or coffee?", "poll": {"options": ["tea", "coffee"],
                                                       "expires_in": 3600}},
            headers=as_alice,
        ),
        "post",
        "/api/v1/statuses",
    )  # fmt: skip
    reply = check(
        await client.post(
            "/api/v1/statuses",
            json={"status": "@alice a reply", "in_reply_to_id": posted["id"]},
            headers=as_bob,
        ),
        "post",
        "/api/v1/statuses",
    )
    check(
        await client.post(
            "/api/v1/statuses",
            json={"status": "@bob just us", "visibility": "direct"},
            headers=as_alice,
        ),
        "post",
        "/api/v1/statuses",
    )
    later = (utcnow() + timedelta(hours=1)).isoformat()
    held = check(
        await upload(client, alice_token, png(seed=7), filename="b.png", content_type="image/png"),
        "post",
        "/api/v2/media",
    )
    scheduled = check(
        await client.post(
            "/api/v1/statuses",
            json={"status": "Later", "scheduled_at": later, "media_ids": [held["id"]]},
            headers=as_alice,
        ),
        "post",
        "/api/v1/statuses",
    )
    check(
        await client.post(
            "/api/v1/statuses",
            json={"status": "Later?", "scheduled_at": later, "visibility": "private",
                  "poll": {"options": ["yes", "no"], "expires_in": 600}},
            headers=as_alice,
        ),
        "post",
        "/api/v1/statuses",
    )  # fmt: skip
    scheduled_path = "/api/v1/scheduled_statuses/{scheduled_id}"
    check(await client.put(f"/api/v1/scheduled_statuses/{scheduled['id']}",
                           json={"scheduled_at": later}, headers=as_alice),
          "put", scheduled_path)  # fmt: skip
    status_path = "/api/v1/statuses/{status_id}"
    check(await client.post(f"/api/v1/statuses/{posted['id']}/reblog", headers=as_bob),
          "post", status_path + "/reblog")  # fmt: skip
    check(await client.post(f"/api/v1/statuses/{posted['id']}/favourite", headers=as_bob),
          "post", status_path + "/favourite")  # fmt: skip
    check(await client.post(f"/api/v1/statuses/{posted['id']}/bookmark", headers=as_bob),
          "post", status_path + "/bookmark")  # fmt: skip
    check(await client.post(f"/api/v1/polls/{polled['poll']['id']}/votes",
                            json={"choices": ["0"]}, headers=as_bob),
          "post", "/api/v1/polls/{poll_id}/votes")  # fmt: skip
    check(await client.post("/api/v2/filters",
                            json={"title": "Tea", "context": ["home", "public"],
                                  "keywords_attributes": [{"keyword": "tea"}]},
                            headers=as_bob),
          "post", "/api/v2/filters")  # fmt: skip
    made = check(await client.post("/api/v1/lists", json={"title": "Friends"}, headers=as_bob),
                 "post", "/api/v1/lists")  # fmt: skip
    check(await client.post("/api/v1/markers", json={"home": {"last_read_id": posted["id"]}},
                            headers=as_bob),
          "post", "/api/v1/markers")  # fmt: skip
    check(await client.post(f"/api/v1/statuses/{posted['id']}/mute", headers=as_bob),
          "post", status_path + "/mute")  # fmt: skip
    check(await client.post("/api/v1/tags/connecthub/follow", headers=as_bob),
          "post", "/api/v1/tags/{name}/follow")  # fmt: skip

    reads = [
        ("/api/v1/timelines/home", "/api/v1/timelines/home", as_bob),
        ("/api/v1/timelines/public", "/api/v1/timelines/public", {}),
        ("/api/v1/timelines/public", "/api/v1/timelines/public", as_bob),
        ("/api/v1/timelines/tag/connecthub", "/api/v1/timelines/tag/{hashtag}", as_bob),
        (f"/api/v1/timelines/list/{made['id']}", "/api/v1/timelines/list/{list_id}", as_bob),
        (f"/api/v1/statuses/{posted['id']}", status_path, {}),
        (f"/api/v1/statuses/{posted['id']}", status_path, as_bob),
        (f"/api/v1/statuses/{posted['id']}/context", status_path + "/context", as_bob),
        (f"/api/v1/statuses/{posted['id']}/history", status_path + "/history", as_bob),
        (f"/api/v1/statuses/{posted['id']}/source", status_path + "/source", as_alice),
        (f"/api/v1/statuses/{posted['id']}/favourited_by", status_path + "/favourited_by", {}),
        (f"/api/v1/statuses?id[]={posted['id']}&id[]={polled['id']}", "/api/v1/statuses", as_bob),
        (f"/api/v1/polls/{polled['poll']['id']}", "/api/v1/polls/{poll_id}", as_bob),
        (f"/api/v1/accounts/{alice.id}/statuses", "/api/v1/accounts/{account_id}/statuses", {}),
        ("/api/v1/bookmarks", "/api/v1/bookmarks", as_bob),
        ("/api/v1/favourites", "/api/v1/favourites", as_bob),
        ("/api/v1/notifications", "/api/v1/notifications", as_alice),
        ("/api/v2/notifications", "/api/v2/notifications", as_alice),
        ("/api/v2/notifications?expand_accounts=partial_avatars", "/api/v2/notifications",
         as_alice),
        ("/api/v2/notifications/unread_count", "/api/v2/notifications/unread_count", as_alice),
        ("/api/v1/conversations", "/api/v1/conversations", as_bob),
        (f"/api/v1/accounts/relationships?id[]={alice.id}", "/api/v1/accounts/relationships",
         as_bob),
        (f"/api/v1/accounts/{alice.id}/followers", "/api/v1/accounts/{account_id}/followers", {}),
        (f"/api/v1/accounts/{alice.id}", "/api/v1/accounts/{account_id}", {}),
        ("/api/v1/accounts/lookup?acct=alice", "/api/v1/accounts/lookup", {}),
        ("/api/v1/accounts/verify_credentials", "/api/v1/accounts/verify_credentials", as_bob),
        ("/api/v2/search?q=ali", "/api/v2/search", as_bob),
        ("/api/v2/filters", "/api/v2/filters", as_bob),
        ("/api/v1/filters", "/api/v1/filters", as_bob),
        ("/api/v1/lists", "/api/v1/lists", as_bob),
        ("/api/v1/markers?timeline[]=home", "/api/v1/markers", as_bob),
        ("/api/v1/scheduled_statuses", "/api/v1/scheduled_statuses", as_alice),
        (f"/api/v1/scheduled_statuses/{scheduled['id']}", scheduled_path, as_alice),
        ("/api/v1/tags/connecthub", "/api/v1/tags/{name}", {}),
        ("/api/v1/tags/connecthub", "/api/v1/tags/{name}", as_bob),
        ("/api/v1/followed_tags", "/api/v1/followed_tags", as_bob),
    ]  # fmt: skip
    for url, path, headers in reads:
        check(await client.get(url, headers=headers), "get", path)
    # The "For you" timeline (its flag on), with alice's posts and their `for_you` field.
    await create_flag(client, await admin_token(app), key="for_you", kind="boolean",
                      default_value=True)  # fmt: skip
    for_you = check(await client.get("/api/v1/timelines/for_you", headers=as_bob),
                    "get", "/api/v1/timelines/for_you")  # fmt: skip
    assert posted["id"] in [status["id"] for status in for_you]

    notifications = (await client.get("/api/v1/notifications", headers=as_alice)).json()
    assert {"follow", "mention", "reblog", "favourite"} <= {n["type"] for n in notifications}
    group_key = notifications[0]["group_key"]
    for url, path in [
        (f"/api/v2/notifications/{group_key}", "/api/v2/notifications/{group_key}"),
        (f"/api/v2/notifications/{group_key}/accounts",
         "/api/v2/notifications/{group_key}/accounts"),
    ]:  # fmt: skip
        check(await client.get(url, headers=as_alice), "get", path)
    home = (await client.get("/api/v1/timelines/home", headers=as_bob)).json()
    assert any(s["reblog"] for s in home)
    assert any(s["filtered"] for s in home)
    assert any(s["media_attachments"] and s["mentions"] and s["tags"] for s in home)
    check(await client.delete(f"/api/v1/statuses/{reply['id']}", headers=as_bob),
          "delete", status_path)  # fmt: skip
    assert len(answers.checked) == len(reads) + 23
