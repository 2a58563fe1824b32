"""A report keeps its evidence: each reported status as it was (text, spoiler, visibility,
media descriptions) after its author edits or deletes it, and the media objects stay in
the store while the report is open; resolving it lets them go."""

from __future__ import annotations

from typing import Any

import pytest

from connecthub.media.tasks import purge_keys
from connecthub.privacy.erasure import erase
from tests.media import files
from tests.media.support import fetch, key_of, upload
from tests.privacy.support import wait_gone
from tests.reports.support import admin_get, admin_post, filed, moderator, stored
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import settle


async def _stored(app: Any, keys: list[str]) -> list[bool]:
    storage = app.state.engines.storage
    return [await storage.size(key) is not None for key in keys]


async def test_evidence_survives_the_status_and_holds_its_media(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    media = (await upload(client, target_token, files.png(24, 24, seed=11))).json()
    await client.put(
        f"/api/v1/media/{media['id']}",
        json={"description": "a rude drawing"},
        headers=auth(target_token),
    )
    status = await post_status(
        client, target_token, "look at this", spoiler_text="rude", media_ids=[media["id"]]
    )
    report = await filed(client, token, target.id, status_ids=[status["id"]])
    _report, evidence = await stored(app, int(report["id"]))
    keys = evidence[0].media[0]["keys"]  # every variant: original, preview, WebP
    assert {key_of(media["url"]), key_of(media["preview_url"])} <= set(keys)

    deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth(target_token))
    assert deleted.status_code == 200, deleted.text
    await settle(app)  # the purge job has run
    await purge_keys(app.state.engines, keys)  # and would again: the keys are held
    assert all(await _stored(app, keys))

    shown = await admin_get(client, mod_token, f"/{report['id']}")
    [kept] = shown["statuses"]
    assert kept["id"] == status["id"]
    assert kept["content"] == status["content"]
    assert kept["spoiler_text"] == "rude"
    assert kept["media_attachments"][0]["description"] == "a rude drawing"
    assert (await fetch(client, kept["media_attachments"][0]["url"])).status_code == 200
    assert evidence[0].text == "look at this"
    assert evidence[0].media[0]["description"] == "a rude drawing"

    await admin_post(client, mod_token, report["id"], "resolve")
    await wait_gone(app, keys)


async def test_a_reopened_report_holds_what_is_left(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    media = (await upload(client, target_token, files.png(20, 20, seed=12))).json()
    status = await post_status(client, target_token, "pic", media_ids=[media["id"]])
    report = await filed(client, token, target.id, status_ids=[status["id"]])
    keys = (await stored(app, int(report["id"])))[1][0].media[0]["keys"]

    await admin_post(client, mod_token, report["id"], "resolve")
    await admin_post(client, mod_token, report["id"], "reopen")
    await client.delete(f"/api/v1/statuses/{status['id']}", headers=auth(target_token))
    await settle(app)
    await purge_keys(app.state.engines, keys)
    assert all(await _stored(app, keys))


async def test_an_edit_leaves_the_evidence_as_reported(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    status = await post_status(client, target_token, "something nasty")
    report = await filed(client, token, target.id, status_ids=[status["id"]])
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "something nice"},
        headers=auth(target_token),
    )
    assert edited.status_code == 200, edited.text

    shown = await admin_get(client, mod_token, f"/{report['id']}")
    assert "nasty" in shown["statuses"][0]["content"]


@pytest.mark.slow
async def test_erasing_an_account_takes_its_reports_and_their_held_media(
    app: Any, client: Any
) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    media = (await upload(client, target_token, files.png(22, 22, seed=13))).json()
    status = await post_status(client, target_token, "pic", media_ids=[media["id"]])
    about = await filed(client, token, target.id, status_ids=[status["id"]])
    keys = (await stored(app, int(about["id"])))[1][0].media[0]["keys"]
    by_target = await filed(client, target_token, _reporter.id)

    await erase(app.state.engines, target.id)

    for report in (about, by_target):
        shown = await client.get(f"/api/v1/admin/reports/{report['id']}", headers=auth(mod_token))
        assert shown.status_code == 404
        assert (await stored(app, int(report["id"])))[1] == []
    await wait_gone(app, keys)
