"""The report notices: moderators get Mastodon's `admin.report` (with the `report`) when a
report is filed; its reporter gets `report_resolved` when it is resolved, only through
`types[]`, showing nothing they had not seen (no moderator, no action)."""

from __future__ import annotations

from typing import Any

from connecthub import channels
from connecthub.accounts.models import Role
from tests.reports.support import admin_post, file_system, filed, moderator
from tests.social_factories import auth, post_status, user_with_token


async def _notifications(client: Any, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_moderators_are_told_of_a_new_report(app: Any, client: Any) -> None:
    reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    _mod, mod_token = await moderator(app, "moddy")
    _admin, admin_token = await moderator(app, "olga", Role.ADMIN)
    _plain, plain_token = await user_with_token(app, "plain")
    status = await post_status(client, target_token, "rude")

    report = await filed(client, token, target.id, status_ids=[status["id"]], comment="bad")

    for staff_token in (mod_token, admin_token):
        [notice] = await _notifications(client, staff_token)
        assert notice["type"] == "admin.report"
        assert notice["account"]["id"] == str(reporter.id)
        assert notice["report"]["id"] == report["id"]
        assert notice["report"]["comment"] == "bad"
        assert notice["report"]["status_ids"] == [status["id"]]
        assert notice["report"]["target_account"]["id"] == str(target.id)
        one = await client.get(f"/api/v1/notifications/{notice['id']}", headers=auth(staff_token))
        assert one.json() == notice
    assert await _notifications(client, plain_token) == []
    assert await _notifications(client, target_token) == []
    assert await _notifications(client, token) == []
    only_reports = await _notifications(client, mod_token, **{"types[]": "admin.report"})
    assert len(only_reports) == 1
    assert await _notifications(client, mod_token, **{"exclude_types[]": "admin.report"}) == []


async def test_a_system_report_notice_names_the_target(app: Any, client: Any) -> None:
    target, _ = await user_with_token(app, "target")
    _mod, mod_token = await moderator(app, "moddy")
    report_id = await file_system(app, target.id, [], category="spam", comment="auto")

    [notice] = await _notifications(client, mod_token)
    assert notice["type"] == "admin.report"
    assert notice["account"]["id"] == str(target.id)
    assert notice["report"]["id"] == str(report_id)
    assert notice["report"]["category"] == "spam"


async def test_the_reporter_is_told_when_their_report_is_resolved(app: Any, client: Any) -> None:
    reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    mod, mod_token = await moderator(app, "moddy")
    report = await filed(client, token, target.id, comment="please look")
    engines = app.state.engines
    stream = await engines.events.subscribe(channels.user_channel(reporter.id))
    try:
        await admin_post(client, mod_token, report["id"], "assign_to_self")
        resolved = await admin_post(client, mod_token, report["id"], "resolve")
        assert resolved.status_code == 200
        assert stream.queue.empty()  # opt-in: never pushed to a stream
    finally:
        await stream.close()

    assert await _notifications(client, token) == []  # hidden unless asked for
    [notice] = await _notifications(client, token, **{"types[]": "report_resolved"})
    assert notice["type"] == "report_resolved"
    assert notice["account"]["id"] == str(reporter.id)  # nobody they had not named
    shown = notice["report"]
    assert shown["id"] == report["id"]
    assert shown["action_taken"] is True
    assert shown["comment"] == "please look"
    assert str(mod.id) not in str(notice)  # the moderator is never revealed
    assert set(shown) == {
        "id",
        "action_taken",
        "action_taken_at",
        "category",
        "comment",
        "forwarded",
        "created_at",
        "status_ids",
        "rule_ids",
        "target_account",
    }
    # Resolved again after a reopen: told once.
    await admin_post(client, mod_token, report["id"], "reopen")
    await admin_post(client, mod_token, report["id"], "resolve")
    assert len(await _notifications(client, token, **{"types[]": "report_resolved"})) == 1


async def test_grouped_notifications_carry_the_report_notices(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    _mod, mod_token = await moderator(app, "moddy")
    report = await filed(client, token, target.id)

    response = await client.get("/api/v2/notifications", headers=auth(mod_token))
    assert response.status_code == 200, response.text
    [group] = response.json()["notification_groups"]
    assert group["type"] == "admin.report"
    assert group["report"]["id"] == report["id"]
    assert group["report"]["target_account"]["id"] == str(target.id)
