"""Deleting one's own account through the API: the password (and second factor) it needs,
what vanishes at once, and what the erasure job leaves behind on every engine."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from connecthub.accounts.models import Account, OAuthToken, User
from connecthub.media.models import MediaAttachment
from connecthub.notifications.models import Notification
from connecthub.privacy.models import Consent
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses.models import Bookmark, Favourite, PollVote, Status
from connecthub.timelines.models import List, ListAccount, Marker
from tests.accounts.support import api_sign_up, previous_totp
from tests.factories import DEFAULT_PASSWORD, password_grant, register_oauth_app
from tests.media import files
from tests.media.support import key_of, upload
from tests.privacy.support import (
    account_json,
    ask_deletion,
    count,
    deletion_record,
    run_deletion_job,
    wait_erased,
    wait_gone,
)
from tests.social_factories import auth, post_status, user_with_token


async def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_deletion_needs_the_password_and_bad_input_is_a_4xx(app: Any, client: Any) -> None:
    alice, token = await user_with_token(app, "alice")
    missing = await ask_deletion(client, token, password=None)
    assert missing.status_code == 422
    assert "password" in missing.json()["error"]
    wrong = await ask_deletion(client, token, password="not my password")
    assert wrong.status_code == 422
    assert "password" in wrong.json()["error"]
    for odd in ([1, 2], {"a": 1}, "x" * 5000, True):
        response = await ask_deletion(client, token, password=odd)
        assert response.status_code == 422, (odd, response.text)
    broken = await client.post(
        "/api/v1/connecthub/account_deletion",
        content=b"{not json",
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert 400 <= broken.status_code < 500
    anonymous = await client.post("/api/v1/connecthub/account_deletion", json={"password": "x"})
    assert anonymous.status_code == 401
    # Nothing happened: the account and its token still work.
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))).json()[
        "id"
    ] == str(alice.id)
    assert await deletion_record(app, alice.id) is None


async def test_deletion_needs_the_write_accounts_scope(app: Any, client: Any) -> None:
    from tests.factories import create_token

    alice, _token = await user_with_token(app, "alice")
    reader = await create_token(app, alice.id, scopes=frozenset({"read"}))
    response = await ask_deletion(client, reader)
    assert response.status_code == 403
    scoped = await create_token(app, alice.id, scopes=frozenset({"write:accounts"}))
    assert (await ask_deletion(client, scoped)).status_code == 202


@pytest.mark.slow
async def test_with_two_factor_a_code_is_needed_too(app: Any, client: Any) -> None:
    alice, token = await user_with_token(app, "alice")
    begun = await _ok(await client.post("/api/v1/connecthub/two_factor", headers=auth(token)))
    totp = pyotp.TOTP(begun["secret"])
    confirm = await client.post(
        "/api/v1/connecthub/two_factor/confirm",
        data={"code": previous_totp(begun["secret"]), "password": DEFAULT_PASSWORD},
        headers=auth(token),
    )
    assert confirm.status_code == 200, confirm.text
    without = await ask_deletion(client, token)
    assert without.status_code == 422
    assert "otp_attempt" in without.json()["error"]
    wrong = await ask_deletion(client, token, otp_attempt="000000")
    assert wrong.status_code == 422
    assert "otp_attempt" in wrong.json()["error"]
    accepted = await ask_deletion(client, token, otp_attempt=totp.now())
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["account_id"] == str(alice.id)
    assert body["state"] == "pending"


async def _social_graph(app: Any, client: Any) -> dict[str, Any]:
    """alice follows bob and is followed by bob and carol; they all interact."""
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    for token, target in ((alice_token, bob), (bob_token, alice), (carol_token, alice)):
        await _ok(await client.post(f"/api/v1/accounts/{target.id}/follow", headers=auth(token)))
    await _ok(await client.post(f"/api/v1/accounts/{carol.id}/mute", headers=auth(alice_token)))
    _dave, dave_token = await user_with_token(app, "dave")
    await _ok(await client.post(f"/api/v1/accounts/{alice.id}/block", headers=auth(dave_token)))

    media = (await upload(client, alice_token, files.png(24, 24, seed=901))).json()
    leftover = (await upload(client, alice_token, files.png(24, 24, seed=902))).json()
    with_media = await post_status(client, alice_token, "a picture", media_ids=[media["id"]])
    plain = await post_status(client, alice_token, "hello @bob")
    poll = await post_status(
        client, bob_token, "vote", poll={"options": ["yes", "no"], "expires_in": 3600}
    )
    bob_post = await post_status(client, bob_token, "bob speaks")
    reply = await post_status(client, alice_token, "a reply", in_reply_to_id=bob_post["id"])
    for path in ("favourite", "reblog", "bookmark"):
        await _ok(
            await client.post(
                f"/api/v1/statuses/{bob_post['id']}/{path}", headers=auth(alice_token)
            )
        )
    await _ok(
        await client.post(
            f"/api/v1/polls/{poll['poll']['id']}/votes",
            json={"choices": [0]},
            headers=auth(alice_token),
        )
    )
    for path in ("favourite", "reblog"):
        await _ok(
            await client.post(f"/api/v1/statuses/{plain['id']}/{path}", headers=auth(bob_token))
        )
    await _ok(await client.post(f"/api/v1/statuses/{plain['id']}/pin", headers=auth(alice_token)))
    own_list = await _ok(
        await client.post("/api/v1/lists", json={"title": "friends"}, headers=auth(alice_token))
    )
    await _ok(
        await client.post(
            f"/api/v1/lists/{own_list['id']}/accounts",
            json={"account_ids": [str(bob.id)]},
            headers=auth(alice_token),
        )
    )
    bobs_list = await _ok(
        await client.post("/api/v1/lists", json={"title": "people"}, headers=auth(bob_token))
    )
    await _ok(
        await client.post(
            f"/api/v1/lists/{bobs_list['id']}/accounts",
            json={"account_ids": [str(alice.id)]},
            headers=auth(bob_token),
        )
    )
    await _ok(
        await client.post(
            "/api/v1/markers",
            json={"home": {"last_read_id": bob_post["id"]}},
            headers=auth(alice_token),
        )
    )
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "alice_token": alice_token,
        "bob_token": bob_token,
        "carol_token": carol_token,
        "media_keys": [key_of(media["url"]), key_of(media["preview_url"])],
        "leftover_keys": [key_of(leftover["url"]), key_of(leftover["preview_url"])],
        "statuses": [with_media, plain, reply],
        "bob_post": bob_post,
        "poll": poll,
    }


@pytest.mark.slow
async def test_a_deleted_account_vanishes_at_once_and_its_data_are_erased(
    app: Any, client: Any
) -> None:
    world = await _social_graph(app, client)
    alice, bob, carol = world["alice"], world["bob"], world["carol"]
    bob_token = world["bob_token"]
    before = await account_json(client, bob.id, bob_token)
    assert (before["followers_count"], before["following_count"]) == (1, 1)

    accepted = await ask_deletion(client, world["alice_token"])
    assert accepted.status_code == 202, accepted.text

    # At once: the token is refused, the account and its posts are gone from every read.
    me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(world["alice_token"]))
    assert me.status_code == 401
    assert (
        await client.get(f"/api/v1/accounts/{alice.id}", headers=auth(bob_token))
    ).status_code == 404
    lookup = await client.get("/api/v1/accounts/lookup", params={"acct": "alice"})
    assert lookup.status_code == 404
    for status in world["statuses"]:
        gone = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(bob_token))
        assert gone.status_code == 404
    for path in ("/api/v1/timelines/public", "/api/v1/timelines/home"):
        timeline = await _ok(await client.get(path, headers=auth(bob_token)))
        assert all(item["account"]["id"] != str(alice.id) for item in timeline)
    oauth_app = await register_oauth_app(client)
    sign_in = await password_grant(client, oauth_app, "alice@example.com", DEFAULT_PASSWORD)
    assert 400 <= sign_in.status_code < 500

    await wait_erased(app, alice.id)
    await wait_gone(app, world["media_keys"] + world["leftover_keys"])
    await _assert_erased(app, client, world)

    # The job again (at-least-once delivery): nothing doubles, nothing fails.
    await run_deletion_job(app, alice.id)
    await run_deletion_job(app, alice.id)
    await _assert_erased(app, client, world)

    # The username stays reserved; the e-mail address is free again.
    taken = await api_sign_up(app, client, "alice", email="someone@example.com")
    assert taken.status_code == 422
    assert "username" in taken.json()["error"]
    fresh = await api_sign_up(app, client, "alicia", email="alice@example.com")
    assert fresh.status_code == 200, fresh.text
    assert await count(app, Account, Account.username == "alicia") == 1  # not a decoy
    assert carol.id != alice.id


async def _assert_erased(app: Any, client: Any, world: dict[str, Any]) -> None:
    alice, bob, carol = world["alice"], world["bob"], world["carol"]
    bob_token = world["bob_token"]
    bob_json = await account_json(client, bob.id, bob_token)
    assert (bob_json["followers_count"], bob_json["following_count"]) == (0, 0)
    carol_json = await account_json(client, carol.id, world["carol_token"])
    assert (carol_json["followers_count"], carol_json["following_count"]) == (0, 0)
    bob_post = await _ok(
        await client.get(f"/api/v1/statuses/{world['bob_post']['id']}", headers=auth(bob_token))
    )
    assert bob_post["favourites_count"] == 0
    assert bob_post["reblogs_count"] == 0
    assert bob_post["replies_count"] == 0
    poll = await _ok(
        await client.get(f"/api/v1/polls/{world['poll']['poll']['id']}", headers=auth(bob_token))
    )
    assert (poll["votes_count"], poll["voters_count"]) == (0, 0)
    assert poll["options"][0]["votes_count"] == 0
    bob_statuses = await _ok(
        await client.get(f"/api/v1/accounts/{bob.id}/statuses", headers=auth(bob_token))
    )
    assert bob_json["statuses_count"] == len(bob_statuses) == 2  # the poll and the post
    notifications = await _ok(await client.get("/api/v1/notifications", headers=auth(bob_token)))
    assert all(n["account"]["id"] != str(alice.id) for n in notifications)

    a = alice.id
    for model, condition in (
        (Status, Status.account_id == a),
        (Favourite, Favourite.account_id == a),
        (Bookmark, Bookmark.account_id == a),
        (PollVote, PollVote.account_id == a),
        (Follow, (Follow.account_id == a) | (Follow.target_account_id == a)),
        (Block, (Block.account_id == a) | (Block.target_account_id == a)),
        (Mute, (Mute.account_id == a) | (Mute.target_account_id == a)),
        (List, List.account_id == a),
        (ListAccount, ListAccount.account_id == a),
        (Marker, Marker.account_id == a),
        (Notification, (Notification.account_id == a) | (Notification.from_account_id == a)),
        (MediaAttachment, MediaAttachment.account_id == a),
        (OAuthToken, OAuthToken.account_id == a),
        (Consent, Consent.account_id == a),
        (User, User.account_id == a),
    ):
        assert await count(app, model, condition) == 0, model.__tablename__
    async with app.state.engines.db.session() as session:
        tombstone = await session.get(Account, a)
    assert tombstone is not None
    assert tombstone.username == "alice"
    assert tombstone.suspended_at is not None
    assert (tombstone.display_name, tombstone.note, tombstone.fields) == ("", "", [])
    assert tombstone.avatar_key is None
    assert tombstone.header_key is None
    assert (tombstone.followers_count, tombstone.following_count, tombstone.statuses_count) == (
        0,
        0,
        0,
    )
    record = await deletion_record(app, a)
    assert record is not None
    assert record.completed_at is not None
    assert record.requested_by == "self"
