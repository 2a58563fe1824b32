"""Mastodon.py against a real server: a person reports an account and a status, a moderator
works the report through the admin calls, the reporter asks for their report notices."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from mastodon import Mastodon

from tests.reports.support import moderator
from tests.social_factories import user_with_token
from tests.streaming.support import post_status

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

if TYPE_CHECKING:
    from tests.conftest import LiveServer


def _client(server: LiveServer, token: str) -> Mastodon:
    return Mastodon(access_token=token, api_base_url=server.url, version_check_mode="none")


def _work(server: LiveServer, reporter: str, mod: str, target_id: int, status_id: str) -> Any:
    person, staff = _client(server, reporter), _client(server, mod)
    seen: dict[str, Any] = {}
    seen["filed"] = person.report(
        target_id, status_ids=[status_id], comment="spam", category="violation", rule_ids=[1]
    )
    seen["queue"] = staff.admin_reports()
    report_id = seen["filed"]["id"]
    seen["assigned"] = staff.admin_report_assign(report_id)
    seen["unassigned"] = staff.admin_report_unassign(report_id)
    seen["resolved"] = staff.admin_report_resolve(report_id)
    seen["resolved_queue"] = staff.admin_reports(resolved=True)
    seen["open_queue"] = staff.admin_reports()
    seen["reopened"] = staff.admin_report_reopen(report_id)
    seen["shown"] = staff.admin_report(report_id)
    staff.admin_report_resolve(report_id)
    seen["staff_notices"] = staff.notifications(types=["admin.report"])
    seen["notices"] = person.notifications(types=["report_resolved"])
    return seen


async def test_mastodon_py_reports_and_moderates(
    live_server: LiveServer, factory_app: FastAPI
) -> None:
    reporter, reporter_token = await user_with_token(factory_app, "reporter")
    target, target_token = await user_with_token(factory_app, "target")
    mod, mod_token = await moderator(factory_app, "moddy")
    status = await post_status(live_server, target_token, "buy my pills")

    seen = await asyncio.to_thread(
        _work, live_server, reporter_token, mod_token, target.id, status["id"]
    )

    filed = seen["filed"]
    assert filed["category"] == "violation"
    assert [str(i) for i in filed["status_ids"]] == [status["id"]]
    assert filed["target_account"]["username"] == "target"
    assert [r["id"] for r in seen["queue"]] == [filed["id"]]
    assert seen["queue"][0]["account"]["username"] == "reporter"
    assert seen["queue"][0]["rules"][0]["id"] == "1"
    assert str(seen["assigned"]["assigned_account"]["id"]) == str(mod.id)
    assert seen["unassigned"]["assigned_account"] is None
    assert seen["resolved"]["action_taken"] is True
    assert [r["id"] for r in seen["resolved_queue"]] == [filed["id"]]
    assert list(seen["open_queue"]) == []
    assert seen["reopened"]["action_taken"] is False
    assert seen["shown"]["statuses"][0]["content"] == status["content"]
    [staff_notice] = seen["staff_notices"]
    assert staff_notice["type"] == "admin.report"
    assert staff_notice["report"]["id"] == filed["id"]
    assert str(staff_notice["account"]["id"]) == str(reporter.id)
    [notice] = seen["notices"]
    assert notice["type"] == "report_resolved"
    assert notice["report"]["id"] == filed["id"]
