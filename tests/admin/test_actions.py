"""What each moderation action does: suspend hides the account and its posts and signs it
out everywhere until unsuspended; disable refuses sign-in and every token but leaves the
content visible until enabled; none only warns. Each is idempotent and audited."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from connecthub.accounts.models import User, WebSession
from connecthub.oauth.tokens import hash_secret
from connecthub.ops.logging import AUDIT_LOGGER
from tests.accounts.support import body_of, outbox
from tests.admin.support import act, admin_account, admin_post, staff
from tests.factories import password_grant, register_oauth_app
from tests.social_factories import auth, post_status, user_with_token

ME = "/api/v1/accounts/verify_credentials"
PUBLIC = "/api/v1/timelines/public"


async def _public_authors(client: Any, token: str) -> list[str]:
    response = await client.get(PUBLIC, headers=auth(token))
    assert response.status_code == 200, response.text
    return [item["account"]["username"] for item in response.json()]


async def test_suspension_hides_the_account_until_unsuspended(
    app: Any, client: Any, test_env: Any
) -> None:
    _, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    _, reader_token = await user_with_token(app, "reader")
    status = await post_status(client, victim_token, "visible to all")
    assert "victim" in await _public_authors(client, reader_token)

    suspended = await act(
        client, mod_token, victim.id, "suspend", text="spam", send_email_notification=False
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json() == {}
    assert (await client.get(ME, headers=auth(victim_token))).status_code == 401
    assert "victim" not in await _public_authors(client, reader_token)
    for headers in (auth(reader_token), {}):
        gone = await client.get(f"/api/v1/statuses/{status['id']}", headers=headers)
        assert gone.status_code == 404
        assert (
            await client.get(f"/api/v1/accounts/{victim.id}", headers=headers)
        ).status_code == 404
    entity = await admin_account(client, mod_token, victim.id)
    assert entity["suspended"] is True
    assert entity["disabled"] is False
    oauth_app = await register_oauth_app(client)
    refused = await password_grant(client, oauth_app, "victim@example.com")
    assert 400 <= refused.status_code < 500
    assert "access_token" not in refused.json()

    reset = await client.post(
        "/api/v1/connecthub/password_reset", json={"email": "victim@example.com"}
    )
    assert reset.status_code == 202
    assert outbox(test_env.workdir / "outbox") == []  # no reset link for a suspended account

    # Again: still suspended, nothing else changes.
    assert (await act(client, mod_token, victim.id, "suspend")).status_code == 200
    assert (await admin_account(client, mod_token, victim.id))["suspended"] is True

    lifted = await admin_post(client, mod_token, victim.id, "unsuspend")
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["suspended"] is False
    assert lifted.json()["account"]["username"] == "victim"
    assert "victim" in await _public_authors(client, reader_token)
    back = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(reader_token))
    assert back.status_code == 200
    # The tokens the suspension revoked stay revoked; signing in works again.
    assert (await client.get(ME, headers=auth(victim_token))).status_code == 401
    signed_in = await password_grant(client, oauth_app, "victim@example.com")
    assert signed_in.status_code == 200, signed_in.text
    fresh = signed_in.json()["access_token"]
    assert (await client.get(ME, headers=auth(fresh))).status_code == 200
    # Unsuspending an account that is not suspended changes nothing.
    again = await admin_post(client, mod_token, victim.id, "unsuspend")
    assert again.status_code == 200
    assert again.json()["suspended"] is False


async def test_disabling_refuses_sign_in_but_keeps_the_content(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    _, reader_token = await user_with_token(app, "reader")
    status = await post_status(client, victim_token, "still here")
    oauth_app = await register_oauth_app(client)

    disabled = await act(client, mod_token, victim.id, "disable")
    assert disabled.status_code == 200, disabled.text
    assert (await client.get(ME, headers=auth(victim_token))).status_code == 401
    refused = await password_grant(client, oauth_app, "victim@example.com")
    assert 400 <= refused.status_code < 500
    assert "access_token" not in refused.json()
    # Content stays visible.
    seen = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(reader_token))
    assert seen.status_code == 200
    assert (await client.get(f"/api/v1/accounts/{victim.id}")).status_code == 200
    assert "victim" in await _public_authors(client, reader_token)
    entity = await admin_account(client, mod_token, victim.id)
    assert (entity["disabled"], entity["suspended"]) == (True, False)
    assert (await act(client, mod_token, victim.id, "disable")).status_code == 200

    enabled = await admin_post(client, mod_token, victim.id, "enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["disabled"] is False
    signed_in = await password_grant(client, oauth_app, "victim@example.com")
    assert signed_in.status_code == 200, signed_in.text
    assert (await client.get(ME, headers=auth(victim_token))).status_code == 401


async def test_a_warning_mails_the_note_and_every_action_is_audited(
    app: Any, client: Any, test_env: Any, caplog: Any
) -> None:
    moderator, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)

    warned = await act(
        client,
        mod_token,
        victim.id,
        "none",
        text="Please stop posting spam.",
        send_email_notification=True,
    )
    assert warned.status_code == 200, warned.text
    assert (await client.get(ME, headers=auth(victim_token))).status_code == 200
    mails = [m for m in outbox(test_env.workdir / "outbox") if m["To"] == "victim@example.com"]
    assert len(mails) == 1
    assert "Please stop posting spam." in body_of(mails[0])
    quiet = await act(client, mod_token, victim.id, "disable", send_email_notification=False)
    assert quiet.status_code == 200
    assert len(outbox(test_env.workdir / "outbox")) == 1  # no mail when asked for none
    assert (await admin_post(client, mod_token, victim.id, "enable")).status_code == 200

    lines = [
        record.msg
        for record in caplog.records
        if record.name == AUDIT_LOGGER and isinstance(record.msg, dict)
    ]
    assert [line["action"] for line in lines] == ["none", "disable", "enable"]
    for line in lines:
        assert line["event"] == "admin.account_action"
        assert line["actor"] == f"account:{moderator.id}"
        assert line["actor_account_id"] == moderator.id
        assert line["target_account_id"] == victim.id
        assert line["outcome"] == "done"


async def test_the_admin_account_entity(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    victim, _ = await user_with_token(app, "victim")
    async with app.state.engines.db.transaction() as session:
        user_id = await session.scalar(select(User.id).where(User.account_id == victim.id))
        session.add(WebSession(user_id=user_id, secret_hash=hash_secret("s"), ip="203.0.113.9"))

    entity = await admin_account(client, mod_token, victim.id)
    expected = {
        "id", "username", "domain", "created_at", "email", "ip", "ips", "locale",
        "invite_request", "role", "confirmed", "approved", "disabled", "silenced",
        "sensitized", "suspended", "account",
    }  # fmt: skip
    assert expected <= set(entity)
    assert entity["id"] == str(victim.id)
    assert entity["username"] == "victim"
    assert entity["email"] == "victim@example.com"
    assert entity["domain"] is None
    assert entity["role"]["id"] == "-99"
    assert (entity["confirmed"], entity["approved"]) == (True, True)
    assert (entity["silenced"], entity["sensitized"]) == (False, False)
    assert entity["ip"] == "203.0.113.9"
    assert [ip["ip"] for ip in entity["ips"]] == ["203.0.113.9"]
    assert entity["ips"][0]["used_at"].endswith("Z")
    public = (await client.get(f"/api/v1/accounts/{victim.id}")).json()
    assert entity["account"] == public
