"""The `connecthub` command as an operator runs it: migrate, and the admin tasks.

The commands run in the test process (tests/cli_runner.py); one test starts the installed
entry point as a real process."""

from __future__ import annotations

import asyncio
import gc
import json
import re
import subprocess
import time
from typing import Any

import pytest

from connecthub import cli
from connecthub.accounts import repository
from connecthub.accounts.models import Role
from connecthub.accounts.sign_in import verify_sign_in
from connecthub.core import collector
from connecthub.infra.db import Database
from connecthub.infra.migrations import head_revision
from tests.admin.support import staff
from tests.cli_runner import CliResult, run_cli
from tests.conftest import connecthub_command, running_app
from tests.social_factories import auth

Outcome = CliResult | subprocess.CompletedProcess[str]


def run(test_env: Any, *args: str, **environ: str) -> CliResult:
    return run_cli(test_env.environ(**environ), *args)


def run_process(test_env: Any, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        connecthub_command(*args),
        env=test_env.environ(**environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_failure(result: Outcome, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.processes
@pytest.mark.timeout(600)
def test_the_installed_command_runs_as_its_own_process(test_env: Any) -> None:
    """`python -m connecthub` itself: it migrates, prints what it did, and a mistake is one
    line on stderr with exit code 2 and no traceback. (The user made in between is made in
    this process: each new interpreter imports the app, ~2.5 CPU-s.)"""
    migrated = run_process(test_env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == f"Database is at migration {head_revision()}."
    args = ["admin", "create-user", "--username", "bob", "--email", "bob@example.com"]
    created = run(test_env, *args)
    assert created.returncode == 0, created.stderr
    (line,) = audit_lines(created)
    assert line["action"] == "create_user"
    assert_one_line_failure(run_process(test_env, *args), "username", "taken")


def test_migrate_is_idempotent(test_env: Any) -> None:
    first = run(test_env, "migrate")
    second = run(test_env, "migrate")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    revision = re.search(r"Database is at migration (\S+)\.", first.stdout)
    assert revision is not None
    assert revision.group(1) == head_revision()
    assert second.stdout == first.stdout


@pytest.mark.slow
def test_migrate_creates_a_fresh_sqlite_database(test_env: Any) -> None:
    path = test_env.workdir / "fresh" / "connecthub.db"
    url = f"sqlite:///{path}"
    for _ in range(2):
        result = run(test_env, "migrate", DATABASE_URL=url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"Database is at migration {head_revision()}."
    assert path.exists()


def test_an_unreachable_database_is_one_line(test_env: Any) -> None:
    plain_file = test_env.workdir / "plain-file"
    plain_file.write_text("not a directory")
    for url in (
        "postgresql://connecthub:pa55word@127.0.0.1:1/connecthub",
        f"sqlite:///{plain_file}/x.db",
    ):
        result = run(test_env, "migrate", DATABASE_URL=url)
        assert_one_line_failure(result, "DATABASE_URL")
        assert "pa55word" not in result.stderr


async def user_role(test_env: Any, username: str) -> str | None:
    db = Database(test_env.settings())
    try:
        async with db.session(readonly=True) as session:
            account = await repository.account_by_username(session, username)
            user = await repository.user_for_account(session, account.id) if account else None
            return user.role if user else None
    finally:
        await db.dispose()


async def can_sign_in(test_env: Any, email: str, password: str) -> bool:
    db = Database(test_env.settings())
    try:
        async with db.transaction() as session:
            user, _account = await verify_sign_in(session, email, password)
            return user.email == email
    finally:
        await db.dispose()


async def test_create_user_then_grant_role(test_env: Any) -> None:
    created = run(
        test_env,
        "admin",
        "create-user",
        "--username",
        "alice",
        "--email",
        "alice@example.com",
        "--password",
        "correct horse battery staple 42",
    )
    assert created.returncode == 0, created.stderr
    assert "Created user @alice." in created.stdout
    assert "Password:" not in created.stdout
    assert await user_role(test_env, "alice") == "user"
    assert await can_sign_in(test_env, "alice@example.com", "correct horse battery staple 42")

    granted = run(test_env, "admin", "grant-role", "alice", "moderator")
    assert granted.returncode == 0, granted.stderr
    assert "@alice is now moderator." in granted.stdout
    assert await user_role(test_env, "alice") == "moderator"

    granted = run(test_env, "admin", "grant-role", "alice", "admin")
    assert granted.returncode == 0, granted.stderr
    assert await user_role(test_env, "alice") == "admin"


async def test_a_role_taken_away_ends_admin_access_at_once(test_env: Any) -> None:
    # Through Redis in distributed mode; embedded, the server hears of the command's writes
    # before its next request (infra/outside_writes.py, as the tests' servers look).
    async with running_app(test_env) as (app, client):
        moderator, token = await staff(app, "moddy", Role.MODERATOR)
        for _ in range(2):  # cached in Redis, then copied into this process
            listed = await client.get("/api/v2/admin/accounts", headers=auth(token))
            assert listed.status_code == 200, listed.text

        demoted = await asyncio.to_thread(run, test_env, "admin", "grant-role", "moddy", "user")
        assert demoted.returncode == 0, demoted.stderr

        deadline = time.monotonic() + 1.0
        while True:
            status = (await client.get("/api/v2/admin/accounts", headers=auth(token))).status_code
            if status == 403 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        assert status == 403
        # The token itself still works for what a plain user may do.
        own = await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))
        assert own.status_code == 200
        assert own.json()["id"] == str(moderator.id)


async def test_create_user_makes_a_password_when_none_is_given(test_env: Any) -> None:
    created = run(
        test_env,
        "admin",
        "create-user",
        "--username",
        "admin",  # reserved for sign-up, allowed for staff
        "--email",
        "root@example.com",
        "--role",
        "admin",
    )
    assert created.returncode == 0, created.stderr
    match = re.search(r"^Password: (\S+)$", created.stdout, re.MULTILINE)
    assert match is not None
    assert await user_role(test_env, "admin") == "admin"
    assert await can_sign_in(test_env, "root@example.com", match.group(1))


@pytest.mark.slow
def test_admin_mistakes_are_one_line(test_env: Any) -> None:
    args = ["admin", "create-user", "--username", "bob", "--email", "bob@example.com"]
    assert run(test_env, *args).returncode == 0

    assert_one_line_failure(run(test_env, *args), "username", "taken")
    other_name = ["admin", "create-user", "--username", "bobby", "--email", "BOB@example.com"]
    assert_one_line_failure(run(test_env, *other_name), "email", "taken")
    bad_email = ["admin", "create-user", "--username", "carol", "--email", "not-an-address"]
    assert_one_line_failure(run(test_env, *bad_email), "email")
    assert_one_line_failure(run(test_env, *args[:-1], "x@example.com", "--role", "king"), "role")
    weak = ["admin", "create-user", "--username", "dan", "--email", "dan@example.com"]
    assert_one_line_failure(run(test_env, *weak, "--password", "aaaaaaaa"), "password")
    assert_one_line_failure(run(test_env, "admin", "grant-role", "nobody", "admin"), "nobody")
    assert_one_line_failure(run(test_env, "admin", "grant-role", "bob", "king"), "ROLE")


def audit_lines(result: Outcome) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "connecthub.audit"]


@pytest.mark.slow
def test_admin_commands_leave_an_audit_line(test_env: Any) -> None:
    created = run(
        test_env, "admin", "create-user", "--username", "alice", "--email", "alice@example.com"
    )
    granted = run(test_env, "admin", "grant-role", "alice", "moderator")
    approved = run(test_env, "admin", "approve", "alice")
    deleted = run(test_env, "admin", "delete-account", "--username", "alice")
    failed = run(test_env, "admin", "grant-role", "nobody", "admin")

    expected = [
        (created, {"action": "create_user", "role": "user"}),
        (granted, {"action": "grant_role", "role": "moderator"}),
        (approved, {"action": "approve"}),
        (deleted, {"action": "delete_account"}),
    ]
    for result, fields in expected:
        assert result.returncode == 0, result.stderr
        # delete-account also records the erasure asked for and done (privacy.*).
        (line,) = [line for line in audit_lines(result) if line["event"] == "admin.cli"]
        assert (line["actor"], line["outcome"]) == ("cli", "done")
        assert line["target_username"] == "alice"
        assert isinstance(line["target_account_id"], int)
        assert fields.items() <= line.items()
    # Nothing secret in the trail: the generated password stays on its own line.
    assert "Password:" in created.stdout
    password = created.stdout.split("Password: ", 1)[1].split()[0]
    assert password not in json.dumps(audit_lines(created))
    assert "alice@example.com" not in created.stdout
    # A command that changed nothing records nothing.
    assert failed.returncode == 2
    assert audit_lines(failed) == []


def test_every_command_runs_with_the_long_lived_collector_thresholds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command starts with the server's collector thresholds: with CPython's defaults the
    collector's passes over what a command imports were a fifth of its start."""
    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(cli, "app", lambda: seen.append(gc.get_threshold()))
    previous = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults, which a new interpreter starts with
    try:
        cli.main()
    finally:
        gc.set_threshold(*previous)
    assert seen == [collector.THRESHOLDS]
