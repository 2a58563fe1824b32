"""Who may use the admin account API: the Manage Users permission (moderators and admins)
with the admin scopes, on accounts whose role ranks below theirs, never on themselves; and
bad input answers a 4xx naming the field."""

from __future__ import annotations

import logging
from typing import Any

from connecthub.accounts.models import Role
from connecthub.ops.logging import AUDIT_LOGGER
from tests.admin.support import ADMIN_SCOPES, act, admin_post, audit_lines, staff
from tests.factories import create_token, create_user
from tests.privacy.support import ask_deletion
from tests.social_factories import auth, user_with_token

VERBS = ("unsuspend", "enable", "unsilence", "unsensitive")


async def test_plain_users_are_refused_even_with_admin_scopes(app: Any, client: Any) -> None:
    plain, _ = await create_user(app, "plain")
    token = await create_token(app, plain.id, scopes=ADMIN_SCOPES)
    victim, _ = await user_with_token(app, "victim")

    assert (await act(client, token, victim.id, "suspend")).status_code == 403
    for verb in VERBS:
        assert (await admin_post(client, token, victim.id, verb)).status_code == 403
    for path in (f"/api/v1/admin/accounts/{victim.id}", "/api/v2/admin/accounts"):
        assert (await client.get(path, headers=auth(token))).status_code == 403
    anonymous = await client.post(
        f"/api/v1/admin/accounts/{victim.id}/action", json={"type": "none"}
    )
    assert anonymous.status_code == 401


async def test_the_admin_scopes_are_required(app: Any, client: Any) -> None:
    moderator, _ = await create_user(app, "moddy", role=Role.MODERATOR)
    victim, _ = await user_with_token(app, "victim")
    plain_token = await create_token(app, moderator.id, scopes=frozenset({"read", "write"}))
    read_only = await create_token(app, moderator.id, scopes=frozenset({"admin:read:accounts"}))

    assert (await act(client, plain_token, victim.id, "suspend")).status_code == 403
    shown = await client.get(f"/api/v1/admin/accounts/{victim.id}", headers=auth(plain_token))
    assert shown.status_code == 403
    # Reading needs only admin:read:accounts; acting needs admin:write:accounts.
    shown = await client.get(f"/api/v1/admin/accounts/{victim.id}", headers=auth(read_only))
    assert shown.status_code == 200, shown.text
    assert (await act(client, read_only, victim.id, "suspend")).status_code == 403
    write_only = await create_token(app, moderator.id, scopes=frozenset({"admin:write:accounts"}))
    assert (await act(client, write_only, victim.id, "none")).status_code == 200


async def test_roles_rank_and_nobody_acts_on_themselves(app: Any, client: Any) -> None:
    moderator, mod_token = await staff(app, "moddy")
    other_moderator, _ = await staff(app, "modette")
    admin, admin_token = await staff(app, "olga", Role.ADMIN)
    other_admin, _ = await staff(app, "oleg", Role.ADMIN)
    victim, _ = await user_with_token(app, "victim")

    assert (await act(client, mod_token, victim.id, "none")).status_code == 200
    assert (await act(client, mod_token, admin.id, "suspend")).status_code == 403
    assert (await act(client, mod_token, other_moderator.id, "disable")).status_code == 403
    assert (await admin_post(client, mod_token, admin.id, "unsuspend")).status_code == 403
    assert (await act(client, admin_token, other_admin.id, "suspend")).status_code == 403
    assert (await act(client, admin_token, other_moderator.id, "disable")).status_code == 200

    for token, me in ((mod_token, moderator), (admin_token, admin)):
        refused = await act(client, token, me.id, "suspend")
        assert refused.status_code == 403, refused.text
        assert "own account" in refused.json()["error"]
        assert (await admin_post(client, token, me.id, "enable")).status_code == 403
    # Moderators still see admins' records.
    shown = await client.get(f"/api/v1/admin/accounts/{admin.id}", headers=auth(mod_token))
    assert shown.status_code == 200


