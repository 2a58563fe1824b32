"""Followers / following lists, the relationships batch and familiar followers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.relationships.support import act, next_link, suspend
from tests.social_factories import auth, follow, user_with_token
from tests.support.queries import counting_queries


@pytest.mark.slow
async def test_followers_paginate_over_more_than_a_page_with_next_first(
    app: FastAPI, client: AsyncClient
) -> None:
    star, star_token = await user_with_token(app, "star")
    fans = []
    for n in range(45):
        fan, fan_token = await user_with_token(app, f"fan{n}")
        assert (await act(client, fan_token, star.id, "follow")).status_code == 200
        fans.append(str(fan.id))
    newest_first = fans[::-1]

    first = await client.get(f"/api/v1/accounts/{star.id}/followers", params={"limit": 40})
    assert first.status_code == 200
    assert [a["id"] for a in first.json()] == newest_first[:40]
    rest = await client.get(next_link(first))
    assert [a["id"] for a in rest.json()] == newest_first[40:]
    assert "limit=40" in next_link(first)

    # `min_id` walks back towards newer follows (the `prev` link).
    prev = first.headers["link"].split(",")[1].split(";")[0].strip().strip("<>")
    assert (await client.get(prev)).json() == []
    older = await client.get(
        f"/api/v1/accounts/{star.id}/followers", headers=auth(star_token), params={"limit": 2}
    )
    assert [a["id"] for a in older.json()] == newest_first[:2]

    following = await client.get(f"/api/v1/accounts/{fans[0]}/following")
    assert [a["id"] for a in following.json()] == [str(star.id)]
    assert following.json()[0]["followers_count"] == 45


async def test_lists_hide_suspended_accounts_and_respect_blocks(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    mallory, mallory_token = await user_with_token(app, "mallory")
    await follow(app, bob.id, alice.id)
    await follow(app, carol.id, alice.id)
    await suspend(app, bob.id)

    shown = await client.get(f"/api/v1/accounts/{alice.id}/followers")
    assert [a["id"] for a in shown.json()] == [str(carol.id)]
    assert (await client.get(f"/api/v1/accounts/{bob.id}/followers")).status_code == 404
    assert (await client.get("/api/v1/accounts/12345/following")).status_code == 404

    await act(client, alice_token, mallory.id, "block")
    hidden = await client.get(f"/api/v1/accounts/{alice.id}/followers", headers=auth(mallory_token))
    assert hidden.status_code == 200
    assert hidden.json() == []
    seen = await client.get(f"/api/v1/accounts/{alice.id}/followers", headers=auth(carol_token))
    assert [a["id"] for a in seen.json()] == [str(carol.id)]
    bad = await client.get(f"/api/v1/accounts/{alice.id}/followers", params={"max_id": "x"})
    assert bad.status_code == 422
    assert "max_id" in bad.json()["error"]


async def test_relationships_batch(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")
    dave, _ = await user_with_token(app, "dave")
    await act(client, alice_token, bob.id, "follow")
    await act(client, bob_token, alice.id, "follow")
    await act(client, alice_token, carol.id, "mute")
    await suspend(app, dave.id)

    ids = [carol.id, 999999, bob.id, dave.id, carol.id]
    response = await client.get(
        "/api/v1/accounts/relationships", params={"id[]": ids}, headers=auth(alice_token)
    )
    assert response.status_code == 200, response.text
    entities = response.json()
    assert [e["id"] for e in entities] == [str(carol.id), str(bob.id)]
    carol_state, bob_state = entities
    assert (carol_state["muting"], carol_state["following"]) == (True, False)
    assert (bob_state["following"], bob_state["followed_by"]) == (True, True)

    with_suspended = await client.get(
        "/api/v1/accounts/relationships",
        params={"id[]": [dave.id], "with_suspended": "true"},
        headers=auth(alice_token),
    )
    assert [e["id"] for e in with_suspended.json()] == [str(dave.id)]
    single = await client.get(
        "/api/v1/accounts/relationships", params={"id": bob.id}, headers=auth(alice_token)
    )
    assert single.json()[0]["following"] is True

    too_many = await client.get(
        "/api/v1/accounts/relationships",
        params={"id[]": list(range(1, 42))},
        headers=auth(alice_token),
    )
    assert too_many.status_code == 422
    assert "id" in too_many.json()["error"]
    not_numeric = await client.get(
        "/api/v1/accounts/relationships", params={"id[]": "bob"}, headers=auth(alice_token)
    )
    assert not_numeric.status_code == 422
    # Not swallowed by `/api/v1/accounts/{id}`: it needs a token like any relationship read.
    assert (await client.get("/api/v1/accounts/relationships")).status_code == 401


async def test_familiar_followers(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")
    dave, _ = await user_with_token(app, "dave")
    erin, _ = await user_with_token(app, "erin")
    # Alice follows bob and carol; bob and carol follow dave; erin follows dave too.
    for follower, target in ((alice, bob), (alice, carol), (bob, dave), (carol, dave)):
        await follow(app, follower.id, target.id)
    await follow(app, erin.id, dave.id)
    await follow(app, carol.id, erin.id)

    response = await client.get(
        "/api/v1/accounts/familiar_followers",
        params={"id[]": [dave.id, erin.id, alice.id]},
        headers=auth(alice_token),
    )
    assert response.status_code == 200, response.text
    result = {entry["id"]: [a["id"] for a in entry["accounts"]] for entry in response.json()}
    assert [entry["id"] for entry in response.json()] == [
        str(dave.id),
        str(erin.id),
        str(alice.id),
    ]
    assert sorted(result[str(dave.id)]) == sorted([str(bob.id), str(carol.id)])
    assert result[str(erin.id)] == [str(carol.id)]
    assert result[str(alice.id)] == []

    await suspend(app, bob.id)
    again = await client.get(
        "/api/v1/accounts/familiar_followers", params={"id[]": dave.id}, headers=auth(alice_token)
    )
    assert [a["id"] for a in again.json()[0]["accounts"]] == [str(carol.id)]


async def test_relationships_read_a_fixed_number_of_statements(
    app: FastAPI, client: AsyncClient
) -> None:
    """Every field of the Relationship, for one account or for many, from the same few
    statements (the follows, the mutes, and one for every other mark and the note)."""
    alice, alice_token = await user_with_token(app, "alice")
    others = [await user_with_token(app, name) for name in ("bob", "carol", "dave", "erin")]
    (bob, bob_token), (carol, carol_token) = others[0], others[1]
    await act(client, alice_token, bob.id, "follow")
    await act(client, bob_token, alice.id, "follow")
    await act(client, carol_token, alice.id, "block")
    await act(client, alice_token, others[2][0].id, "mute")
    await act(client, alice_token, bob.id, "endorse")
    note = await client.post(
        f"/api/v1/accounts/{bob.id}/note",
        data={"comment": "met at the fair"},
        headers=auth(alice_token),
    )
    assert note.status_code == 200, note.text

    async def relationships(ids: list[int]) -> tuple[list[dict[str, object]], int]:
        with counting_queries(app) as statements:
            response = await client.get(
                "/api/v1/accounts/relationships", params={"id[]": ids}, headers=auth(alice_token)
            )
        assert response.status_code == 200, response.text
        return response.json(), len(statements)

    (one,), for_one = await relationships([bob.id])
    many, for_many = await relationships([user.id for user, _ in others])
    assert for_one == for_many
    assert (one["following"], one["followed_by"], one["endorsed"], one["note"]) == (
        True,
        True,
        True,
        "met at the fair",
    )
    by_id = {entity["id"]: entity for entity in many}
    assert by_id[str(carol.id)]["blocked_by"] is True
    assert by_id[str(others[2][0].id)]["muting"] is True
    assert by_id[str(others[3][0].id)]["following"] is False
