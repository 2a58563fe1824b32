"""The accounts API basics in Mastodon's shapes: verify_credentials (with `source` and
`role`), update_credentials, lookup and show — through HTTP and through Mastodon.py
against a real server process."""

from __future__ import annotations

import re

from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError
from sqlalchemy import update

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from tests.accounts.support import bearer
from tests.factories import create_token, create_user

ME = "/api/v1/accounts/verify_credentials"
UPDATE = "/api/v1/accounts/update_credentials"
ACCOUNT_KEYS = {
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "group",
    "created_at", "note", "url", "uri", "avatar", "avatar_static", "header", "header_static",
    "followers_count", "following_count", "statuses_count", "last_status_at", "emojis",
    "fields", "roles",
}  # fmt: skip


async def _signed_in(app, username: str = "alice", scopes=frozenset({"read", "write"})):
    account, _ = await create_user(app, username)
    return account, await create_token(app, account.id, scopes=scopes)


async def test_verify_credentials_has_mastodon_shape_with_source_and_role(app, client):
    account, token = await _signed_in(app)
    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= ACCOUNT_KEYS
    assert body["id"] == str(account.id)
    assert body["username"] == body["acct"] == "alice"
    assert body["group"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00\.000Z", body["created_at"])
    assert body["emojis"] == []
    assert body["fields"] == []
    assert body["roles"] == []
    assert body["url"].endswith("/@alice")
    assert body["source"] == {
        "privacy": "public",
        "sensitive": False,
        "language": "",
        "note": "",
        "fields": [],
        "follow_requests_count": 0,
        "hide_collections": False,
        "discoverable": True,
        "indexable": False,
    }
    assert body["role"] == {
        "id": "-99", "name": "", "color": "", "permissions": "65536", "highlighted": False,
    }  # fmt: skip

    avatar = await client.get(body["avatar"].split("localhost:8000", 1)[1])
    assert avatar.status_code == 200
    assert avatar.headers["content-type"] == "image/png"
    assert avatar.content.startswith(b"\x89PNG")


async def test_scopes_are_enforced(app, client):
    _, read_only = await _signed_in(app, "bea", scopes=frozenset({"read:accounts"}))
    assert (await client.get(ME, headers=bearer(read_only))).status_code == 200
    refused = await client.patch(UPDATE, data={"display_name": "x"}, headers=bearer(read_only))
    assert refused.status_code == 403
    _, statuses_only = await _signed_in(app, "cid", scopes=frozenset({"read:statuses"}))
    assert (await client.get(ME, headers=bearer(statuses_only))).status_code == 403
    assert (await client.get(ME)).status_code == 401
    assert (await client.get(ME, headers=bearer("made-up"))).status_code == 401


async def test_update_credentials_with_form_fields_and_source(app, client):
    _, token = await _signed_in(app)
    response = await client.patch(
        UPDATE,
        data={
            "display_name": "Alice A.",
            "note": "Hi <script>alert(1)</script>\nsee https://example.org/x",
            "locked": "true",
            "bot": "1",
            "discoverable": "false",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://alice.example",
            "fields_attributes[1][name]": "Pronouns",
            "fields_attributes[1][value]": "she/her",
            "source[privacy]": "private",
            "source[sensitive]": "true",
            "source[language]": "id",
        },
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Alice A."
    assert (body["locked"], body["bot"], body["discoverable"]) == (True, True, False)
    assert "<script>" not in body["note"]
    assert "&lt;script&gt;" in body["note"]
    assert '<a href="https://example.org/x"' in body["note"]
    assert body["source"]["note"].startswith("Hi <script>")
    assert [f["name"] for f in body["fields"]] == ["Site", "Pronouns"]
    assert body["source"]["fields"][0]["value"] == "https://alice.example"
    assert body["source"]["privacy"] == "private"
    assert body["source"]["sensitive"] is True
    assert body["source"]["language"] == "id"
    again = (await client.get(ME, headers=bearer(token))).json()
    assert again["display_name"] == "Alice A."


async def test_update_credentials_accepts_json(app, client):
    _, token = await _signed_in(app)
    response = await client.patch(
        UPDATE,
        json={"display_name": "J", "fields_attributes": [{"name": "a", "value": "b"}],
              "source": {"privacy": "unlisted"}},
        headers=bearer(token),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["source"]["privacy"] == "unlisted"
    assert response.json()["fields"][0]["name"] == "a"


async def test_update_credentials_refusals_name_the_field_and_change_nothing(app, client):
    _, token = await _signed_in(app)
    five = {f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)}
    cases = [
        ({"display_name": "x" * 31}, "display_name"),
        ({"note": "x" * 501}, "note"),
        (five, "fields_attributes"),
        ({"locked": "perhaps"}, "locked"),
        ({"source[privacy]": "direct"}, "source.privacy"),
        ({"source[language]": "english"}, "source.language"),
        ({"display_name": "ok", "fields_attributes[0][name]": "x" * 256}, "fields_attributes"),
    ]
    for data, field in cases:
        response = await client.patch(UPDATE, data=data, headers=bearer(token))
        assert response.status_code == 422, (data, response.text)
        assert field in response.json()["error"]
    body = (await client.get(ME, headers=bearer(token))).json()
    assert body["display_name"] == ""
    assert body["fields"] == []


async def test_lookup_and_show(app, client):
    account, _ = await create_user(app, "dora")
    by_acct = await client.get("/api/v1/accounts/lookup", params={"acct": "DORA"})
    assert by_acct.status_code == 200
    assert by_acct.json()["id"] == str(account.id)
    assert "source" not in by_acct.json()
    local = await client.get("/api/v1/accounts/lookup", params={"acct": "dora@localhost:8000"})
    assert local.status_code == 200
    shown = await client.get(f"/api/v1/accounts/{account.id}")
    assert shown.status_code == 200
    assert shown.json() == by_acct.json()

    for path in (
        "/api/v1/accounts/lookup?acct=nobody",
        "/api/v1/accounts/lookup?acct=dora@elsewhere.example",
        "/api/v1/accounts/123456789",
        "/api/v1/accounts/not-a-number",
    ):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        assert missing.json() == {"error": "Record not found"}
    assert (await client.get("/api/v1/accounts/lookup")).status_code == 422

    async with app.state.engines.db.transaction() as session:  # as suspensions write it
        await session.execute(
            update(Account).where(Account.id == account.id).values(suspended_at=utcnow())
        )
    assert (await client.get(f"/api/v1/accounts/{account.id}")).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup?acct=dora")).status_code == 404


async def test_mastodon_py_reads_and_updates_the_account(app_factory, live_server):
    async with app_factory() as (app, _client):
        account, _ = await create_user(app, "maria")
        token = await create_token(app, account.id)
    api = Mastodon(access_token=token, api_base_url=live_server.url, version_check_mode="none")

    me = api.account_verify_credentials()
    assert me.username == "maria"
    assert me.id == account.id or str(me.id) == str(account.id)
    assert me.source.privacy == "public"
    assert me.role.permissions == "65536"

    updated = api.account_update_credentials(
        display_name="Maria M.", note="Hello", fields=[("Home", "https://maria.example")]
    )
    assert updated.display_name == "Maria M."
    assert updated.fields[0].name == "Home"
    assert updated.source.note == "Hello"

    assert api.account(account.id).display_name == "Maria M."
    assert api.account_lookup("maria").username == "maria"
    try:
        api.account_lookup("nobody")
        raise AssertionError("lookup of an unknown account succeeded")
    except MastodonNotFoundError:
        pass
