"""Filters applied to what a viewer reads: `filtered` results in the filter's contexts,
`hide` leaving statuses out of timelines, notifications and account statuses (but not
threads), whole-word matching, expiry, and changes showing on the next read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.filters.support import create_filter
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import home_ids, read_costs, settle


async def _home(app: FastAPI, client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    await settle(app)
    response = await client.get("/api/v1/timelines/home", headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def _reader_and_author(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, str]:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    followed = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    assert followed.status_code == 200, followed.text
    return alice_token, bob_token


async def test_the_authors_filters_mark_their_new_post_and_follow_a_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A post's response carries its author's own filter results, as reading it would (the
    rules are read before the post writes, through the cache), and a filter made since
    shows on the next post."""
    _alice, token = await user_with_token(app, "alice")
    warned = await create_filter(client, token, keywords=[{"keyword": "ending"}])
    posted = await post_status(client, token, "the ending, again")
    assert [r["filter"]["id"] for r in posted["filtered"]] == [warned["id"]]
    read = await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(token))
    assert read.json()["filtered"] == posted["filtered"]
    other = await create_filter(client, token, "Films", keywords=[{"keyword": "again"}])
    again = await post_status(client, token, "the ending, again")
    assert sorted(r["filter"]["id"] for r in again["filtered"]) == sorted(
        [warned["id"], other["id"]]
    )


async def test_warn_marks_and_hide_leaves_out_on_home(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice_token, bob_token = await _reader_and_author(app, client)
    plain = await post_status(client, bob_token, "a quiet day")
    spoiler = await post_status(client, bob_token, "The ENDING of the film!")
    warned = await create_filter(
        client, alice_token, "Films", keywords=[{"keyword": "ending", "whole_word": True}]
    )
    shown = {s["id"]: s for s in await _home(app, client, alice_token)}
    assert shown[plain["id"]]["filtered"] == []
    [result] = shown[spoiler["id"]]["filtered"]
    assert result["filter"]["id"] == warned["id"]
    assert result["filter"]["filter_action"] == "warn"
    assert result["keyword_matches"] == ["ENDING"]
    assert result["status_matches"] is None

    changed = await client.put(
        f"/api/v2/filters/{warned['id']}", json={"filter_action": "hide"}, headers=auth(alice_token)
    )
    assert changed.status_code == 200
    assert await home_ids(app, client, alice_token) == [plain["id"]]
    # The author's own reading is untouched by another account's filters.
    assert spoiler["id"] in await home_ids(app, client, bob_token)

    # Deleting the filter shows the status again at once (the cached rules are dropped).
    await client.delete(f"/api/v2/filters/{warned['id']}", headers=auth(alice_token))
    assert await home_ids(app, client, alice_token) == [spoiler["id"], plain["id"]]


async def test_only_the_filter_contexts_apply(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice_token, bob_token = await _reader_and_author(app, client)
    status = await post_status(client, bob_token, "about kites")
    await create_filter(
        client,
        alice_token,
        context=["public"],
        filter_action="hide",
        keywords=[{"keyword": "kites"}],
    )
    [home] = await _home(app, client, alice_token)
    assert home["filtered"] == []
    public = await client.get("/api/v1/timelines/public", headers=auth(alice_token))
    assert status["id"] not in [s["id"] for s in public.json()]
    anonymous = await client.get("/api/v1/timelines/public")
    assert status["id"] in [s["id"] for s in anonymous.json()]
    # One status by id carries every active filter's result, and is returned.
    one = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(alice_token))
    assert [r["filter"]["context"] for r in one.json()["filtered"]] == [["public"]]


async def test_whole_word(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice_token, bob_token = await _reader_and_author(app, client)
    cat = await post_status(client, bob_token, "my cat sleeps")
    catalog = await post_status(client, bob_token, "the new catalog")
    tag = await post_status(client, bob_token, "#rust is fun")
    await create_filter(
        client,
        alice_token,
        keywords=[{"keyword": "cat", "whole_word": True}, {"keyword": "#rust", "whole_word": True}],
    )
    shown = {s["id"]: s for s in await _home(app, client, alice_token)}
    assert shown[cat["id"]]["filtered"][0]["keyword_matches"] == ["cat"]
    assert shown[catalog["id"]]["filtered"] == []
    assert shown[tag["id"]]["filtered"][0]["keyword_matches"] == ["#rust"]

    await create_filter(
        client, alice_token, "Parts", keywords=[{"keyword": "cat", "whole_word": False}]
    )
    shown = {s["id"]: s for s in await _home(app, client, alice_token)}
    assert [r["filter"]["title"] for r in shown[catalog["id"]]["filtered"]] == ["Parts"]


async def test_spoiler_text_boosts_and_status_filters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice_token, bob_token = await _reader_and_author(app, client)
    _carol, carol_token = await user_with_token(app, "carol")
    warned = await post_status(client, bob_token, "details", spoiler_text="Finale talk")
    original = await post_status(client, carol_token, "a finale elsewhere")
    boost = await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=auth(bob_token))
    listed = await post_status(client, bob_token, "nothing special")
    created = await create_filter(client, alice_token, keywords=[{"keyword": "finale"}])
    added = await client.post(
        f"/api/v2/filters/{created['id']}/statuses",
        json={"status_id": listed["id"]},
        headers=auth(alice_token),
    )
    assert added.status_code == 200, added.text
    shown = {s["id"]: s for s in await _home(app, client, alice_token)}
    assert shown[warned["id"]]["filtered"][0]["keyword_matches"] == ["Finale"]
    boosted = shown[boost.json()["id"]]
    assert boosted["filtered"][0]["keyword_matches"] == ["finale"]
    assert boosted["reblog"]["filtered"] == boosted["filtered"]
    [by_status] = shown[listed["id"]]["filtered"]
    assert by_status["status_matches"] == [listed["id"]]
    assert by_status["keyword_matches"] is None


async def test_expired_filters_do_not_apply(app: FastAPI, client: httpx.AsyncClient) -> None:
    from sqlalchemy import update

    from connecthub.clock import utcnow
    from connecthub.filters.models import Filter

    alice_token, bob_token = await _reader_and_author(app, client)
    status = await post_status(client, bob_token, "birds everywhere")
    created = await create_filter(
        client, alice_token, filter_action="hide", expires_in=3600, keywords=[{"keyword": "birds"}]
    )
    assert await home_ids(app, client, alice_token) == []
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Filter).where(Filter.id == int(created["id"])).values(expires_at=utcnow())
        )
    assert await home_ids(app, client, alice_token) == [status["id"]]
    # Still listed, as Mastodon lists expired filters.
    listed = (await client.get("/api/v2/filters", headers=auth(alice_token))).json()
    assert [f["id"] for f in listed] == [created["id"]]


