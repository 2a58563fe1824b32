"""Private notes, endorsements (pins) and removing a follower: the Relationship entity's
`note` and `endorsed`, the endorsement lists, refusals, scopes and privacy."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from connecthub.relationships.models import AccountNote, AccountPin
from tests.factories import create_token
from tests.privacy.support import ask_deletion, count, wait_erased
from tests.relationships.support import act, counts, next_link, relationship, suspend
from tests.social_factories import auth, user_with_token


async def test_a_note_is_seen_by_its_writer_only(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")

    written = await act(client, alice_token, bob.id, "note", comment="Met at the meetup")
    assert written.status_code == 200, written.text
    assert (written.json()["id"], written.json()["note"]) == (str(bob.id), "Met at the meetup")
    assert (await relationship(client, alice_token, bob.id))["note"] == "Met at the meetup"

    # Nobody else reads it: not bob (about alice or himself), not carol about bob.
    assert (await relationship(client, bob_token, alice.id))["note"] == ""
    assert (await relationship(client, carol_token, bob.id))["note"] == ""
    follow = await act(client, carol_token, bob.id, "follow")
    assert follow.json()["note"] == ""

    replaced = await act(client, alice_token, bob.id, "note", comment="Plays the cello")
    assert replaced.json()["note"] == "Plays the cello"
    cleared = await client.post(
        f"/api/v1/accounts/{bob.id}/note", json={"comment": ""}, headers=auth(alice_token)
    )
    assert cleared.json()["note"] == ""
    assert await count(app, AccountNote, AccountNote.account_id == alice.id) == 0


async def test_note_refusals(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _bob_token = await user_with_token(app, "bob")
    too_long = await act(client, alice_token, bob.id, "note", comment="x" * 2001)
    assert too_long.status_code == 422
    assert "comment" in too_long.json()["error"]
    not_text = await client.post(
        f"/api/v1/accounts/{bob.id}/note", json={"comment": ["a"]}, headers=auth(alice_token)
    )
    assert not_text.status_code == 422
    assert "comment" in not_text.json()["error"]
    assert (await act(client, alice_token, 987654321, "note", comment="who")).status_code == 404
    read_only = await create_token(app, alice.id, scopes=frozenset({"read"}))
    refused = await act(client, read_only, bob.id, "note", comment="hi")
    assert refused.status_code == 403
    assert (await act(client, "", bob.id, "note", comment="hi")).status_code == 401
    # A note on oneself is allowed, as in Mastodon.
    own = await act(client, alice_token, alice.id, "note", comment="me")
    assert (own.status_code, own.json()["note"]) == (200, "me")
    await suspend(app, bob.id)
    assert (await act(client, alice_token, bob.id, "note", comment="gone")).status_code == 404


async def test_endorsing_needs_a_follow_and_shows_everywhere(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")

    refused = await act(client, alice_token, bob.id, "pin")
    assert refused.status_code == 422
    assert "follow" in refused.json()["error"]
    assert (await act(client, alice_token, alice.id, "endorse")).status_code == 422
    assert (await act(client, alice_token, 987654321, "endorse")).status_code == 404

    await act(client, alice_token, bob.id, "follow")
    pinned = await act(client, alice_token, bob.id, "pin")
    assert (pinned.status_code, pinned.json()["endorsed"]) == (200, True)
    again = await act(client, alice_token, bob.id, "endorse")  # the newer name; idempotent
    assert again.json()["endorsed"] is True
    assert await count(app, AccountPin, AccountPin.account_id == alice.id) == 1
    assert (await relationship(client, alice_token, bob.id))["endorsed"] is True
    assert (await relationship(client, carol_token, bob.id))["endorsed"] is False

    mine = await client.get("/api/v1/endorsements", headers=auth(alice_token))
    assert [a["id"] for a in mine.json()] == [str(bob.id)]
    public = await client.get(f"/api/v1/accounts/{alice.id}/endorsements")
    assert [a["id"] for a in public.json()] == [str(bob.id)]
    assert (await client.get("/api/v1/endorsements", headers=auth(carol_token))).json() == []

    unpinned = await act(client, alice_token, bob.id, "unpin")
    assert unpinned.json()["endorsed"] is False
    assert (await client.get("/api/v1/endorsements", headers=auth(alice_token))).json() == []
    await act(client, alice_token, bob.id, "endorse")
    assert (await act(client, alice_token, bob.id, "unendorse")).json()["endorsed"] is False


async def test_endorsements_page_and_leave_out_the_suspended(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    others = [await user_with_token(app, f"user{n}") for n in range(3)]
    for account, _token in others:
        await act(client, alice_token, account.id, "follow")
        assert (await act(client, alice_token, account.id, "endorse")).status_code == 200
    first = await client.get("/api/v1/endorsements", params={"limit": 2}, headers=auth(alice_token))
    assert [a["id"] for a in first.json()] == [str(others[2][0].id), str(others[1][0].id)]
    rest = await client.get(next_link(first), headers=auth(alice_token))
    assert [a["id"] for a in rest.json()] == [str(others[0][0].id)]
    await suspend(app, others[1][0].id)
    shown = await client.get("/api/v1/endorsements", headers=auth(alice_token))
    assert [a["id"] for a in shown.json()] == [str(others[2][0].id), str(others[0][0].id)]


async def test_endorsement_scopes(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _bob_token = await user_with_token(app, "bob")
    await act(client, alice_token, bob.id, "follow")
    follows_only = await create_token(app, alice.id, scopes=frozenset({"write:follows"}))
    assert (await act(client, follows_only, bob.id, "endorse")).status_code == 403
    write_only = await create_token(app, alice.id, scopes=frozenset({"write:accounts"}))
    assert (await act(client, write_only, bob.id, "endorse")).status_code == 200
    listed = await client.get("/api/v1/endorsements", headers=auth(write_only))
    assert listed.status_code == 403
    reader = await create_token(app, alice.id, scopes=frozenset({"read:accounts"}))
    assert (await client.get("/api/v1/endorsements", headers=auth(reader))).status_code == 200
    assert (await client.get("/api/v1/endorsements")).status_code == 401


async def test_remove_from_followers(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await act(client, bob_token, alice.id, "follow")
    assert (await relationship(client, alice_token, bob.id))["followed_by"] is True

    removed = await act(client, alice_token, bob.id, "remove_from_followers")
    assert removed.status_code == 200, removed.text
    assert (removed.json()["followed_by"], removed.json()["following"]) == (False, False)
    assert (await relationship(client, bob_token, alice.id))["following"] is False
    assert await counts(client, alice_token, alice.id) == (0, 0)
    assert await counts(client, alice_token, bob.id) == (0, 0)
    # Again: nothing left to remove, still an answer.
    assert (await act(client, alice_token, bob.id, "remove_from_followers")).status_code == 200

    assert (await act(client, alice_token, alice.id, "remove_from_followers")).status_code == 422
    assert (await act(client, alice_token, 987654321, "remove_from_followers")).status_code == 404
    accounts_only = await create_token(app, alice.id, scopes=frozenset({"write:accounts"}))
    refused = await act(client, accounts_only, bob.id, "remove_from_followers")
    assert refused.status_code == 403


async def test_erasure_removes_notes_endorsements_both_ways(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    for writer, target in ((alice_token, bob.id), (bob_token, alice.id)):
        await act(client, writer, target, "follow")
        assert (await act(client, writer, target, "endorse")).status_code == 200
        assert (await act(client, writer, target, "note", comment="hm")).status_code == 200
    assert (await ask_deletion(client, alice_token)).status_code == 202
    await wait_erased(app, alice.id)
    a = alice.id
    for model in (AccountNote, AccountPin):
        either = (model.account_id == a) | (model.target_account_id == a)
        assert await count(app, model, either) == 0
    assert (await client.get("/api/v1/endorsements", headers=auth(bob_token))).json() == []
