"""The persisted audit trail: acts written in their transaction, refusals on their own,
the hash chain and `connecthub admin verify-audit`, the append-only trigger, sign-ins."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from connecthub.accounts.models import Role
from connecthub.infra import audit_trail
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from tests.admin.support import act, staff
from tests.audit.support import audit_rows, tamper
from tests.cli_runner import run_cli
from tests.conftest import TestEnv as Env
from tests.engines import postgres_server_url
from tests.factories import create_user, password_grant, register_oauth_app
from tests.social_factories import auth


async def _a_few_acts(app: FastAPI, client: httpx.AsyncClient) -> tuple[int, int, str]:
    """A moderator disables then enables a user, and is refused on an admin."""
    moderator, token = await staff(app, "moddy")
    target, _ = await create_user(app, "target")
    boss, _ = await create_user(app, "boss", role=Role.ADMIN)
    assert (await act(client, token, target.id, "disable")).status_code == 200
    enabled = await client.post(f"/api/v1/admin/accounts/{target.id}/enable", headers=auth(token))
    assert enabled.status_code == 200
    assert (await act(client, token, boss.id, "suspend")).status_code == 403
    return moderator.id, target.id, token


async def test_acts_and_refusals_are_rows_of_one_chain(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    moderator_id, target_id, _ = await _a_few_acts(app, client)
    rows = await audit_rows(app)
    assert [(r.action, r.outcome) for r in rows] == [
        ("disable", "done"),
        ("enable", "done"),
        ("suspend", "refused"),
    ]
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[0].actor == f"account:{moderator_id}"
    assert rows[0].actor_account_id == moderator_id
    assert (rows[0].target_type, rows[0].target_id) == ("account", str(target_id))
    assert rows[0].ip == "127.0.0.1"
    assert json.loads(rows[2].details)["reason"] == "This action is not allowed"
    assert rows[0].prev_hash == audit_trail.GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash
    async with app.state.engines.db.session() as session:
        assert await audit_trail.verify(session) == audit_trail.Verdict(3)


async def test_an_act_that_rolls_back_leaves_no_row(app: FastAPI) -> None:
    engines = app.state.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        with audit.collecting(uow):
            audit.record("test.act", actor="cli", action="kept", outcome=audit.Outcome.DONE)
            audit.record("test.act", actor="cli", action="tried", outcome=audit.Outcome.REFUSED)
        await uow.rollback()
    assert [(r.action, r.outcome) for r in await audit_rows(app)] == [("tried", "refused")]


async def test_concurrent_appends_never_fork_the_chain(app: FastAPI) -> None:
    engines = app.state.engines

    async def one(n: int) -> None:
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            with audit.collecting(uow):
                audit.record("test.act", actor="cli", action=f"a{n}", outcome=audit.Outcome.DONE)
            await uow.commit()

    await asyncio.gather(*(one(n) for n in range(12)))
    rows = await audit_rows(app)
    assert [r.id for r in rows] == list(range(1, 13))
    assert len({r.prev_hash for r in rows}) == 12  # no two rows built on one predecessor
    async with engines.db.session() as session:
        assert (await audit_trail.verify(session)).bad_id is None


def _verify(test_env: Env) -> Any:
    return run_cli(test_env.environ(), "admin", "verify-audit")


async def test_verify_audit_passes_then_names_an_edited_row(
    test_env: Env, app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _a_few_acts(app, client)
    intact = await asyncio.to_thread(_verify, test_env)
    assert intact.returncode == 0, intact.stderr
    assert "intact: 3 row(s)" in intact.stdout
    await tamper(app, "UPDATE audit_log SET action = 'none' WHERE id = 2")
    broken = await asyncio.to_thread(_verify, test_env)
    assert broken.returncode == 1
    assert "broken at row 2" in broken.stderr
    assert "edited" in broken.stderr


async def test_verify_audit_names_a_removed_middle_row(
    test_env: Env, app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _a_few_acts(app, client)
    await tamper(app, "DELETE FROM audit_log WHERE id = 2")
    broken = await asyncio.to_thread(_verify, test_env)
    assert broken.returncode == 1
    assert "broken at row 3" in broken.stderr
    assert "missing" in broken.stderr


async def test_a_forged_link_is_found_even_with_a_recomputed_hash(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _a_few_acts(app, client)
    rows = await audit_rows(app)
    forged = rows[1]
    forged.action = "none"
    new_hash = audit_trail.row_hash(forged, forged.prev_hash)
    await tamper(app, "UPDATE audit_log SET action = 'none', hash = :h WHERE id = 2", h=new_hash)
    async with app.state.engines.db.session() as session:
        verdict = await audit_trail.verify(session)
    assert (verdict.bad_id, verdict.intact) == (3, 2)


@pytest.mark.skipif(postgres_server_url() is None, reason="the trigger is PostgreSQL's")
async def test_the_application_cannot_update_delete_or_truncate(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _a_few_acts(app, client)
    for statement in (
        "UPDATE audit_log SET action = 'none' WHERE id = 1",
        "DELETE FROM audit_log WHERE id = 1",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with app.state.engines.db.transaction() as session:
                await session.execute(text(statement))
    assert len(await audit_rows(app)) == 3


async def test_cli_commands_are_rows_too(test_env: Env, app: FastAPI) -> None:
    await create_user(app, "carol")
    result = await asyncio.to_thread(
        run_cli, test_env.environ(), "admin", "grant-role", "carol", "moderator"
    )
    assert result.returncode == 0, result.stderr
    rows = await audit_rows(app)
    assert [(r.actor, r.action, r.outcome) for r in rows] == [("cli", "grant_role", "done")]
    assert json.loads(rows[0].details)["role"] == "moderator"


async def test_sign_ins_are_recorded_with_the_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account, _ = await create_user(app, "dave")
    oauth_app = await register_oauth_app(client)
    assert (await password_grant(client, oauth_app, "dave@example.com")).status_code == 200
    wrong = await password_grant(client, oauth_app, "dave@example.com", "not the password")
    assert wrong.status_code == 400
    rows = [r for r in await audit_rows(app) if r.action == "sign_in"]
    assert [(r.outcome, r.actor, r.ip) for r in rows] == [
        ("done", f"account:{account.id}", "127.0.0.1"),
        ("refused", "anonymous", "127.0.0.1"),
    ]
    assert rows[0].target_id == str(account.id)