async def test_unknown_accounts_are_404_and_bad_input_is_422(app: Any, client: Any) -> None:
    _, token = await staff(app, "moddy")
    victim, _ = await user_with_token(app, "victim")

    for account_id in ("999999999", "99999999999999999999999", "not-a-number", "-5"):
        assert (await act(client, token, account_id, "suspend")).status_code == 404, account_id
        for verb in VERBS:
            assert (await admin_post(client, token, account_id, verb)).status_code == 404
        shown = await client.get(f"/api/v1/admin/accounts/{account_id}", headers=auth(token))
        assert shown.status_code == 404, account_id

    # Ids naming no record are 404, as Mastodon's `find` (no report 12; no presets here).
    for body in (
        {"type": "none", "report_id": "12"},
        {"type": "silence", "report_id": "twelve"},
        {"type": "none", "warning_preset_id": "3"},
    ):
        response = await client.post(
            f"/api/v1/admin/accounts/{victim.id}/action", json=body, headers=auth(token)
        )
        assert response.status_code == 404, (body, response.text)
        field = next(key for key in body if key != "type")
        assert field in response.json()["error"], response.text
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "type"),
        ({"type": "obliterate"}, "type"),
        ({"type": ["suspend"]}, "type"),
        ({"type": "none", "send_email_notification": "perhaps"}, "send_email_notification"),
        ({"type": "none", "text": {"nested": True}}, "text"),
    ]
    for body, field in cases:
        response = await client.post(
            f"/api/v1/admin/accounts/{victim.id}/action", json=body, headers=auth(token)
        )
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["error"], (body, response.text)
    broken = await client.post(
        f"/api/v1/admin/accounts/{victim.id}/action",
        content=b"{not json",
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    # Nothing happened to the account through all of that.
    shown = await client.get(f"/api/v1/admin/accounts/{victim.id}", headers=auth(token))
    assert shown.json()["suspended"] is False
    assert shown.json()["disabled"] is False
    assert shown.json()["silenced"] is False


async def test_accounts_being_deleted_are_left_to_the_deletion(app: Any, client: Any) -> None:
    _, token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    assert (await ask_deletion(client, victim_token)).status_code == 202

    for verb in VERBS:
        refused = await admin_post(client, token, victim.id, verb)
        assert refused.status_code == 422, refused.text
        assert "deleted" in refused.json()["error"]
    assert (await act(client, token, victim.id, "disable")).status_code == 422
    shown = await client.get(f"/api/v1/admin/accounts/{victim.id}", headers=auth(token))
    assert shown.json()["suspended"] is True


def refused(lines: list[dict[str, Any]], actor: Any, action: str, target: Any) -> dict[str, Any]:
    """The one refused-attempt line naming this actor, action and target."""
    found = [
        line
        for line in lines
        if line["outcome"] == "refused"
        and line["actor_account_id"] == actor.id
        and line["action"] == action
        and line.get("target_account_id") == (target.id if target is not None else None)
    ]
    assert len(found) == 1, lines
    assert found[0]["event"] == "admin.account_action"
    assert found[0]["actor"] == f"account:{actor.id}"
    assert found[0]["reason"]
    return found[0]


async def test_refused_attempts_are_audited(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    plain, _ = await create_user(app, "plain")
    scoped = await create_token(app, plain.id, scopes=ADMIN_SCOPES)
    unscoped = await create_token(app, plain.id, scopes=frozenset({"read", "write"}))
    moderator, mod_token = await staff(app, "moddy")
    admin, _ = await staff(app, "olga", Role.ADMIN)
    victim, _ = await user_with_token(app, "victim")

    # A user without the role, with and without the admin scopes.
    assert (await act(client, scoped, victim.id, "suspend")).status_code == 403
    assert (await act(client, unscoped, victim.id, "suspend")).status_code == 403
    listed = await client.get("/api/v2/admin/accounts", headers=auth(scoped))
    assert listed.status_code == 403
    # A moderator beyond their role, and on themselves.
    assert (await act(client, mod_token, admin.id, "disable")).status_code == 403
    assert (await admin_post(client, mod_token, moderator.id, "enable")).status_code == 403
    # Allowed acts are not refusals; an anonymous call has no actor to name.
    assert (await act(client, mod_token, victim.id, "none")).status_code == 200
    anonymous = await client.post(f"/api/v1/admin/accounts/{victim.id}/enable")
    assert anonymous.status_code == 401

    lines = audit_lines(caplog)
    assert refused(lines, plain, "suspend", victim)["actor_role"] == "user"
    assert "scopes" in refused(lines, plain, "action", victim)["reason"]
    refused(lines, plain, "list", None)
    assert refused(lines, moderator, "disable", admin)["actor_role"] == "moderator"
    assert "own account" in refused(lines, moderator, "enable", moderator)["reason"]
    assert len([line for line in lines if line["outcome"] == "refused"]) == 5
    assert [line["action"] for line in lines if line["outcome"] == "done"] == ["none"]


async def test_deletion_and_approval_are_audited(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    moderator, mod_token = await staff(app, "moddy")
    admin, admin_token = await staff(app, "olga", Role.ADMIN)
    plain, _ = await create_user(app, "plain")
    plain_token = await create_token(app, plain.id)
    pending, _ = await create_user(app, "newbie", approved=False)
    victim, _ = await user_with_token(app, "victim")
    delete = f"/api/v1/admin/accounts/{victim.id}"

    # Deleting data needs an admin; approving needs the Manage Users permission.
    assert (await client.delete(delete, headers=auth(mod_token))).status_code == 403
    assert (await client.delete(delete, headers=auth(plain_token))).status_code == 403
    assert (await admin_post(client, plain_token, pending.id, "approve")).status_code == 403
    assert (await admin_post(client, mod_token, pending.id, "approve")).status_code == 200
    assert (await client.delete(delete, headers=auth(admin_token))).status_code == 200

    lines = audit_lines(caplog)
    assert "not allowed" in refused(lines, moderator, "delete", victim)["reason"]
    assert "scopes" in refused(lines, plain, "delete", victim)["reason"]
    refused(lines, plain, "approve", pending)
    done = [
        (line["action"], line["actor_account_id"], line["target_account_id"])
        for line in lines
        if line["outcome"] == "done" and line["event"] == "admin.account_action"
    ]
    assert done == [("approve", moderator.id, pending.id), ("delete", admin.id, victim.id)]
    # The erasure asked for is on record too, named after the admin.
    (requested,) = [line for line in lines if line["event"] == "privacy.deletion_requested"]
    assert requested["actor"] == f"account:{admin.id}"
