"""Trust and safety end to end, through Mastodon.py against a real server, on both engines:
a person reports a status; a moderator lists the queue, assigns the report to themself,
limits (silences) the account with a warning and resolves the report; the limited account's
next public post is out of the public timeline and a stranger's search but in its
follower's home; the account appeals its strike and a moderator approves (the limit is
lifted); every step is in the audit log and `connecthub admin verify-audit` passes; an
audit row edited in the database (its PostgreSQL trigger disabled by the superuser) makes
it fail, naming that row.

Strikes and appeals have no Mastodon client API (Mastodon keeps them in its web UI): those
steps use ConnectHub's extensions (`/api/v1/strikes`, `/api/v1/admin/appeals`) over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from mastodon import Mastodon

from tests.admin.support import staff
from tests.audit.support import audit_rows, tamper
from tests.cli_runner import run_cli
from tests.relationships.support import set_account
from tests.social_factories import follow, user_with_token
from tests.support import probe

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

if TYPE_CHECKING:
    from tests.conftest import LiveServer, TestEnv

WAIT_SECONDS = 30.0


def _client(server: LiveServer, token: str) -> Mastodon:
    return Mastodon(access_token=token, api_base_url=server.url, version_check_mode="none")


def _until(check: Callable[[], Any]) -> Any:
    """Poll a blocking check until it answers something truthy (fan-out is a job)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _ids(statuses: Any) -> set[str]:
    return {str(s["id"]) for s in statuses}


def _story(server: LiveServer, tokens: dict[str, str], target_id: int) -> dict[str, Any]:
    """Every step, as the people would take it; what each saw."""
    reporter, mod = _client(server, tokens["reporter"]), _client(server, tokens["mod"])
    target, fan = _client(server, tokens["target"]), _client(server, tokens["fan"])
    stranger = _client(server, tokens["stranger"])
    http = httpx.Client(base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context())
    seen: dict[str, Any] = {}

    rude = target.status_post("buy my pills, you idiots")
    seen["filed"] = reporter.report(
        target_id, status_ids=[rude["id"]], comment="spam and insults", category="spam"
    )
    report_id = seen["filed"]["id"]
    seen["queue"] = mod.admin_reports()
    seen["assigned"] = mod.admin_report_assign(report_id)
    mod.admin_account_moderate(
        target_id,
        action="silence",
        report_id=report_id,
        text="Advertising and insults: your posts are limited to your followers.",
        send_email_notification=True,
    )
    seen["resolved"] = mod.admin_report_resolve(report_id)
    seen["silenced"] = mod.admin_account(target_id)

    limited = target.status_post("zanzibar marmalade, now limited")
    seen["limited_id"] = str(limited["id"])
    seen["fan_home"] = _until(lambda: _ids(fan.timeline_home()) & {str(limited["id"])})
    seen["public"] = _ids(stranger.timeline_public())
    seen["stranger_search"] = _ids(stranger.search_v2("zanzibar", result_type="statuses").statuses)
    seen["fan_search"] = _ids(fan.search_v2("zanzibar", result_type="statuses").statuses)
    seen["warnings"] = target.notifications(types=["moderation_warning"])

    target_auth = {"Authorization": f"Bearer {tokens['target']}"}
    mod_auth = {"Authorization": f"Bearer {tokens['mod']}"}
    strikes = http.get("/api/v1/strikes", headers=target_auth).json()
    seen["strikes"] = strikes
    appealed = http.post(
        f"/api/v1/strikes/{strikes[0]['id']}/appeal",
        json={"text": "My account was used by someone else; it will not happen again."},
        headers=target_auth,
    )
    seen["appealed"] = appealed.json()
    [appeal] = http.get("/api/v1/admin/appeals", headers=mod_auth).json()
    seen["approved"] = http.post(
        f"/api/v1/admin/appeals/{appeal['id']}/approve", headers=mod_auth
    ).json()
    seen["after"] = mod.admin_account(target_id)
    seen["public_after"] = _until(lambda: _ids(stranger.timeline_public()) & {str(limited["id"])})
    seen["audit"] = http.get(
        "/api/v1/admin/audit_log", params={"limit": 80}, headers=mod_auth
    ).json()
    return seen


def _verify(test_env: TestEnv) -> Any:
    return run_cli(test_env.environ(), "admin", "verify-audit")


@pytest.mark.slow
async def test_report_limit_resolve_appeal_and_an_intact_audit_chain(
    test_env: TestEnv, live_server: LiveServer, factory_app: FastAPI
) -> None:
    app = factory_app
    _, reporter_token = await user_with_token(app, "reporter")
    target, target_token = await user_with_token(app, "target")
    fan, fan_token = await user_with_token(app, "fan")
    _, stranger_token = await user_with_token(app, "stranger")
    mod, mod_token = await staff(app, "moddy")
    await set_account(app, target.id, indexable=True)
    await follow(app, fan.id, target.id)
    tokens = {
        "reporter": reporter_token,
        "target": target_token,
        "fan": fan_token,
        "stranger": stranger_token,
        "mod": mod_token,
    }

    seen = await asyncio.to_thread(_story, live_server, tokens, target.id)

    report_id = seen["filed"]["id"]
    # The person's report is in the queue (detection may have filed one of its own).
    assert report_id in [r["id"] for r in seen["queue"]]
    assert str(seen["assigned"]["assigned_account"]["id"]) == str(mod.id)
    assert seen["resolved"]["action_taken"] is True
    assert seen["silenced"]["silenced"] is True
    # Limited: to followers only; out of the public timeline and a stranger's search.
    assert seen["fan_home"] == {seen["limited_id"]}
    assert seen["limited_id"] not in seen["public"]
    assert seen["limited_id"] not in seen["stranger_search"]
    assert seen["limited_id"] in seen["fan_search"]
    [warning] = seen["warnings"]
    [strike] = seen["strikes"]
    assert strike["action"] == "silence"
    assert str(warning["moderation_warning"]["id"]) == strike["id"]
    assert seen["appealed"]["appeal"]["state"] == "pending"
    assert seen["approved"]["state"] == "approved"
    assert seen["after"]["silenced"] is False
    assert seen["public_after"] == {seen["limited_id"]}

    # Every step is in the audit log, by whom it was done.
    steps = {(row["event"], row["action"]): row for row in seen["audit"]}
    for step in (
        ("admin.report_action", "assign_to_self"),
        ("admin.account_action", "silence"),
        ("admin.report_action", "resolve"),
        ("admin.appeal", "approve"),
    ):
        assert step in steps, sorted(steps)
        assert steps[step]["actor_account_id"] == str(mod.id)
        assert steps[step]["outcome"] == "done"
    assert steps[("admin.account_action", "silence")]["target_id"] == str(target.id)
    assert steps[("admin.appeal", "appeal")]["actor_account_id"] == str(target.id)

    intact = await asyncio.to_thread(_verify, test_env)
    assert intact.returncode == 0, intact.stderr
    assert "Audit log intact" in intact.stdout

    # Someone with the database's keys rewrites history: the silence never happened.
    rows = await audit_rows(app)
    [silence] = [r for r in rows if (r.event, r.action) == ("admin.account_action", "silence")]
    await tamper(app, "UPDATE audit_log SET action = 'none' WHERE id = :id", id=silence.id)
    broken = await asyncio.to_thread(_verify, test_env)
    assert broken.returncode == 1
    assert f"broken at row {silence.id}" in broken.stderr
    assert "edited" in broken.stderr
