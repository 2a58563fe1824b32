"""Muting a thread (`POST /api/v1/statuses/:id/mute` / `unmute`): the Status says `muted` for
every status of the thread, in every read path; no more notifications about the thread
(mentions, replies, favourites, boosts, edits) until it is unmuted; other threads unaffected;
scopes, privacy and bad input."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import create_token
from tests.notifications.support import notifications, status_action
from tests.social_factories import auth, follow, post_status, user_with_token
from tests.timelines.support import home_ids, settle


async def _mute(client: AsyncClient, token: str, status_id: str, action: str = "mute") -> dict:
    response = await client.post(f"/api/v1/statuses/{status_id}/{action}", headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_muted_thread_sends_no_more_notifications(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    root = await post_status(client, alice_token, "a thread")
    other = await post_status(client, alice_token, "another thread")
    reply = await post_status(client, bob_token, "@alice first reply", in_reply_to_id=root["id"])
    assert [n["type"] for n in await notifications(client, alice_token)] == ["mention"]

    muted = await _mute(client, alice_token, reply["id"])  # any status of the thread
    assert muted["id"] == reply["id"]
    assert muted["muted"] is True
    shown = await client.get(f"/api/v1/statuses/{root['id']}", headers=auth(alice_token))
    assert shown.json()["muted"] is True
    assert (await client.get(f"/api/v1/statuses/{other['id']}", headers=auth(alice_token))).json()[
        "muted"
    ] is False

    await post_status(client, bob_token, "@alice second reply", in_reply_to_id=reply["id"])
    await status_action(client, bob_token, root["id"], "favourite")
    await status_action(client, bob_token, root["id"], "reblog")
    await status_action(client, bob_token, other["id"], "favourite")  # another thread
    await settle(app)
    kinds = [(n["type"], n["status"]["id"]) for n in await notifications(client, alice_token)]
    assert kinds == [("favourite", other["id"]), ("mention", reply["id"])]

    unmuted = await _mute(client, alice_token, root["id"], "unmute")
    assert unmuted["muted"] is False
    again = await post_status(client, bob_token, "@alice third", in_reply_to_id=root["id"])
    await settle(app)
    latest = await notifications(client, alice_token)
    assert (latest[0]["type"], latest[0]["status"]["id"]) == ("mention", again["id"])


async def test_muted_is_per_viewer_and_shown_on_timelines(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await follow(app, bob.id, alice.id)
    post = await post_status(client, alice_token, "hello")
    boost = await client.post(f"/api/v1/statuses/{post['id']}/reblog", headers=auth(alice_token))
    assert boost.status_code == 200
    await home_ids(app, client, bob_token)
    await home_ids(app, client, bob_token)  # the page kept by now (timelines/home_pages.py)
    await _mute(client, bob_token, post["id"])  # mute is idempotent
    await _mute(client, bob_token, post["id"])

    home = await client.get("/api/v1/timelines/home", headers=auth(bob_token))
    by_id = {status["id"]: status for status in home.json()}
    assert by_id[post["id"]]["muted"] is True
    assert by_id[boost.json()["id"]]["reblog"]["muted"] is True
    public = await client.get("/api/v1/timelines/public", headers=auth(bob_token))
    assert {s["id"]: s["muted"] for s in public.json()}[post["id"]] is True
    context = await client.get(f"/api/v1/statuses/{post['id']}", headers=auth(alice_token))
    assert context.json()["muted"] is False  # alice did not mute it
    anonymous = await client.get(f"/api/v1/statuses/{post['id']}")
    assert "muted" not in anonymous.json()
    assert alice.id != bob.id


async def test_scopes_privacy_and_bad_input(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    secret = await post_status(client, alice_token, "followers only", visibility="private")
    response = await client.post(f"/api/v1/statuses/{secret['id']}/mute", headers=auth(bob_token))
    assert response.status_code == 404  # may not read it: as missing
    for bad in ("abc", "99999999999"):
        response = await client.post(f"/api/v1/statuses/{bad}/mute", headers=auth(bob_token))
        assert response.status_code == 404, bad
    assert (await client.post(f"/api/v1/statuses/{secret['id']}/mute")).status_code == 401
    read_only = await create_token(app, alice.id, scopes=frozenset({"read", "write:statuses"}))
    response = await client.post(f"/api/v1/statuses/{secret['id']}/mute", headers=auth(read_only))
    assert response.status_code == 403
    granular = await create_token(app, alice.id, scopes=frozenset({"write:mutes"}))
    response = await client.post(f"/api/v1/statuses/{secret['id']}/unmute", headers=auth(granular))
    assert response.status_code == 200
