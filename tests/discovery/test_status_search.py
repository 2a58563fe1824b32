"""Full-text search of statuses in `GET /api/v2/search` (ADR 0026): who finds what
(one's own posts, posts one interacted with, public posts of `indexable` accounts; never
outside the visibility rule, never a blocked, muted or suspended author), the index kept
right through edits and deletions, English and Indonesian words, Mastodon's operators and
parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.engines import postgres_server_url
from tests.relationships.support import act, set_account, suspend
from tests.social_factories import auth, follow, post_status, user_with_token

SEARCH = "/api/v2/search"


async def _found(client: httpx.AsyncClient, token: str | None, q: str, **params: str) -> list[str]:
    """The ids of the statuses a search finds, in its order."""
    headers = auth(token) if token else {}
    response = await client.get(SEARCH, params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()["statuses"]]


async def _indexable_user(app: FastAPI, name: str) -> tuple[Any, str]:
    account, token = await user_with_token(app, name)
    await set_account(app, account.id, indexable=True)
    return account, token


async def test_indexable_is_opted_into_and_shown(app: FastAPI, client: httpx.AsyncClient) -> None:
    account, token = await user_with_token(app, "alice")
    me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))
    assert (me.json()["indexable"], me.json()["source"]["indexable"]) == (False, False)

    response = await client.patch(
        "/api/v1/accounts/update_credentials", data={"indexable": "true"}, headers=auth(token)
    )

    assert response.status_code == 200, response.text
    assert (response.json()["indexable"], response.json()["source"]["indexable"]) == (True, True)
    shown = await client.get(f"/api/v1/accounts/{account.id}", headers=auth(token))
    assert shown.json()["indexable"] is True
    refused = await client.patch(
        "/api/v1/accounts/update_credentials", data={"indexable": "perhaps"}, headers=auth(token)
    )
    assert refused.status_code == 422
    assert "indexable" in refused.json()["error"]


async def test_finds_public_posts_of_indexable_accounts_in_english_and_indonesian(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await _indexable_user(app, "alice")
    _viewer, token = await user_with_token(app, "viewer")
    cats = await post_status(client, alice_token, "The cats are running home", language="en")
    food = await post_status(client, alice_token, "Makanan enak di Jakarta", language="id")
    café = await post_status(client, alice_token, "Un café à Montréal")

    assert await _found(client, token, "cats") == [cats["id"]]
    assert await _found(client, token, "RUN") == [cats["id"]]  # running: stemmed or prefix
    assert await _found(client, token, "makan") == [food["id"]]  # makanan
    assert await _found(client, token, "jakarta enak") == [food["id"]]  # every word, any order
    assert await _found(client, token, "cafe montreal") == [café["id"]]  # diacritics folded
    assert await _found(client, token, "cats jakarta") == []
    if postgres_server_url():  # a stemmer, not a prefix: the longer word finds the shorter
        eat = await post_status(client, alice_token, "Kami makan nasi", language="id")
        assert set(await _found(client, token, "makanan")) == {food["id"], eat["id"]}


@pytest.mark.slow
async def test_who_finds_what(app: FastAPI, client: httpx.AsyncClient) -> None:
    author, author_token = await _indexable_user(app, "author")
    shy, shy_token = await user_with_token(app, "shy")  # not indexable
    viewer, token = await user_with_token(app, "viewer")
    await follow(app, viewer.id, author.id)
    await follow(app, viewer.id, shy.id)
    public = await post_status(client, author_token, "zebra public")
    unlisted = await post_status(client, author_token, "zebra unlisted", visibility="unlisted")
    private = await post_status(client, author_token, "zebra private", visibility="private")
    direct = await post_status(client, author_token, "zebra direct", visibility="direct")
    shy_post = await post_status(client, shy_token, "zebra shy")
    shy_liked = await post_status(client, shy_token, "zebra liked")
    mentioned = await post_status(client, shy_token, "zebra @viewer", visibility="direct")
    mine = await post_status(client, token, "zebra mine", visibility="private")
    response = await client.post(
        f"/api/v1/statuses/{shy_liked['id']}/favourite", headers=auth(token)
    )
    assert response.status_code == 200

    found = set(await _found(client, token, "zebra"))

    # Followed or not, only public posts of an opted-in account are found by anyone;
    # the rest only by those who wrote them, were mentioned in them or interacted with them.
    assert found == {public["id"], shy_liked["id"], mentioned["id"], mine["id"]}
    assert {unlisted["id"], private["id"], direct["id"], shy_post["id"]}.isdisjoint(found)
    _stranger, stranger_token = await user_with_token(app, "stranger")
    assert await _found(client, stranger_token, "zebra") == [public["id"]]
    assert set(await _found(client, author_token, "zebra")) == {
        public["id"],
        unlisted["id"],
        private["id"],
        direct["id"],
    }
    assert await _found(client, None, "zebra") == []  # anonymous: no statuses, as Mastodon
    library = set(await _found(client, token, "zebra in:library"))
    assert library == {shy_liked["id"], mentioned["id"], mine["id"]}
    assert await _found(client, token, "zebra in:public") == [public["id"]]


async def test_blocks_mutes_and_suspensions_hide_posts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    blocker, blocker_token = await _indexable_user(app, "blocker")
    blocked, blocked_token = await _indexable_user(app, "blocked")
    muted, muted_token = await _indexable_user(app, "muted")
    gone, gone_token = await _indexable_user(app, "gone")
    _viewer, token = await user_with_token(app, "viewer")
    for author_token in (blocker_token, blocked_token, muted_token, gone_token):
        await post_status(client, author_token, "okapi sighting")
    assert len(await _found(client, token, "okapi")) == 4

    viewer_id = await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))
    assert (await act(client, blocker_token, int(viewer_id.json()["id"]), "block")).is_success
    assert (await act(client, token, blocked.id, "block")).is_success
    assert (await act(client, token, muted.id, "mute")).is_success
    await suspend(app, gone.id)

    assert await _found(client, token, "okapi") == []
    # The blocker still finds their own post, and the others (minus the suspended one):
    # the viewer's blocks and mutes are the viewer's alone.
    assert len(await _found(client, blocker_token, "okapi")) == 3
    del blocker


async def test_edits_and_deletions_keep_the_index_right(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await _indexable_user(app, "alice")
    _viewer, token = await user_with_token(app, "viewer")
    status = await post_status(client, alice_token, "a quokka smiles")
    assert await _found(client, token, "quokka") == [status["id"]]

    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "a wombat smiles", "spoiler_text": "marsupial"},
        headers=auth(alice_token),
    )
    assert edited.status_code == 200, edited.text
    assert await _found(client, token, "quokka") == []
    assert await _found(client, token, "wombat") == [status["id"]]
    assert await _found(client, token, "marsupial") == [status["id"]]  # the spoiler too

    deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth(alice_token))
    assert deleted.status_code == 200, deleted.text
    assert await _found(client, token, "wombat") == []


@pytest.mark.slow
async def test_operators(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await _indexable_user(app, "alice")
    _bob, bob_token = await _indexable_user(app, "bob")
    _viewer, token = await user_with_token(app, "viewer")
    plain = await post_status(client, alice_token, "lemur in the rain")
    poll = await post_status(
        client,
        alice_token,
        "lemur vote",
        poll={"options": ["yes", "no"], "expires_in": 3600},
    )
    reply = await post_status(client, bob_token, "lemur reply", in_reply_to_id=plain["id"])
    sensitive = await post_status(client, bob_token, "lemur secret", sensitive=True)
    indonesian = await post_status(client, bob_token, "lemur di hutan", language="id")
    phrase = await post_status(client, bob_token, "rain in the lemur forest")

    async def ids(q: str) -> set[str]:
        return set(await _found(client, token, q))

    everything = {p["id"] for p in (plain, poll, reply, sensitive, indonesian, phrase)}
    assert await ids("lemur") == everything
    assert await ids("lemur from:alice") == {plain["id"], poll["id"]}
    assert await ids("lemur from:@alice") == {plain["id"], poll["id"]}
    assert await ids("lemur from:alice@localhost:8000") == {plain["id"], poll["id"]}
    assert await ids("lemur -from:alice") == everything - {plain["id"], poll["id"]}
    assert await ids("lemur has:poll") == {poll["id"]}
    assert await ids("lemur -has:poll") == everything - {poll["id"]}
    assert await ids("lemur has:media") == set()
    assert await ids("lemur is:reply") == {reply["id"]}
    assert await ids("lemur is:sensitive") == {sensitive["id"]}
    assert await ids("lemur language:id") == {indonesian["id"]}
    assert await ids('"lemur in the rain"') == {plain["id"]}
    assert await ids("“lemur in the rain”") == {plain["id"]}  # curly quotes too
    assert await ids("lemur -rain") == everything - {plain["id"], phrase["id"]}
    assert await ids('lemur -"the rain"') == everything - {plain["id"]}
    assert await ids("from:alice has:poll") == {poll["id"]}  # operators alone
    today = datetime.now(UTC).date()
    assert await ids(f"lemur during:{today}") == everything
    assert await ids(f"lemur after:{today - timedelta(days=1)}") == everything
    assert await ids(f"lemur before:{today}") == set()
    assert await ids(f"lemur after:{today}") == set()
    # account_id is `from:` by id
    by_id = await _found(client, token, "lemur", account_id=str(alice.id))
    assert set(by_id) == {plain["id"], poll["id"]}


async def test_operator_and_parameter_errors(app: FastAPI, client: httpx.AsyncClient) -> None:
    _viewer, token = await user_with_token(app, "viewer")
    for q in ("x has:cats", "x is:happy", "x before:yesterday", "x language:!!", "x in:nowhere"):
        response = await client.get(SEARCH, params={"q": q}, headers=auth(token))
        assert response.status_code == 422, (q, response.text)
        assert "q: " in response.json()["error"], response.text
    for q in ("x from:nobody", "x from:alice@elsewhere.example"):
        response = await client.get(SEARCH, params={"q": q}, headers=auth(token))
        assert response.status_code == 404, (q, response.text)
    unknown = await client.get(
        SEARCH, params={"q": "x", "account_id": "12345"}, headers=auth(token)
    )
    assert unknown.status_code == 404
    # A lone #tag or @user is not a status search (Mastodon's rule): no error, no statuses.
    assert await _found(client, token, "#x") == []
    assert await _found(client, token, "@nobody") == []


async def test_anonymous_callers_and_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    await user_with_token(app, "alice")
    anonymous = await client.get(SEARCH, params={"q": "alice"})
    assert anonymous.status_code == 200
    assert [a["acct"] for a in anonymous.json()["accounts"]] == ["alice"]
    paged = await client.get(SEARCH, params={"q": "alice", "type": "accounts", "offset": "1"})
    assert paged.status_code == 401
    assert paged.json() == {
        "error": "Search queries pagination is not supported without authentication"
    }
    resolving = await client.get(SEARCH, params={"q": "alice", "resolve": "true"})
    assert resolving.status_code == 401
    assert "resolve remote resources" in resolving.json()["error"]


async def test_pages_ranking_and_id_bounds(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await _indexable_user(app, "alice")
    _viewer, token = await user_with_token(app, "viewer")
    once = await post_status(client, alice_token, "a tapir and other animals of the forest")
    often = await post_status(client, alice_token, "tapir tapir tapir")
    newest = await post_status(client, alice_token, "the tapir of the forest")

    ranked = await _found(client, token, "tapir")
    assert ranked[0] == often["id"]  # the closest match first
    assert set(ranked) == {once["id"], often["id"], newest["id"]}
    assert await _found(client, token, "tapir forest", type="statuses", limit="1") == [
        newest["id"]  # equal matches: the newer first
    ]
    second = await _found(client, token, "tapir forest", type="statuses", limit="1", offset="1")
    assert second == [once["id"]]
    assert await _found(client, token, "tapir", max_id=often["id"]) == [once["id"]]
    assert await _found(client, token, "tapir", min_id=often["id"]) == [newest["id"]]
    accounts_only = await client.get(
        SEARCH, params={"q": "tapir", "type": "accounts"}, headers=auth(token)
    )
    assert accounts_only.json()["statuses"] == []
