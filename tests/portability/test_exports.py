"""Exports: an account holding every kind of data exports it all, in Mastodon's archive
layout (outbox.json and actor.json checked against the ActivityStreams shape Mastodon
writes) with Mastodon's CSV files; one export per 7 days; the download link refuses other
accounts and expired archives; expired archives are purged."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from connecthub.clock import utcnow
from connecthub.infra.sweeper import sweep_once
from connecthub.portability import tasks
from connecthub.portability.models import DataExport
from connecthub.privacy.service import record_consent
from tests.admin.support import staff
from tests.factories import create_token
from tests.portability.support import (
    archive_validator,
    build_export,
    download,
    ok,
    read_json,
    request_export,
    rich_account,
)
from tests.social_factories import auth, user_with_token

HOST = "http://localhost:8000"


def rows(archive: Any, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read(name).decode())))


@pytest.mark.slow
async def test_an_account_with_every_kind_of_data_exports_it_all(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        cast = await rich_account(app, client)
        async with app.state.engines.db.transaction() as session:
            record_consent(
                session,
                account_id=cast.alice.id,
                purpose="terms",
                policy_version="2026-01",
                method="api",
            )
        _moderator, moderator_token = await staff(app, "moira")
        warned = await client.post(
            f"/api/v1/admin/accounts/{cast.alice.id}/action",
            json={"type": "none", "text": "Mind the rules"},
            headers=auth(moderator_token),
        )
        assert warned.status_code == 200, warned.text
        export = await build_export(app, client, cast.alice_token)
        archive = await download(client, export, cast.alice_token)
        names = set(archive.namelist())
        for name in (
            "outbox.json",
            "actor.json",
            "likes.json",
            "bookmarks.json",
            "following_accounts.csv",
            "followers.csv",
            "blocked_accounts.csv",
            "muted_accounts.csv",
            "lists.csv",
            "bookmarks.csv",
            "filters.json",
            "connecthub/profile.json",
            "connecthub/status_edits.json",
            "connecthub/poll_votes.json",
            "connecthub/direct_messages_received.json",
            "connecthub/lists.json",
            "connecthub/markers.json",
            "connecthub/notifications.json",
            "connecthub/sessions.json",
            "connecthub/sign_ins.json",
            "connecthub/consents.json",
            "connecthub/strikes.json",
        ):
            assert name in names, name

        outbox = read_json(archive, "outbox.json")
        errors = [e.message for e in archive_validator("Outbox").iter_errors(outbox)]
        assert not errors, errors
        assert outbox["totalItems"] == len(outbox["orderedItems"]) == 5  # 4 posts, 1 boost
        by_id = {
            item["object"]["id"] if item["type"] == "Create" else item["id"]: item
            for item in outbox["orderedItems"]
        }
        uri = f"{HOST}/users/alice/statuses/"
        with_media = by_id[uri + cast.statuses["media"]["id"]]["object"]
        (attachment,) = with_media["attachment"]
        assert attachment["name"] == "a square"
        assert attachment["url"] in names  # the original file is in the archive
        assert archive.read(attachment["url"])[:8] == b"\x89PNG\r\n\x1a\n"
        assert {"type": "Hashtag", "href": f"{HOST}/tags/garden", "name": "#garden"} in with_media[
            "tag"
        ]
        poll = by_id[uri + cast.statuses["poll"]["id"]]["object"]
        assert poll["type"] == "Question"
        assert [(o["name"], o["replies"]["totalItems"]) for o in poll["oneOf"]] == [
            ("yes", 1),
            ("no", 0),
        ]
        edited = by_id[uri + cast.statuses["edited"]["id"]]
        assert edited["object"]["content"] == "<p>second words</p>"
        assert "updated" in edited["object"]
        assert edited["to"] == [f"{HOST}/users/alice/followers"]
        assert edited["cc"][0] == "https://www.w3.org/ns/activitystreams#Public"
        dm = by_id[uri + cast.statuses["dm"]["id"]]
        assert dm["to"] == [f"{HOST}/users/bob"]
        assert dm["cc"] == []
        bob_uri = f"{HOST}/users/bob/statuses/{cast.statuses['bob']['id']}"
        boosts = [item for item in outbox["orderedItems"] if item["type"] == "Announce"]
        assert [item["object"] for item in boosts] == [bob_uri]

        actor = read_json(archive, "actor.json")
        errors = [e.message for e in archive_validator("Actor").iter_errors(actor)]
        assert not errors, errors
        assert actor["preferredUsername"] == "alice"
        assert read_json(archive, "likes.json")["orderedItems"] == [bob_uri]
        assert read_json(archive, "bookmarks.json")["orderedItems"] == [bob_uri]
        assert read_json(archive, "likes.json")["totalItems"] == 1

        # Mastodon's CSV files, headers and spellings as its exporter writes them.
        assert rows(archive, "following_accounts.csv") == [
            ["Account address", "Show boosts", "Notify on new posts", "Languages"],
            # Newest first, as Mastodon's exporter.
            ["carol@localhost:8000", "true", "true", ""],
            ["bob@localhost:8000", "false", "false", "en, id"],
        ]
        assert rows(archive, "followers.csv") == [["Account address"], ["dave@localhost:8000"]]
        assert rows(archive, "blocked_accounts.csv") == [["eve@localhost:8000"]]
        assert rows(archive, "muted_accounts.csv") == [
            ["Account address", "Hide notifications"],
            ["frank@localhost:8000", "false"],
        ]
        assert rows(archive, "lists.csv") == [["Friends", "bob@localhost:8000"]]
        assert rows(archive, "bookmarks.csv") == [[bob_uri]]
        (custom,) = read_json(archive, "filters.json")["custom_filters"]
        assert custom["keywords_attributes"] == [{"keyword": "finale", "whole_word": False}]

        # ConnectHub's own files: everything else the account holds.
        profile = read_json(archive, "connecthub/profile.json")
        assert profile["user"]["email"] == "alice@example.com"
        edits = read_json(archive, "connecthub/status_edits.json")
        assert [edit["text"] for edit in edits] == ["first words", "second words"]
        received = read_json(archive, "connecthub/direct_messages_received.json")
        assert [note["content"] for note in received] == [cast.statuses["to_alice"]["content"]]
        assert (
            read_json(archive, "connecthub/markers.json")["home"]["last_read_id"]
            == cast.statuses["bob"]["id"]
        )
        notifications = read_json(archive, "connecthub/notifications.json")
        assert {(n["type"], n["account"]) for n in notifications} >= {
            ("follow", "dave@localhost:8000"),
            ("mention", "bob@localhost:8000"),
        }
        sessions = read_json(archive, "connecthub/sessions.json")
        assert len(sessions["authorized_apps"]) == 1
        (consent,) = read_json(archive, "connecthub/consents.json")
        assert (consent["purpose"], consent["policy_version"]) == ("terms", "2026-01")
        (sign_in,) = read_json(archive, "connecthub/sign_ins.json")
        assert sign_in["method"] == "oauth"
        assert sign_in["at"]
        assert read_json(archive, "connecthub/lists.json")[0]["title"] == "Friends"
        assert read_json(archive, "connecthub/poll_votes.json") == []
        (strike,) = read_json(archive, "connecthub/strikes.json")
        assert (strike["action"], strike["text"], strike["appeal"]) == (
            "none",
            "Mind the rules",
            None,
        )

        # The owner was told by e-mail, with the link.
        mails = list(Path(app.state.engines.settings.outbox_dir).glob("*.eml"))
        texts = [
            message_from_bytes(mail.read_bytes(), policy=default).get_body().get_content()  # type: ignore[union-attr]
            for mail in mails
        ]
        assert any(export["url"] in text for text in texts), texts


async def test_one_export_per_seven_days(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        first = await request_export(client, token)
        again = await client.post("/api/v1/exports", headers=auth(token))
        assert again.status_code == 429
        assert "once every 7 days" in again.json()["error"]
        assert 6 * 86400 < int(again.headers["retry-after"]) <= 7 * 86400
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(DataExport)
                .where(DataExport.id == int(first["id"]))
                .values(created_at=utcnow() - timedelta(days=7, seconds=1))
            )
        await request_export(client, token)
        listed = await ok(await client.get("/api/v1/exports", headers=auth(token)))
        assert len(listed) == 2


async def test_the_link_refuses_others_and_expires(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        export = await build_export(app, client, token)
        path = f"/api/v1/exports/{export['id']}/download"
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=auth(bob_token))).status_code == 404
        assert (
            await client.get(f"/api/v1/exports/{export['id']}", headers=auth(bob_token))
        ).status_code == 404
        # The signed link alone works (a browser, from the e-mail); a forged one does not.
        signed = export["url"].removeprefix("http://localhost:8000")
        assert (await client.get(signed)).status_code == 200
        assert (await client.get(path + "?token=forged")).status_code == 404
        bob_export = await build_export(app, client, bob_token)
        bob_token_param = bob_export["url"].split("?token=")[1]
        assert (await client.get(f"{path}?token={bob_token_param}")).status_code == 404
        # A token without the whole read scope may not take the archive.
        narrow = await create_token(app, _alice.id, scopes=frozenset({"read:statuses"}))
        assert (await client.get(path, headers=auth(narrow))).status_code == 403
        assert (await client.post("/api/v1/exports", headers=auth(narrow))).status_code == 403

        # Past its expiry: the link answers 410 at once, and the purge deletes the file.
        async with app.state.engines.db.transaction() as session:
            row = await session.get(DataExport, int(export["id"]))
            assert row is not None
            assert row.storage_key
            key = row.storage_key
            row.expires_at = utcnow() - timedelta(seconds=1)
        gone = await client.get(path, headers=auth(token))
        assert gone.status_code == 410
        assert gone.json() == {"error": "This archive has expired"}
        assert (await client.get(signed)).status_code == 410
        assert await app.state.engines.storage.size(key) is not None
        assert await tasks.purge_expired(app.state.engines) == 1
        assert await app.state.engines.storage.size(key) is None
        expired = await ok(await client.get(f"/api/v1/exports/{export['id']}", headers=auth(token)))
        assert (expired["state"], expired["url"]) == ("expired", None)
        assert (await client.get(path, headers=auth(token))).status_code == 410
        # Bob's archive, not expired, is untouched.
        assert (
            await client.get(bob_export["url"].removeprefix("http://localhost:8000"))
        ).status_code == 200


async def test_the_job_runs_in_the_server_and_the_purge_is_scheduled(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=True) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        export = await request_export(client, token)
        assert export["state"] == "pending"
        assert export["url"] is None
        for _ in range(400):
            current = await ok(
                await client.get(f"/api/v1/exports/{export['id']}", headers=auth(token))
            )
            if current["state"] == "ready":
                break
            await asyncio.sleep(0.05)
        assert current["state"] == "ready", current
        # Queued after the build's commit (the outbox relay): a read may land in between.
        purge = f"export-purge:{export['id']}"
        for _ in range(100):
            if await app.state.engines.jobs.state(purge) is not None:
                break
            await asyncio.sleep(0.02)
        assert await app.state.engines.jobs.state(purge) == "delayed"


async def test_the_sweep_requeues_a_lost_build_and_purges_expired_archives(
    app_factory: Any,
) -> None:
    async with app_factory(jobs_in_server=False, jobs_sweep_grace_seconds=0) as (app, client):
        alice, _token = await user_with_token(app, "alice")
        _bob, bob_token = await user_with_token(app, "bob")
        async with app.state.engines.db.transaction() as session:
            # An export whose job a queue lost: the row, and no job.
            row = DataExport(account_id=alice.id, created_at=utcnow() - timedelta(minutes=10))
            session.add(row)
            await session.flush()
            lost_id = row.id
        expired = await build_export(app, client, bob_token)
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(DataExport)
                .where(DataExport.id == int(expired["id"]))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        engines = app.state.engines
        assert await engines.jobs.state(f"export:{lost_id}") is None
        queued = await sweep_once(engines)
        assert queued["data_exports"] == 1
        assert await engines.jobs.state(f"export:{lost_id}") == "ready"
        gone = await ok(
            await client.get(f"/api/v1/exports/{expired['id']}", headers=auth(bob_token))
        )
        assert gone["state"] == "expired"
