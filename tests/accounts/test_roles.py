"""Roles: Mastodon's Role entity for user, moderator and admin, granted with
`connecthub admin grant-role`, and used to allow approving pending accounts."""

from __future__ import annotations

from connecthub.accounts.models import Role
from tests.accounts.support import api_sign_up, bearer, user_and_account
from tests.cli_runner import run_cli
from tests.factories import create_token, create_user

ME = "/api/v1/accounts/verify_credentials"


def _grant(test_env, username: str, role: str) -> None:
    result = run_cli(test_env.environ(), "admin", "grant-role", username, role)
    assert result.returncode == 0, result.stderr


async def test_granted_roles_show_in_credentials_and_on_the_profile(app, client, test_env):
    account, _ = await create_user(app, "mona")
    token = await create_token(app, account.id)

    _grant(test_env, "mona", "moderator")
    moderator = (await client.get(ME, headers=bearer(token))).json()["role"]
    assert moderator["name"] == "Moderator"
    assert moderator["highlighted"] is True
    bits = int(moderator["permissions"])
    assert bits & (1 << 10)  # manage_users
    assert bits & (1 << 4)  # manage_reports
    assert not bits & 1  # not administrator
    public = (await client.get(f"/api/v1/accounts/{account.id}")).json()
    assert public["roles"] == [{"id": moderator["id"], "name": "Moderator", "color": ""}]

    _grant(test_env, "mona", "admin")
    admin = (await client.get(ME, headers=bearer(token))).json()["role"]
    assert admin["name"] == "Admin"
    assert int(admin["permissions"]) & 1  # administrator

    _grant(test_env, "mona", "user")
    user = (await client.get(ME, headers=bearer(token))).json()
    assert user["role"]["id"] == "-99"
    assert user["roles"] == []


async def test_moderators_approve_pending_accounts_through_the_admin_api(app_factory):
    async with app_factory(registration_mode="approval") as (app, client):
        assert (await api_sign_up(app, client, "pat")).status_code == 200
        pending, _ = await user_and_account(app, "pat")  # type: ignore[misc]
        path = f"/api/v1/admin/accounts/{pending.account_id}/approve"
        scopes = frozenset({"admin:write"})

        plain, _ = await create_user(app, "plain")
        refused = await client.post(
            path, headers=bearer(await create_token(app, plain.id, scopes=scopes))
        )
        assert refused.status_code == 403

        mod, _ = await create_user(app, "moddy", role=Role.MODERATOR)
        no_scope = await create_token(app, mod.id, scopes=frozenset({"write"}))
        assert (await client.post(path, headers=bearer(no_scope))).status_code == 403

        approved = await client.post(
            path, headers=bearer(await create_token(app, mod.id, scopes=scopes))
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["approved"] is True
        assert approved.json()["account"]["username"] == "pat"
        user, _ = await user_and_account(app, "pat")  # type: ignore[misc]
        assert user.approved
