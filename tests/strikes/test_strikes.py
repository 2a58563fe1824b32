"""Strikes: every moderation action writes one, the account holder is told through a
`moderation_warning` notification (v1 and grouped) and reads their strikes; appeals, once
and within 20 days; moderators approve (the action is undone) or reject, recorded, mailed
and audited; who may do what."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from connecthub.accounts.models import Role
from connecthub.clock import utcnow
from connecthub.ops.logging import AUDIT_LOGGER
from connecthub.strikes.models import AccountWarning, Appeal
from tests.accounts.support import body_of, outbox
from tests.admin.support import act, admin_account, audit_lines, staff
from tests.factories import create_token
from tests.social_factories import auth, user_with_token

STRIKES = "/api/v1/strikes"
APPEALS = "/api/v1/admin/appeals"


async def _strikes(client: Any, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(STRIKES, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def _appeal(client: Any, token: str, strike_id: str, text: str = "I was hacked"):  # type: ignore[no-untyped-def]
    return await client.post(
        f"{STRIKES}/{strike_id}/appeal", json={"text": text}, headers=auth(token)
    )


async def test_an_action_notifies_its_strike(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")

    warned = await act(client, mod_token, victim.id, "none", text="Mind the rules.")
    assert warned.status_code == 200, warned.text
    # Without a notification: still a strike, but nothing tells the account holder.
    quiet = await act(client, mod_token, victim.id, "sensitive", send_email_notification=False)
    assert quiet.status_code == 200

    strikes = await _strikes(client, victim_token)
    assert [s["action"] for s in strikes] == ["sensitive", "none"]
    warning = strikes[1]
    assert warning["text"] == "Mind the rules."
    assert warning["status_ids"] is None
    assert warning["appeal"] is None
    assert warning["target_account"]["id"] == str(victim.id)
    assert warning["created_at"].endswith("Z")

    listed = await client.get("/api/v1/notifications", headers=auth(victim_token))
    assert listed.status_code == 200, listed.text
    [notification] = listed.json()
    assert notification["type"] == "moderation_warning"
    assert notification["account"]["id"] == str(victim.id)
    assert notification["moderation_warning"] == warning
    assert "status" not in notification
    one = await client.get(
        f"/api/v1/notifications/{notification['id']}", headers=auth(victim_token)
    )
    assert one.json()["moderation_warning"]["id"] == warning["id"]
    # Filtering by type keeps and drops it as any other type.
    kept = await client.get(
        "/api/v1/notifications",
        params={"types[]": "moderation_warning"},
        headers=auth(victim_token),
    )
    assert [n["id"] for n in kept.json()] == [notification["id"]]
    dropped = await client.get(
        "/api/v1/notifications",
        params={"exclude_types[]": "moderation_warning"},
        headers=auth(victim_token),
    )
    assert dropped.json() == []
    grouped = await client.get("/api/v2/notifications", headers=auth(victim_token))
    assert grouped.status_code == 200, grouped.text
    [group] = grouped.json()["notification_groups"]
    assert group["type"] == "moderation_warning"
    assert group["moderation_warning"]["id"] == warning["id"]

    # One strike by id; another account's is not found.
    shown = await client.get(f"{STRIKES}/{warning['id']}", headers=auth(victim_token))
    assert shown.json() == warning
    _, other_token = await user_with_token(app, "other")
    assert (
        await client.get(f"{STRIKES}/{warning['id']}", headers=auth(other_token))
    ).status_code == 404
    assert await _strikes(client, other_token) == []
    # Paginated: one at a time, with a Link to the next.
    first = await client.get(STRIKES, params={"limit": 1}, headers=auth(victim_token))
    assert [s["id"] for s in first.json()] == [strikes[0]["id"]]
    assert 'rel="next"' in first.headers["Link"]


async def test_an_approved_appeal_undoes_the_action(
    app: Any, client: Any, test_env: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    moderator, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    assert (await act(client, mod_token, victim.id, "silence", text="spam")).status_code == 200
    [strike] = await _strikes(client, victim_token)

    for blank in ("", "   "):
        refused = await _appeal(client, victim_token, strike["id"], blank)
        assert refused.status_code == 422
        assert "text" in refused.json()["error"]
    too_long = await _appeal(client, victim_token, strike["id"], "x" * 2001)
    assert too_long.status_code == 422
    appealed = await _appeal(client, victim_token, strike["id"])
    assert appealed.status_code == 200, appealed.text
    assert appealed.json()["appeal"] == {"text": "I was hacked", "state": "pending"}
    twice = await _appeal(client, victim_token, strike["id"])
    assert twice.status_code == 422
    assert "already" in twice.json()["error"]

    pending = await client.get(APPEALS, headers=auth(mod_token))
    assert pending.status_code == 200, pending.text
    [appeal] = pending.json()
    assert appeal["state"] == "pending"
    assert appeal["account"]["id"] == str(victim.id)
    assert appeal["strike"]["id"] == strike["id"]
    assert appeal["approved_at"] is None

    approved = await client.post(f"{APPEALS}/{appeal['id']}/approve", headers=auth(mod_token))
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert approved.json()["approved_at"] is not None
    assert (await admin_account(client, mod_token, victim.id))["silenced"] is False
    [after] = await _strikes(client, victim_token)
    assert after["appeal"]["state"] == "approved"
    mails = [m for m in outbox(test_env.workdir / "outbox") if m["To"] == "victim@example.com"]
    assert any("approved" in body_of(m) for m in mails)
    # Decided once: neither decision again, and no longer pending.
    for verb in ("approve", "reject"):
        again = await client.post(f"{APPEALS}/{appeal['id']}/{verb}", headers=auth(mod_token))
        assert again.status_code == 422
    assert (await client.get(APPEALS, headers=auth(mod_token))).json() == []
    every = await client.get(APPEALS, params={"status": "all"}, headers=auth(mod_token))
    assert [a["id"] for a in every.json()] == [appeal["id"]]

    decided = [line for line in audit_lines(caplog) if line["event"] == "admin.appeal"]
    assert [line["action"] for line in decided] == ["appeal", "approve"]
    assert decided[1]["actor_account_id"] == moderator.id
    assert decided[1]["before"]["silenced"] is True
    assert decided[1]["after"]["silenced"] is False


async def test_an_approved_appeal_lifts_a_suspension_or_a_disable(app: Any, client: Any) -> None:
    """A suspended or disabled holder cannot sign in to appeal through the API (their tokens
    are refused), so their appeal is written as the row the appeal route writes."""
    _, mod_token = await staff(app, "moddy")
    victim, _ = await user_with_token(app, "victim")
    for action, field in (("disable", "disabled"), ("suspend", "suspended")):
        assert (await act(client, mod_token, victim.id, action)).status_code == 200
        assert (await admin_account(client, mod_token, victim.id))[field] is True
        async with app.state.engines.db.transaction() as session:
            strike_id = await session.scalar(
                select(AccountWarning.id).where(AccountWarning.action == action)
            )
            assert strike_id is not None
            appeal = Appeal(account_id=victim.id, account_warning_id=strike_id, text="sorry")
            session.add(appeal)
        done = await client.post(f"{APPEALS}/{appeal.id}/approve", headers=auth(mod_token))
        assert done.status_code == 200, done.text
        assert done.json()["strike"]["action"] == action
        assert (await admin_account(client, mod_token, victim.id))[field] is False


async def test_a_rejected_appeal_is_recorded_and_the_action_stands(
    app: Any, client: Any, test_env: Any
) -> None:
    _, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    assert (await act(client, mod_token, victim.id, "sensitive")).status_code == 200
    [strike] = await _strikes(client, victim_token)
    assert (await _appeal(client, victim_token, strike["id"])).status_code == 200
    [appeal] = (await client.get(APPEALS, headers=auth(mod_token))).json()

    rejected = await client.post(f"{APPEALS}/{appeal['id']}/reject", headers=auth(mod_token))
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["rejected_at"] is not None
    assert (await admin_account(client, mod_token, victim.id))["sensitized"] is True
    [after] = await _strikes(client, victim_token)
    assert after["appeal"] == {"text": "I was hacked", "state": "rejected"}
    mails = [m for m in outbox(test_env.workdir / "outbox") if m["To"] == "victim@example.com"]
    assert any("rejected" in body_of(m) for m in mails)


async def test_a_strike_older_than_20_days_cannot_be_appealed(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    victim, victim_token = await user_with_token(app, "victim")
    assert (await act(client, mod_token, victim.id, "none", text="old news")).status_code == 200
    [strike] = await _strikes(client, victim_token)
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(AccountWarning)
            .where(AccountWarning.id == int(strike["id"]))
            .values(created_at=utcnow() - timedelta(days=21))
        )
    late = await _appeal(client, victim_token, strike["id"])
    assert late.status_code == 422
    assert "20 days" in late.json()["error"]


async def test_who_may_appeal_and_decide(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    moderator, mod_token = await staff(app, "moddy")
    _, admin_token = await staff(app, "olga", Role.ADMIN)
    victim, victim_token = await user_with_token(app, "victim")
    plain, plain_token = await user_with_token(app, "plain")
    assert (await act(client, admin_token, moderator.id, "none", text="hm")).status_code == 200
    assert (await act(client, mod_token, victim.id, "none", text="hm")).status_code == 200
    [strike] = await _strikes(client, victim_token)
    # Only the struck account appeals its strike.
    assert (await _appeal(client, plain_token, strike["id"])).status_code == 404
    assert (await client.post(f"{STRIKES}/{strike['id']}/appeal")).status_code == 401
    read_only = await create_token(app, victim.id, scopes=frozenset({"read"}))
    assert (await _appeal(client, read_only, strike["id"])).status_code == 403
    assert (await _appeal(client, victim_token, strike["id"])).status_code == 200
    [own_strike] = await _strikes(client, mod_token)
    assert (await _appeal(client, mod_token, own_strike["id"])).status_code == 200

    appeals = (await client.get(APPEALS, headers=auth(admin_token))).json()
    by_account = {a["account"]["id"]: a["id"] for a in appeals}
    victims_appeal, moderators_appeal = by_account[str(victim.id)], by_account[str(moderator.id)]
    # Plain users, even with admin scopes, and staff without the admin scopes are refused.
    scoped_plain = await create_token(
        app, plain.id, scopes=frozenset({"admin:read", "admin:write"})
    )
    no_admin_scope = await create_token(app, moderator.id, scopes=frozenset({"read", "write"}))
    admin_read = await create_token(app, moderator.id, scopes=frozenset({"admin:read:accounts"}))
    for token in (plain_token, scoped_plain, no_admin_scope):
        assert (await client.get(APPEALS, headers=auth(token))).status_code == 403
        approve = await client.post(f"{APPEALS}/{victims_appeal}/approve", headers=auth(token))
        assert approve.status_code == 403
    assert (await client.get(APPEALS, headers=auth(admin_read))).status_code == 200
    write = await client.post(f"{APPEALS}/{victims_appeal}/reject", headers=auth(admin_read))
    assert write.status_code == 403
    # Nobody decides their own appeal.
    own = await client.post(f"{APPEALS}/{moderators_appeal}/approve", headers=auth(mod_token))
    assert own.status_code == 403
    assert "own appeal" in own.json()["error"]
    assert (await client.get(f"{APPEALS}/999999", headers=auth(mod_token))).status_code == 404
    bad = await client.get(APPEALS, params={"status": "sideways"}, headers=auth(mod_token))
    assert bad.status_code == 422
    assert "status" in bad.json()["error"]

    refusals = [
        line
        for line in audit_lines(caplog)
        if line["outcome"] == "refused" and line["event"] == "admin.appeal"
    ]
    assert any(line["actor_account_id"] == plain.id for line in refusals)
    assert any("own appeal" in line["reason"] for line in refusals)
