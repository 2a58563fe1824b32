"""The admin reports API: the Admin::Report entity, the queue's filters and pages, assign,
unassign, resolve, reopen, recategorise; each act audited once."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connecthub.accounts.models import Role
from connecthub.ops.logging import AUDIT_LOGGER
from tests.admin.support import audit_lines
from tests.reports.support import admin_get, admin_post, file_system, filed, moderator
from tests.social_factories import auth, post_status, user_with_token
from tests.support.queries import counting_queries, engine_name


async def test_the_admin_report_entity(app: Any, client: Any) -> None:
    reporter, token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    mod, mod_token = await moderator(app, "moddy")
    status = await post_status(client, target_token, "rude words", spoiler_text="cw")
    report = await filed(
        client, token, target.id, status_ids=[status["id"]], rule_ids=["2"], comment="mean"
    )

    shown = await admin_get(client, mod_token, f"/{report['id']}")

    assert shown["id"] == report["id"]
    assert shown["action_taken"] is False
    assert shown["category"] == "violation"
    assert shown["comment"] == "mean"
    assert shown["account"]["id"] == str(reporter.id)
    assert shown["account"]["email"] == "reporter@example.com"
    assert shown["target_account"]["account"]["username"] == "target"
    assert shown["assigned_account"] is None
    assert shown["action_taken_by_account"] is None
    assert [s["id"] for s in shown["statuses"]] == [status["id"]]
    assert shown["statuses"][0]["spoiler_text"] == "cw"
    assert shown["statuses"][0]["content"] == status["content"]
    assert "favourited" not in shown["statuses"][0]  # nobody's view: no viewer flags
    assert shown["rules"] == [{"id": "2", "text": "Be nice", "hint": ""}]

    assigned = (await admin_post(client, mod_token, report["id"], "assign_to_self")).json()
    assert assigned["assigned_account"]["id"] == str(mod.id)
    unassigned = (await admin_post(client, mod_token, report["id"], "unassign")).json()
    assert unassigned["assigned_account"] is None


async def test_a_system_report_shows_the_instance_as_reporter(app: Any, client: Any) -> None:
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    status = await post_status(client, target_token, "offensive", visibility="private")
    report_id = await file_system(app, target.id, [int(status["id"])], category="violation")

    shown = await admin_get(client, mod_token, f"/{report_id}")

    assert shown["account"]["id"] == "-99"
    assert shown["account"]["username"] == "localhost:8000"
    assert shown["account"]["account"]["bot"] is True
    assert shown["category"] == "violation"
    assert shown["rules"] == []
    assert shown["statuses"][0]["visibility"] == "private"
    # A moderator adds the rule the classifier could not name.
    changed = await client.put(
        f"/api/v1/admin/reports/{report_id}", json={"rule_ids": ["3"]}, headers=auth(mod_token)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["rules"][0]["text"] == "No hate speech"


async def test_resolve_reopen_and_the_resolved_filter(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    mod, mod_token = await moderator(app, "moddy")
    report = await filed(client, token, target.id)

    resolved = (await admin_post(client, mod_token, report["id"], "resolve")).json()
    assert resolved["action_taken"] is True
    assert resolved["action_taken_at"] is not None
    assert resolved["action_taken_by_account"]["id"] == str(mod.id)
    assert await admin_get(client, mod_token) == []
    assert [r["id"] for r in await admin_get(client, mod_token, resolved="true")] == [report["id"]]
    again = (await admin_post(client, mod_token, report["id"], "resolve")).json()
    assert again["action_taken_at"] == resolved["action_taken_at"]  # idempotent

    reopened = (await admin_post(client, mod_token, report["id"], "reopen")).json()
    assert reopened["action_taken"] is False
    assert reopened["action_taken_at"] is None
    assert reopened["action_taken_by_account"] is None
    assert [r["id"] for r in await admin_get(client, mod_token)] == [report["id"]]

    lines = [line for line in audit_lines(caplog) if line["event"] == "admin.report_action"]
    assert [(line["action"], line["outcome"]) for line in lines] == [
        ("resolve", "done"),
        ("reopen", "done"),
    ]
    assert lines[0]["actor"] == f"account:{mod.id}"
    assert lines[0]["report_id"] == int(report["id"])
    assert lines[0]["target_account_id"] == target.id
    assert (lines[0]["before"], lines[0]["after"]) == ("open", "resolved")


async def test_update_validates_category_and_rules(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    report = await filed(client, token, target.id, category="spam")
    path = f"/api/v1/admin/reports/{report['id']}"

    for body, field in (
        ({"category": "violation"}, "rule_ids"),
        ({"category": "violation", "rule_ids": ["9"]}, "rule_ids"),
        ({"category": "bad"}, "category"),
    ):
        refused = await client.put(path, json=body, headers=auth(mod_token))
        assert refused.status_code == 422, refused.text
        assert field in refused.json()["error"]
    changed = await client.put(
        path, json={"category": "violation", "rule_ids": ["1", "2"]}, headers=auth(mod_token)
    )
    assert changed.status_code == 200
    assert [r["id"] for r in changed.json()["rules"]] == ["1", "2"]
    back = await client.put(path, json={"category": "other"}, headers=auth(mod_token))
    assert back.json()["category"] == "other"
    assert back.json()["rules"] == []
    ruled = await client.put(path, json={"rule_ids": ["3"]}, headers=auth(mod_token))
    assert ruled.json()["category"] == "violation"
    assert [r["id"] for r in ruled.json()["rules"]] == ["3"]

    [first, second, _third] = [
        line for line in audit_lines(caplog) if line.get("action") == "update"
    ]
    assert first["before"] == {"category": "spam", "rule_ids": []}
    assert first["after"] == {"category": "violation", "rule_ids": [1, 2]}
    assert second["after"] == {"category": "other", "rule_ids": []}


async def test_filters_and_pages(app: Any, client: Any) -> None:
    first, first_token = await user_with_token(app, "first")
    _second, second_token = await user_with_token(app, "second")
    target, _ = await user_with_token(app, "target")
    other, _ = await user_with_token(app, "other")
    _, mod_token = await moderator(app, "olga", Role.ADMIN)
    ids = [
        (await filed(client, first_token, target.id))["id"],
        (await filed(client, second_token, target.id))["id"],
        (await filed(client, first_token, other.id))["id"],
        (await filed(client, second_token, other.id))["id"],
    ]

    everything = await admin_get(client, mod_token)
    assert [r["id"] for r in everything] == ids[::-1]
    by_reporter = await admin_get(client, mod_token, account_id=str(first.id))
    assert [r["id"] for r in by_reporter] == [ids[2], ids[0]]
    by_target = await admin_get(client, mod_token, target_account_id=str(target.id))
    assert [r["id"] for r in by_target] == [ids[1], ids[0]]

    page = await client.get("/api/v1/admin/reports", params={"limit": 2}, headers=auth(mod_token))
    assert [r["id"] for r in page.json()] == [ids[3], ids[2]]
    link = page.headers["Link"]
    assert f"max_id={ids[2]}" in link
    assert f"min_id={ids[3]}" in link
    older = await admin_get(client, mod_token, limit=2, max_id=ids[2])
    assert [r["id"] for r in older] == [ids[1], ids[0]]
    newer = await admin_get(client, mod_token, limit=2, min_id=ids[0])
    assert [r["id"] for r in newer] == [ids[2], ids[1]]
    since = await admin_get(client, mod_token, since_id=ids[1])
    assert [r["id"] for r in since] == [ids[3], ids[2]]
    bad = await client.get("/api/v1/admin/reports", params={"max_id": "x"}, headers=auth(mod_token))
    assert bad.status_code == 422
    missing = await client.get("/api/v1/admin/reports/999999", headers=auth(mod_token))
    assert missing.status_code == 404


@pytest.mark.slow
async def test_a_page_costs_the_same_whatever_its_size(app: Any, client: Any) -> None:
    target, target_token = await user_with_token(app, "target")
    _, mod_token = await moderator(app, "moddy")
    statuses = [await post_status(client, target_token, f"rude {n}") for n in range(3)]

    statements_seen: list[str] = []

    async def page_statements() -> int:
        with counting_queries(app) as statements:
            await admin_get(client, mod_token)
        statements_seen[:] = [s[:60] for s in statements]
        return len(statements)

    for n in range(2):
        _, token = await user_with_token(app, f"reporter{n}")
        await filed(client, token, target.id, status_ids=[s["id"] for s in statuses])
    await admin_get(client, mod_token)  # the token is cached from here on
    small = await page_statements()
    for n in range(2, 6):
        _, token = await user_with_token(app, f"reporter{n}")
        report = await filed(client, token, target.id, status_ids=[statuses[0]["id"]])
        await admin_post(client, mod_token, report["id"], "assign_to_self")
    assert await page_statements() == small
    # Reports, their evidence, the accounts they name, those accounts' addresses (SQLite
    # adds its BEGIN).
    assert small == {"sqlite": 5, "postgresql": 4}[engine_name(app)], statements_seen
