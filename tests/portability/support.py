"""Helpers for the portability tests: an account holding every kind of data, the export
and import jobs run by hand, the archive read back, and answers checked against the
DataExport / DataImport schemas (extensions: not in Mastodon's route table)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI

from connecthub.accounts.models import Account
from connecthub.portability import importing, tasks
from tests.media.files import png
from tests.schemas.contract import validator
from tests.social_factories import auth, post_status, user_with_token

SCHEMAS = Path(__file__).parent / "schemas"


def archive_validator(name: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(json.loads((SCHEMAS / f"{name}.json").read_text()))


def checked(kind: str, body: Any) -> Any:
    errors = [
        f"/{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator(kind).iter_errors(body)
    ]
    assert not errors, errors
    return body


@dataclass
class Cast:
    """Alice, who holds everything, and the accounts around her."""

    alice: Account
    alice_token: str
    others: dict[str, tuple[Account, str]]
    statuses: dict[str, dict[str, Any]]
    list_id: str


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def rich_account(app: FastAPI, client: httpx.AsyncClient) -> Cast:
    alice, token = await user_with_token(app, "alice")
    others = {
        name: await user_with_token(app, name) for name in ("bob", "carol", "dave", "eve", "frank")
    }
    h = auth(token)
    bob, bob_token = others["bob"]
    # Follows with Mastodon's options, a follower, a block, a mute that shows notifications.
    await ok(
        await client.post(
            f"/api/v1/accounts/{bob.id}/follow",
            json={"reblogs": False, "languages": ["en", "id"]},
            headers=h,
        )
    )
    await ok(
        await client.post(
            f"/api/v1/accounts/{others['carol'][0].id}/follow", json={"notify": True}, headers=h
        )
    )
    await ok(
        await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=auth(others["dave"][1]))
    )
    await ok(await client.post(f"/api/v1/accounts/{others['eve'][0].id}/block", headers=h))
    await ok(
        await client.post(
            f"/api/v1/accounts/{others['frank'][0].id}/mute",
            json={"notifications": False},
            headers=h,
        )
    )
    # Posts: with media, with a poll, edited, a direct message, a boost.
    media = await ok(
        await client.post(
            "/api/v2/media",
            files={"file": ("p.png", png(24, 24), "image/png")},
            data={"description": "a square"},
            headers=h,
        )
    )
    statuses = {
        "media": await post_status(
            client, token, "with a picture #garden", media_ids=[media["id"]]
        ),
        "poll": await post_status(
            client, token, "pick one", poll={"options": ["yes", "no"], "expires_in": 3600}
        ),
        "edited": await post_status(client, token, "first words", visibility="unlisted"),
        "dm": await post_status(client, token, "@bob psst", visibility="direct"),
        "bob": await post_status(client, bob_token, "bob speaks"),
        "to_alice": await post_status(client, bob_token, "@alice secret", visibility="direct"),
    }
    await ok(
        await client.put(
            f"/api/v1/statuses/{statuses['edited']['id']}",
            json={"status": "second words"},
            headers=h,
        )
    )
    bob_status = statuses["bob"]["id"]
    for action in ("favourite", "bookmark", "reblog"):
        await ok(await client.post(f"/api/v1/statuses/{bob_status}/{action}", headers=h))
    await ok(
        await client.post(
            f"/api/v1/polls/{statuses['poll']['poll']['id']}/votes",
            json={"choices": [0]},
            headers=auth(bob_token),
        )
    )
    lst = await ok(await client.post("/api/v1/lists", json={"title": "Friends"}, headers=h))
    await ok(
        await client.post(
            f"/api/v1/lists/{lst['id']}/accounts", json={"account_ids": [str(bob.id)]}, headers=h
        )
    )
    await ok(
        await client.post(
            "/api/v2/filters",
            json={
                "title": "spoilers",
                "context": ["home"],
                "keywords_attributes": [{"keyword": "finale", "whole_word": False}],
            },
            headers=h,
        )
    )
    await ok(
        await client.post("/api/v1/markers", json={"home": {"last_read_id": bob_status}}, headers=h)
    )
    return Cast(alice, token, others, statuses, lst["id"])


async def request_export(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    body = await ok(await client.post("/api/v1/exports", headers=auth(token)), 202)
    return dict(checked("DataExport", body))


async def build_export(app: FastAPI, client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """Ask for an export, run its job here, and return the ready DataExport."""
    export = await request_export(client, token)
    await tasks.build(app.state.engines, int(export["id"]))
    ready = await ok(await client.get(f"/api/v1/exports/{export['id']}", headers=auth(token)))
    assert ready["state"] == "ready", ready
    return dict(checked("DataExport", ready))


async def download(
    client: httpx.AsyncClient, export: dict[str, Any], token: str
) -> zipfile.ZipFile:
    response = await client.get(f"/api/v1/exports/{export['id']}/download", headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == export["size"] == len(response.content)
    return zipfile.ZipFile(io.BytesIO(response.content))


def read_json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


async def import_file(
    app: FastAPI,
    client: httpx.AsyncClient,
    token: str,
    kind: str,
    name: str,
    data: bytes,
    mode: str = "merge",
) -> dict[str, Any]:
    """Upload a CSV, run the import job here, and return the finished DataImport."""
    response = await client.post(
        "/api/v1/imports",
        data={"type": kind, "mode": mode},
        files={"data": (name, data, "text/csv")},
        headers=auth(token),
    )
    created = checked("DataImport", await ok(response, 202))
    await tasks.run_import(
        tasks.JobContext(app.state.engines, "test", 1), {"import_id": int(created["id"])}
    )
    while not await importing.run(app.state.engines, int(created["id"])):
        pass
    done = await ok(await client.get(f"/api/v1/imports/{created['id']}", headers=auth(token)))
    assert done["state"] == "finished", done
    return dict(checked("DataImport", done))
