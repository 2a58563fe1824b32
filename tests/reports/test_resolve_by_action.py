"""`reports.service.resolve_by_action`: an account action that names a report (admin/)
resolves it in the action's transaction, as its moderator, audited with the action."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from connecthub.errors import NotFound
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.ops.logging import AUDIT_LOGGER
from connecthub.reports import service
from tests.admin.support import audit_lines, staff
from tests.reports.support import admin_get, filed, moderator
from tests.social_factories import auth, user_with_token


async def _resolve(app: Any, report_id: int, moderator_id: int, action: str) -> None:
    engines = app.state.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        with audit.collecting(uow):  # as a request's unit of work collects it
            await service.resolve_by_action(uow, report_id, moderator_id, action)
        await uow.commit()


async def test_an_account_action_resolves_the_report(app: Any, client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    mod, mod_token = await moderator(app, "moddy")
    report = await filed(client, token, target.id)

    await _resolve(app, int(report["id"]), mod.id, "suspend")
    await _resolve(app, int(report["id"]), mod.id, "suspend")  # already resolved: as it is

    shown = await admin_get(client, mod_token, f"/{report['id']}")
    assert shown["action_taken"] is True
    assert shown["action_taken_by_account"]["id"] == str(mod.id)
    told = await client.get(
        "/api/v1/notifications", params={"types[]": "report_resolved"}, headers=auth(token)
    )
    assert [n["type"] for n in told.json()] == ["report_resolved"]
    [line] = [line for line in audit_lines(caplog) if line.get("action") == "resolve"]
    assert line["by"] == "suspend"
    assert line["actor"] == f"account:{mod.id}"
    with pytest.raises(NotFound):
        await _resolve(app, 424242, mod.id, "suspend")


async def test_the_admin_action_naming_a_report_resolves_it(app: Any, client: Any) -> None:
    _reporter, token = await user_with_token(app, "reporter")
    target, _ = await user_with_token(app, "target")
    _mod, mod_token = await staff(app, "moira")
    report = await filed(client, token, target.id)
    acted = await client.post(
        f"/api/v1/admin/accounts/{target.id}/action",
        json={"type": "silence", "report_id": report["id"], "text": "Limited"},
        headers=auth(mod_token),
    )
    assert acted.status_code == 200, acted.text
    shown = await admin_get(client, mod_token, f"/{report['id']}")
    assert shown["action_taken"] is True
    assert shown["target_account"]["silenced"] is True
