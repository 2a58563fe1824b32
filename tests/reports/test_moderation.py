"""What moderators do on a report besides resolving it: notes (ConnectHub extension) and
actions on a reported status (delete, mark sensitive), each audited."""

from __future__ import annotations

import logging
from typing import Any

from connecthub.accounts.models import Role
from connecthub.ops.logging import AUDIT_LOGGER
from tests.admin.support import audit_lines
from tests.reports.support import admin_get, admin_post, filed, moderator
from tests.social_factories import auth, post_status, user_with_token


async def test_notes(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    mod, mod_token = await moderator(app, "moddy")
    _other, other_token = await moderator(app, "modette")
    _admin, admin_token = await moderator(app, "olga", Role.ADMIN)
    report = await filed(client, token, target.id)
    url = f"/api/v1/admin/reports/{report['id']}/notes"

    note = (await admin_post(client, mod_token, report["id"], "notes", content=" seen it ")).json()
    assert note["content"] == "seen it"
    assert note["account"]["id"] == str(mod.id)
    assert note["target"] == {
        "type": "Report",
        "id": report["id"],
        "url": f"http://localhost:8000/api/v1/admin/reports/{report['id']}",
    }
    second = (await admin_post(client, admin_token, report["id"], "notes", content="ok")).json()
    listed = (await client.get(url, headers=auth(other_token))).json()
    assert [n["id"] for n in listed] == [note["id"], second["id"]]

    for content in ("", "   ", "x" * 501):
        refused = await admin_post(client, mod_token, report["id"], "notes", content=content)
        assert refused.status_code == 422
        assert "content" in refused.json()["error"]
    # Only one's own note, unless an admin.
    refused = await client.delete(f"{url}/{note['id']}", headers=auth(other_token))
    assert refused.status_code == 403
    assert (
        await client.delete(f"{url}/{second['id']}", headers=auth(mod_token))
    ).status_code == 403
    gone = await client.delete(f"{url}/{note['id']}", headers=auth(admin_token))
    assert gone.status_code == 200
    assert gone.json() == {}
    assert (
        await client.delete(f"{url}/{note['id']}", headers=auth(admin_token))
    ).status_code == 404
    assert [n["id"] for n in (await client.get(url, headers=auth(mod_token))).json()] == [
        second["id"]
    ]
    assert (
        await client.get("/api/v1/admin/reports/1/notes", headers=auth(mod_token))
    ).status_code == 404

    done = [line for line in audit_lines(caplog) if line["outcome"] == "done"]
    assert [line["action"] for line in done] == ["add_note", "add_note", "delete_note"]
    assert done[2]["before"] == "seen it"
    assert done[2]["actor"].endswith(str(_admin.id))


async def test_deleting_a_reported_status(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    mod, mod_token = await moderator(app, "moddy")
    status = await post_status(client, target_token, "delete me")
    other = await post_status(client, target_token, "not reported")
    report = await filed(client, token, target.id, status_ids=[status["id"]])

    url = f"/api/v1/admin/reports/{report['id']}/statuses"
    not_named = await client.post(f"{url}/{other['id']}/delete", headers=auth(mod_token))
    assert not_named.status_code == 404
    deleted = await client.post(f"{url}/{status['id']}/delete", headers=auth(mod_token))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["statuses"][0]["content"] == status["content"]  # the evidence stays
    gone = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(target_token))
    assert gone.status_code == 404
    account = (await client.get(f"/api/v1/accounts/{target.id}")).json()
    assert account["statuses_count"] == 1  # the one deletion path keeps the counts
    again = await client.post(f"{url}/{status['id']}/delete", headers=auth(mod_token))
    assert again.status_code == 404

    [line] = [line for line in audit_lines(caplog) if line["action"] == "status_delete"]
    assert line["actor"] == f"account:{mod.id}"
    assert line["status_id"] == int(status["id"])
    assert line["target_account_id"] == target.id


async def test_marking_a_reported_status_sensitive(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    status = await post_status(client, target_token, "gore")
    assert status["sensitive"] is False
    await client.get(f"/api/v1/statuses/{status['id']}")  # rendered into the cache
    report = await filed(client, token, target.id, status_ids=[status["id"]])

    url = f"/api/v1/admin/reports/{report['id']}/statuses/{status['id']}/sensitive"
    marked = await client.post(url, headers=auth(mod_token))
    assert marked.status_code == 200, marked.text
    assert marked.json()["statuses"][0]["sensitive"] is False  # as reported
    shown = await client.get(f"/api/v1/statuses/{status['id']}")
    assert shown.json()["sensitive"] is True
    await client.post(url, headers=auth(mod_token))

    lines = [line for line in audit_lines(caplog) if line["action"] == "status_sensitive"]
    assert [line["before"] for line in lines] == [{"sensitive": False}, {"sensitive": True}]
    assert lines[0]["after"] == {"sensitive": True}
    assert (await admin_get(client, mod_token))[0]["id"] == report["id"]
    assert (await admin_post(client, mod_token, report["id"], "resolve")).status_code == 200
