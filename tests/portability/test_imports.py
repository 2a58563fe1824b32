"""Imports: Mastodon's CSV files of one account, imported into a fresh one, give it the
same follows, blocks, mutes, bookmarks and lists (the round trip); overwrite mode removes
what the file does not list; rows that cannot be imported are reported with their line
and why; bad input is a clear 422."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.portability import importing
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses.models import Bookmark
from connecthub.timelines.models import List, ListAccount
from tests.factories import create_token
from tests.portability.support import build_export, download, import_file, ok, rich_account
from tests.social_factories import auth, user_with_token

CSV_IMPORTS = [
    ("following", "following_accounts.csv"),
    ("blocking", "blocked_accounts.csv"),
    ("muting", "muted_accounts.csv"),
    ("bookmarks", "bookmarks.csv"),
    ("lists", "lists.csv"),
]


async def holdings(app: FastAPI, account_id: int) -> dict[str, Any]:
    """What an import can give an account, comparable across accounts."""
    async with app.state.engines.db.session() as session:
        follows = await session.execute(
            select(
                Follow.target_account_id, Follow.show_reblogs, Follow.notify, Follow.languages
            ).where(Follow.account_id == account_id)
        )
        blocks = await session.scalars(
            select(Block.target_account_id).where(Block.account_id == account_id)
        )
        mutes = await session.execute(
            select(Mute.target_account_id, Mute.hide_notifications).where(
                Mute.account_id == account_id
            )
        )
        bookmarks = await session.scalars(
            select(Bookmark.status_id).where(Bookmark.account_id == account_id)
        )
        members = await session.execute(
            select(List.title, ListAccount.account_id)
            .join(ListAccount, ListAccount.list_id == List.id)
            .where(List.account_id == account_id)
        )
        return {
            "follows": sorted((t, r, n, sorted(langs or [])) for t, r, n, langs in follows),
            "blocks": sorted(blocks),
            "mutes": sorted(tuple(row) for row in mutes),
            "bookmarks": sorted(bookmarks),
            "lists": sorted(tuple(row) for row in members),
        }


@pytest.mark.slow
async def test_the_csv_files_import_back_into_a_fresh_account(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        cast = await rich_account(app, client)
        archive = await download(
            client, await build_export(app, client, cast.alice_token), cast.alice_token
        )
        zed, zed_token = await user_with_token(app, "zed")
        for kind, name in CSV_IMPORTS:
            done = await import_file(app, client, zed_token, kind, name, archive.read(name))
            assert done["failed_items"] == 0, done
            assert done["imported_items"] == done["total_items"] > 0
            assert done["likely_mismatched"] is False
        original, copy = await holdings(app, cast.alice.id), await holdings(app, zed.id)
        assert copy == original
        assert len(copy["follows"]) == 2
        assert copy["mutes"] == [(cast.others["frank"][0].id, False)]
        # Importing the same files again changes nothing (merge is idempotent).
        for kind, name in CSV_IMPORTS:
            await import_file(app, client, zed_token, kind, name, archive.read(name))
        assert await holdings(app, zed.id) == original


async def test_overwrite_removes_what_the_file_does_not_list(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        alice, token = await user_with_token(app, "alice")
        bob, _ = await user_with_token(app, "bob")
        carol, _ = await user_with_token(app, "carol")
        for target in (bob, carol):
            await ok(await client.post(f"/api/v1/accounts/{target.id}/block", headers=auth(token)))
        done = await import_file(
            app, client, token, "blocking", "blocks.csv", b"carol@localhost:8000\n", "overwrite"
        )
        assert (done["mode"], done["imported_items"]) == ("overwrite", 1)
        assert (await holdings(app, alice.id))["blocks"] == [carol.id]


async def test_rows_that_fail_are_reported_with_their_line(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        alice, token = await user_with_token(app, "alice")
        bob, _ = await user_with_token(app, "bob")
        data = (
            b"Account address,Show boosts,Notify on new posts,Languages\n"
            b"@bob,false,true,\n"
            b"nobody@localhost:8000,true,false,\n"
            b"someone@mastodon.social,true,false,\n"
            b"alice,true,false,\n"
        )
        done = await import_file(app, client, token, "following", "follows.csv", data)
        assert (done["total_items"], done["imported_items"], done["failed_items"]) == (4, 1, 3)
        assert [(e["line"], e["error"]) for e in done["errors"]] == [
            (3, "nobody@localhost:8000: no such account"),
            (
                4,
                "Validation failed: acct: someone@mastodon.social is on another server "
                "(federation is not supported)",
            ),
            (5, "Validation failed: id: you cannot do this to your own account"),
        ]
        assert (await holdings(app, alice.id))["follows"] == [(bob.id, False, True, [])]


@pytest.mark.slow
async def test_bad_imports_are_refused_naming_the_field(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        _alice, token = await user_with_token(app, "alice")

        async def send(fields: dict[str, str], body: bytes | None, name: str = "x.csv") -> Any:
            files = {"data": (name, body, "text/csv")} if body is not None else None
            if files is None:
                files = {"unrelated": ("x", b"", "text/plain")}
            return await client.post(
                "/api/v1/imports", data=fields, files=files, headers=auth(token)
            )

        cases = [
            ({"type": "following"}, None, "data: is required"),
            ({}, b"a@b\n", "type: is required"),
            ({"type": "domain_blocking"}, b"example.com\n", "type: domain blocks are federation"),
            ({"type": "statuses"}, b"x\n", "type: must be one of"),
            ({"type": "blocking", "mode": "replace"}, b"a\n", "mode: must be merge or overwrite"),
            ({"type": "blocking"}, b"", "data: is empty"),
            ({"type": "blocking"}, b"\xff\xfe\x00", "data: must be UTF-8"),
            ({"type": "lists"}, b"Account address\nbob\n", "data: does not have the columns"),
        ]
        for fields, body, message in cases:
            response = await send(fields, body)
            assert response.status_code == 422, (fields, response.text)
            assert message in response.json()["error"], response.text
        # A file over the 1 MB body limit of plain requests reaches the import's own checks.
        many = b"".join(b"user%d\n" % n for n in range(150_000))
        assert len(many) > 1024 * 1024
        too_many = await send({"type": "blocking"}, many)
        assert too_many.status_code == 422, too_many.text
        assert "data: has more than 20000 rows" in too_many.json()["error"]
        json_body = await client.post(
            "/api/v1/imports", json={"type": "blocking"}, headers=auth(token)
        )
        assert json_body.status_code == 422
        # The type's own scope is needed: a write:mutes token may not import follows.
        mutes_only = await create_token(app, _alice.id, scopes=frozenset({"write:mutes"}))
        refused = await client.post(
            "/api/v1/imports",
            data={"type": "following"},
            files={"data": ("f.csv", b"bob\n", "text/csv")},
            headers=auth(mutes_only),
        )
        assert refused.status_code == 403
        accepted = await client.post(
            "/api/v1/imports",
            data={"type": "muting"},
            files={"data": ("following_accounts.csv", b"bob\n", "text/csv")},
            headers=auth(mutes_only),
        )
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["likely_mismatched"] is True
        reader = await create_token(app, _alice.id, scopes=frozenset({"read:mutes"}))
        path = f"/api/v1/imports/{accepted.json()['id']}"
        assert (await client.get(path, headers=auth(reader))).status_code == 200
        statuses_only = await create_token(app, _alice.id, scopes=frozenset({"read:statuses"}))
        assert (await client.get(path, headers=auth(statuses_only))).status_code == 403
        _other, other_token = await user_with_token(app, "other")
        assert (
            await client.get(f"/api/v1/imports/{accepted.json()['id']}", headers=auth(other_token))
        ).status_code == 404


async def test_an_import_runs_in_rounds_and_shows_its_progress(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=False) as (app, client):
        alice, token = await user_with_token(app, "alice")
        targets = [(await user_with_token(app, f"user{n}"))[0] for n in range(5)]
        data = "".join(f"user{n}@localhost:8000\n" for n in range(5)).encode()
        response = await client.post(
            "/api/v1/imports",
            data={"type": "blocking"},
            files={"data": ("blocked_accounts.csv", data, "text/csv")},
            headers=auth(token),
        )
        created = await ok(response, 202)
        import_id = int(created["id"])
        assert not await importing.run(app.state.engines, import_id, max_rows=2)
        partway = await ok(await client.get(f"/api/v1/imports/{import_id}", headers=auth(token)))
        assert (partway["state"], partway["processed_items"], partway["total_items"]) == (
            "processing",
            2,
            5,
        )
        assert len((await holdings(app, alice.id))["blocks"]) == 2
        while not await importing.run(app.state.engines, import_id, max_rows=2):
            pass
        assert await importing.run(app.state.engines, import_id)  # finished: nothing more
        done = await ok(await client.get(f"/api/v1/imports/{import_id}", headers=auth(token)))
        assert (done["state"], done["imported_items"], done["failed_items"]) == ("finished", 5, 0)
        assert (await holdings(app, alice.id))["blocks"] == sorted(t.id for t in targets)
