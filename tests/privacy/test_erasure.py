"""The erasure job: killed half-way and run again it finishes without doubling anything;
admins delete through Mastodon's admin API and the command line; no table that names an
account is forgotten by the erasure plan."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connecthub.accounts.models import Account, Role, User
from connecthub.filters.models import Filter, FilterKeyword
from connecthub.infra.db import Base
from connecthub.privacy import erasure, repository
from connecthub.relationships.models import Follow
from connecthub.statuses.models import Favourite, Status, TagFollow, ThreadMute
from tests.cli_runner import run_cli
from tests.factories import create_token, create_user
from tests.privacy.support import (
    account_json,
    ask_deletion,
    count,
    deletion_record,
    run_deletion_job,
    wait_erased,
)
from tests.social_factories import auth, post_status, user_with_token


@pytest.mark.slow
async def test_an_interrupted_erasure_finishes_without_doubling(app_factory: Any) -> None:
    # No job runs by itself here: the test plays the worker, and its deaths.
    async with app_factory(jobs_in_server=False) as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        others = [await user_with_token(app, f"user{n}") for n in range(5)]
        for account, token in others:
            for path in (f"accounts/{alice.id}/follow", f"accounts/{account.id}/follow"):
                caller = token if path.startswith(f"accounts/{alice.id}") else alice_token
                response = await client.post(f"/api/v1/{path}", headers=auth(caller))
                assert response.status_code == 200, response.text
        theirs = [await post_status(client, token, "mine") for _account, token in others]
        for status in theirs:
            for action in ("favourite", "reblog"):
                response = await client.post(
                    f"/api/v1/statuses/{status['id']}/{action}", headers=auth(alice_token)
                )
                assert response.status_code == 200, response.text
        for n in range(5):
            await post_status(client, alice_token, f"post {n}")
        response = await client.post(
            "/api/v2/filters",
            json={
                "title": "private words",
                "context": ["home"],
                "keywords_attributes": [{"keyword": "something personal"}],
            },
            headers=auth(alice_token),
        )
        assert response.status_code == 200, response.text
        for path in ("tags/gardening/follow", f"statuses/{theirs[0]['id']}/mute"):
            response = await client.post(f"/api/v1/{path}", headers=auth(alice_token))
            assert response.status_code == 200, response.text
        assert await count(app, TagFollow, TagFollow.account_id == alice.id) == 1
        assert await count(app, ThreadMute, ThreadMute.account_id == alice.id) == 1
        assert (await ask_deletion(client, alice_token)).status_code == 202

        # Three chunks of two rows, as if the worker died there; then the whole job twice.
        partial = await erasure.erase(app.state.engines, alice.id, batch=2, max_chunks=3)
        assert not partial.finished
        assert 0 < await count(app, Status, Status.account_id == alice.id) < 10
        await run_deletion_job(app, alice.id)
        await run_deletion_job(app, alice.id)
        record = await deletion_record(app, alice.id)
        assert record is not None
        assert record.completed_at is not None

        for account, token in others:
            entity = await account_json(client, account.id, token)
            assert (entity["followers_count"], entity["following_count"]) == (0, 0)
            assert entity["statuses_count"] == 1
        for status, (_account, token) in zip(theirs, others, strict=True):
            response = await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(token))
            assert (response.json()["favourites_count"], response.json()["reblogs_count"]) == (0, 0)
        a = alice.id
        assert await count(app, Status, Status.account_id == a) == 0
        assert await count(app, Favourite, Favourite.account_id == a) == 0
        assert await count(app, Filter, Filter.account_id == a) == 0
        assert await count(app, TagFollow, TagFollow.account_id == a) == 0
        assert await count(app, ThreadMute, ThreadMute.account_id == a) == 0
        assert await count(app, FilterKeyword, FilterKeyword.account_id == a) == 0
        assert (
            await count(app, Follow, (Follow.account_id == a) | (Follow.target_account_id == a))
            == 0
        )


async def test_a_job_for_an_unknown_account_does_nothing(app: Any) -> None:
    await run_deletion_job(app, 123456789)
    outcome = await erasure.erase(app.state.engines, 123456789)
    assert outcome.finished


@pytest.mark.slow
async def test_admins_delete_through_the_admin_api(app: Any, client: Any) -> None:
    admin, _ = await create_user(app, "olga", role=Role.ADMIN)
    moderator, _ = await create_user(app, "milo", role=Role.MODERATOR)
    admin_token = await create_token(app, admin.id, scopes=frozenset({"admin:write"}))
    moderator_token = await create_token(app, moderator.id, scopes=frozenset({"admin:write"}))
    user_token = await create_token(app, admin.id, scopes=frozenset({"write"}))
    victim, victim_token = await user_with_token(app, "eve")
    path = f"/api/v1/admin/accounts/{victim.id}"
    assert (await client.delete(path, headers=auth(moderator_token))).status_code == 403
    assert (await client.delete(path, headers=auth(user_token))).status_code == 403
    assert (
        await client.delete("/api/v1/admin/accounts/999999999", headers=auth(admin_token))
    ).status_code == 404
    assert (
        await client.delete("/api/v1/admin/accounts/not-a-number", headers=auth(admin_token))
    ).status_code == 404
    deleted = await client.delete(path, headers=auth(admin_token))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["suspended"] is True
    assert deleted.json()["username"] == "eve"
    verify = await client.get("/api/v1/accounts/verify_credentials", headers=auth(victim_token))
    assert verify.status_code == 401
    await wait_erased(app, victim.id)
    record = await deletion_record(app, victim.id)
    assert record is not None
    assert (record.requested_by, record.requested_by_account_id) == ("admin", admin.id)
    again = await client.delete(path, headers=auth(admin_token))  # idempotent
    assert again.status_code == 200
    assert again.json()["email"] == ""


@pytest.mark.slow
async def test_the_admin_command_deletes_and_erases(test_env: Any, app: Any) -> None:
    frank, _ = await create_user(app, "frank")
    result = await asyncio.to_thread(
        run_cli, test_env.environ(), "admin", "delete-account", "--username", "frank"
    )
    assert result.returncode == 0, result.stderr
    assert "@frank is deleted" in result.stdout
    assert await count(app, User, User.account_id == frank.id) == 0
    async with app.state.engines.db.session() as session:
        tombstone = await session.get(Account, frank.id)
    assert tombstone is not None
    assert tombstone.suspended_at is not None
    unknown = await asyncio.to_thread(
        run_cli, test_env.environ(), "admin", "delete-account", "--username", "nobody"
    )
    assert unknown.returncode == 2
    assert "Traceback" not in unknown.stderr
    assert "nobody" in unknown.stderr.strip().splitlines()[-1]


# Tables that name an account (or user) and are not in `repository.ERASED_ROWS`, with why.
HANDLED_ELSEWHERE = {
    ("accounts", "id"): "the tombstone itself",
    ("users", "account_id"): "deleted by the tombstone step",
    ("statuses", "account_id"): "statuses service, first step",
    ("favourites", "account_id"): "statuses repository hook (counters)",
    ("poll_votes", "account_id"): "statuses repository hook (counters)",
    ("follows", "account_id"): "relationships repository hook (counters)",
    ("follows", "target_account_id"): "relationships repository hook (counters)",
    ("media_attachments", "account_id"): "media service (files purged)",
    ("oauth_applications", "owner_account_id"): "detached, not deleted",
    ("account_deletions", "account_id"): "kept: the record of the deletion",
    ("trend_reviews", "reviewed_by_account_id"): "kept: a moderation record names the tombstone",
    ("data_exports", "account_id"): "portability service (archives purged)",
    ("mentions", "account_id"): "statuses service step (cached renderings dropped)",
    ("account_warnings", "account_id"): "kept: a moderator's strike on another account",
    ("appeals", "approved_by_account_id"): "kept: a moderator's decision on another's appeal",
    ("appeals", "rejected_by_account_id"): "kept: a moderator's decision on another's appeal",
    ("reports", "account_id"): "reports service step (held media let go)",
    ("reports", "target_account_id"): "reports service step (held media let go)",
    ("reports", "assigned_account_id"): "kept: a moderator's tombstone on others' reports",
    ("reports", "action_taken_by_account_id"): "kept: a moderator's tombstone",
    ("report_notes", "account_id"): "kept: a moderator's tombstone on others' reports",
}


def test_every_table_naming_an_account_is_erased_or_explained() -> None:
    covered = set(HANDLED_ELSEWHERE)
    for model, condition in repository.ERASED_ROWS:
        text = str(condition(1).compile())
        for column in model.__table__.columns:
            if f"{model.__tablename__}.{column.name}" in text:
                covered.add((model.__tablename__, column.name))
    missing = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            refers = any(
                fk.column.table.name in ("accounts", "users") for fk in column.foreign_keys
            )
            if refers and (table.name, column.name) not in covered:
                missing.append(f"{table.name}.{column.name}")
    assert not missing, f"not erased with an account: {missing}"
    assert ("idempotency_keys", "account_id") in covered  # no foreign key, still erased


async def test_a_run_gets_past_steps_with_nothing_left(app: Any) -> None:
    """More steps than chunks per run: empty steps cost nothing, so one small run finishes
    an account with no data (a run once stopped at its limit before the tombstone, and
    every next round started again from the first step)."""
    quiet, _token = await user_with_token(app, "quiet")
    assert len(erasure.STEPS) > 1
    assert len(erasure.STEPS) > 5
    outcome = await erasure.erase(app.state.engines, quiet.id, max_chunks=5)
    assert outcome.finished
