"""Posting, idempotency, rendering, replies, edits and deletion through the API."""

from __future__ import annotations

import asyncio

import httpx
from bs4 import BeautifulSoup
from fastapi import FastAPI

from connecthub.accounts.models import Account, Role
from connecthub.infra.idempotency import IdempotencyRecord
from connecthub.statuses.models import Mention, Status, StatusTag, Tag
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import account_row, count_rows


async def test_post_as_json_form_and_query(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    as_json = await post_status(client, token, "json", visibility="unlisted", language="en")
    as_form = await client.post(
        "/api/v1/statuses",
        data={"status": "form", "spoiler_text": "cw", "visibility": "private"},
        headers=auth(token),
    )
    as_query = await client.post(
        "/api/v1/statuses", params={"status": "query", "sensitive": "true"}, headers=auth(token)
    )
    assert as_json["visibility"] == "unlisted"
    assert as_json["language"] == "en"
    assert as_json["content"] == "<p>json</p>"
    assert as_json["account"]["id"] == str(alice.id)
    assert as_form.status_code == 200
    assert as_form.json()["visibility"] == "private"
    assert as_form.json()["spoiler_text"] == "cw"
    assert as_form.json()["sensitive"] is True
    assert as_query.status_code == 200
    assert as_query.json()["sensitive"] is True
    account = await account_row(app, alice.id)
    assert account.statuses_count == 3
    assert account.last_status_at is not None


async def test_bad_input_names_the_field(app_factory) -> None:  # type: ignore[no-untyped-def]
    async with app_factory(max_status_characters=30) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        cases = [
            ({"status": ""}, "status"),
            ({"status": "x" * 31}, "status"),
            ({"status": "hi", "visibility": "everyone"}, "visibility"),
            ({"status": "hi", "media_ids": ["1"]}, "media_ids"),
            ({"status": "hi", "in_reply_to_id": "abc"}, "in_reply_to_id"),
            ({"status": "hi", "poll": {"options": ["only"], "expires_in": 600}}, "poll[options]"),
            (
                {"status": "hi", "poll": {"options": ["a", "b"], "expires_in": 1}},
                "poll[expires_in]",
            ),
        ]
        for body, field in cases:
            response = await client.post("/api/v1/statuses", json=body, headers=auth(token))
            assert response.status_code == 422, (body, response.text)
            assert field in response.json()["error"], (body, response.text)
        # A URL counts as 23 characters however long it is.
        long_url = "https://example.com/" + "a" * 200
        ok = await client.post(
            "/api/v1/statuses", json={"status": f"see {long_url}"}, headers=auth(token)
        )
        assert ok.status_code == 200, ok.text


async def test_idempotency_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    first = await post_status(client, token, "once", idempotency_key="k-1")
    again = await post_status(client, token, "once", idempotency_key="k-1")
    other = await post_status(client, bob_token, "once", idempotency_key="k-1")
    assert first["id"] == again["id"]
    assert other["id"] != first["id"]
    assert await count_rows(app, Status, Status.account_id == alice.id) == 1
    assert (await account_row(app, alice.id)).statuses_count == 1
    assert await count_rows(app, IdempotencyRecord) == 2


async def test_concurrent_duplicates_create_one_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    results = await asyncio.gather(
        *(post_status(client, token, "race", idempotency_key="same") for _ in range(5))
    )
    assert len({r["id"] for r in results}) == 1
    assert await count_rows(app, Status, Status.account_id == alice.id) == 1


async def test_content_is_sanitised(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    nasty = (
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> '
        '<a href="javascript:alert(3)">x</a> javascript:alert(4)'
    )
    status = await post_status(client, token, nasty)
    soup = BeautifulSoup(status["content"], "html.parser")
    assert {tag.name for tag in soup.find_all(True)} <= {"p", "br", "a", "span"}
    for tag in soup.find_all(True):
        assert not [name for name in tag.attrs if name.lower().startswith("on")]
    assert all(str(a["href"]).startswith("http") for a in soup.find_all("a"))
    assert "alert(1)" in soup.get_text()  # kept as visible text, never as markup
    source = await client.get(f"/api/v1/statuses/{status['id']}/source", headers=auth(token))
    assert source.json()["text"] == nasty


async def test_mentions_and_hashtags_are_linked_and_stored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    status = await post_status(client, token, "hi @bob and @ghost #Hello #hello #123")
    assert [m["id"] for m in status["mentions"]] == [str(bob.id)]
    assert [t["name"] for t in status["tags"]] == ["Hello"]
    assert 'class="u-url mention">@<span>bob</span></a>' in status["content"]
    assert '<span class="h-card">' in status["content"]
    assert 'class="mention hashtag" rel="tag">#<span>Hello</span></a>' in status["content"]
    assert "@ghost" in status["content"]
    assert "/@ghost" not in status["content"]
    assert await count_rows(app, Mention, Mention.account_id == bob.id) == 1
    assert await count_rows(app, Tag, Tag.name_key == "hello") == 1
    assert await count_rows(app, StatusTag) == 1


async def test_the_posted_status_is_what_a_read_returns(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The response is rendered from what the post wrote, not read back (mentions in their
    order, tags by name, the author with the post counted, their role, the poll, the reply):
    it must equal what reading the status answers, to the author and to anyone."""
    _alice, token = await user_with_token(app, "alice", role=Role.MODERATOR)
    await user_with_token(app, "bob")
    await user_with_token(app, "carol")
    first = await post_status(client, token, "first")
    posted = await post_status(
        client,
        token,
        "to @carol and @bob #Zeta #alpha #Mid",
        in_reply_to_id=first["id"],
        spoiler_text="cw",
        language="en",
        poll={"options": ["yes", "no"], "expires_in": 600},
    )
    assert [m["username"] for m in posted["mentions"]] == ["carol", "bob"]
    assert posted["account"]["statuses_count"] == 2
    assert posted["account"]["roles"]
    read = await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(token))
    assert read.json() == posted
    anonymous = (await client.get(f"/api/v1/statuses/{posted['id']}")).json()
    mine = ("favourited", "reblogged", "muted", "bookmarked", "pinned")
    assert anonymous == {
        **{key: value for key, value in posted.items() if key not in mine},
        "poll": {k: v for k, v in posted["poll"].items() if k not in ("voted", "own_votes")},
    }


async def test_replies_inherit_the_thread_and_count(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    root = await post_status(client, token, "root")
    reply = await post_status(client, bob_token, "@alice reply", in_reply_to_id=root["id"])
    nested = await post_status(client, token, "nested", in_reply_to_id=reply["id"])
    assert reply["in_reply_to_id"] == root["id"]
    assert reply["in_reply_to_account_id"] == str(alice.id)
    fetched = (await client.get(f"/api/v1/statuses/{root['id']}")).json()
    assert fetched["replies_count"] == 1
    context = (await client.get(f"/api/v1/statuses/{nested['id']}/context")).json()
    assert [s["id"] for s in context["ancestors"]] == [root["id"], reply["id"]]
    down = (await client.get(f"/api/v1/statuses/{root['id']}/context")).json()
    assert [s["id"] for s in down["descendants"]] == [reply["id"], nested["id"]]
    async with app.state.engines.db.session() as session:
        first = await session.get(Status, int(root["id"]))
        last = await session.get(Status, int(nested["id"]))
    assert first is not None
    assert last is not None
    assert first.conversation_id == last.conversation_id is not None


async def test_reply_to_unreadable_status_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    secret = await post_status(client, token, "followers only", visibility="private")
    response = await client.post(
        "/api/v1/statuses",
        json={"status": "sneaky", "in_reply_to_id": secret["id"]},
        headers=auth(bob_token),
    )
    assert response.status_code == 404


async def test_edit_history_and_source(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, token, "first #one")
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "second #two", "spoiler_text": "cw"},
        headers=auth(token),
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["edited_at"] is not None
    assert body["content"].startswith("<p>second")
    assert [t["name"] for t in body["tags"]] == ["two"]
    assert body["spoiler_text"] == "cw"
    history = (await client.get(f"/api/v1/statuses/{status['id']}/history")).json()
    assert [h["content"][:9] for h in history] == ["<p>first ", "<p>second"]
    source = (
        await client.get(f"/api/v1/statuses/{status['id']}/source", headers=auth(token))
    ).json()
    assert source == {"id": status["id"], "text": "second #two", "spoiler_text": "cw"}
    not_mine = await client.put(
        f"/api/v1/statuses/{status['id']}", json={"status": "x"}, headers=auth(bob_token)
    )
    assert not_mine.status_code == 403


async def test_delete_returns_source_and_updates_counts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    root = await post_status(client, token, "root")
    reply = await post_status(client, bob_token, "reply text", in_reply_to_id=root["id"])
    boost = await client.post(f"/api/v1/statuses/{reply['id']}/reblog", headers=auth(token))
    assert boost.status_code == 200
    fav = await client.post(f"/api/v1/statuses/{reply['id']}/favourite", headers=auth(token))
    assert fav.json()["favourites_count"] == 1
    assert (await account_row(app, alice.id)).statuses_count == 2
    gone = await client.delete(f"/api/v1/statuses/{reply['id']}", headers=auth(bob_token))
    assert gone.status_code == 200
    assert gone.json()["text"] == "reply text"
    assert (await client.get(f"/api/v1/statuses/{reply['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{root['id']}")).json()["replies_count"] == 0
    assert (await account_row(app, bob.id)).statuses_count == 0
    assert (await account_row(app, alice.id)).statuses_count == 1  # the boost went too
    assert await count_rows(app, Status, Status.reblog_of_id.is_not(None)) == 0
    other = await client.delete(f"/api/v1/statuses/{root['id']}", headers=auth(bob_token))
    assert other.status_code == 403
    assert await count_rows(app, Account) == 2