async def test_notifications_and_account_statuses(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    hidden = await post_status(client, bob_token, "@alice secret plans")
    shown = await post_status(client, bob_token, "@alice lunch?")
    await create_filter(
        client,
        alice_token,
        context=["notifications", "account"],
        filter_action="hide",
        keywords=[{"keyword": "secret"}],
    )
    listed = await client.get("/api/v1/notifications", headers=auth(alice_token))
    assert [n["status"]["id"] for n in listed.json()] == [shown["id"]]
    statuses = await client.get(f"/api/v1/accounts/{bob.id}/statuses", headers=auth(alice_token))
    assert [s["id"] for s in statuses.json()] == [shown["id"]]
    # In a thread the status is still there, marked (as Mastodon).
    reply = await post_status(client, alice_token, "@bob sure", in_reply_to_id=hidden["id"])
    context = await client.get(f"/api/v1/statuses/{reply['id']}/context", headers=auth(alice_token))
    assert [s["id"] for s in context.json()["ancestors"]] == [hidden["id"]]
    assert context.json()["ancestors"][0]["filtered"] == []  # thread is not among the contexts
    del alice


async def test_warn_on_notifications(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await create_filter(
        client, alice_token, context=["notifications"], keywords=[{"keyword": "plans"}]
    )
    mention = await post_status(client, bob_token, "@alice plans")
    [notification] = (await client.get("/api/v1/notifications", headers=auth(alice_token))).json()
    assert notification["status"]["id"] == mention["id"]
    assert notification["status"]["filtered"][0]["keyword_matches"] == ["plans"]


@pytest.mark.slow
async def test_home_query_counts_with_and_without_filters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice_token, bob_token = await _reader_and_author(app, client)
    for n in range(40):
        await post_status(client, bob_token, f"post {n} #kites")
    url = "/api/v1/timelines/home"
    cold, warm = await read_costs(app, client, url, alice_token, [5, 40])
    await create_filter(client, alice_token, keywords=[{"keyword": "post"}])
    filtered_cold, filtered_warm = await read_costs(app, client, url, alice_token, [5, 40])
    # The rules come with the page's other cached entities: no extra query when cached.
    assert filtered_cold == cold
    assert filtered_warm == warm
