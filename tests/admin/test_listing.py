"""`GET /api/v2/admin/accounts`: Mastodon's filters (status, username, e-mail, staff, role
ids, origin), newest first, paginated through the Link header, in a constant number of
queries."""

from __future__ import annotations

from typing import Any

from connecthub.accounts.models import Role
from tests.admin.support import act, staff
from tests.factories import create_user
from tests.social_factories import auth
from tests.statuses.support import counting_queries

LIST = "/api/v2/admin/accounts"


async def _usernames(client: Any, token: str, **params: Any) -> list[str]:
    response = await client.get(LIST, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return [item["username"] for item in response.json()]


async def test_filters(app: Any, client: Any) -> None:
    _, token = await staff(app, "moddy")
    await staff(app, "olga", Role.ADMIN)
    sus, _ = await create_user(app, "sus_pended", email="sus@spam.example")
    dis, _ = await create_user(app, "disa")
    await create_user(app, "pending_pat", approved=False)
    await create_user(app, "Alice_Smith", email="alice@mail.example")
    assert (await act(client, token, sus.id, "suspend")).status_code == 200
    assert (await act(client, token, dis.id, "disable")).status_code == 200

    everyone = await _usernames(client, token)
    assert everyone == ["Alice_Smith", "pending_pat", "disa", "sus_pended", "olga", "moddy"]
    assert await _usernames(client, token, status="suspended") == ["sus_pended"]
    assert await _usernames(client, token, status="disabled") == ["disa"]
    assert await _usernames(client, token, status="pending") == ["pending_pat"]
    assert await _usernames(client, token, status="active") == ["Alice_Smith", "olga", "moddy"]
    assert await _usernames(client, token, status="silenced") == []
    assert await _usernames(client, token, username="alice") == ["Alice_Smith"]
    assert await _usernames(client, token, username="%") == []
    assert await _usernames(client, token, email="SPAM.example") == ["sus_pended"]
    assert await _usernames(client, token, permissions="staff") == ["olga", "moddy"]
    assert await _usernames(client, token, **{"role_ids[]": "1"}) == ["moddy"]
    assert await _usernames(client, token, origin="local", status="disabled") == ["disa"]
    assert await _usernames(client, token, origin="remote") == []
    assert await _usernames(client, token, by_domain="elsewhere.example") == []

    for field, value in (
        ("status", "bogus"),
        ("origin", "mars"),
        ("permissions", "all"),
        ("ip", "not-an-ip"),
        ("limit", "-1"),
        ("max_id", "abc"),
        ("invited_by", "x"),
    ):
        response = await client.get(LIST, params={field: value}, headers=auth(token))
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["error"]


async def test_pages_follow_the_link_header(app: Any, client: Any) -> None:
    _, token = await staff(app, "moddy")
    for number in range(4):
        await create_user(app, f"user{number}")

    seen: list[str] = []
    url: str | None = f"{LIST}?limit=2"
    while url:
        response = await client.get(url, headers=auth(token))
        assert response.status_code == 200, response.text
        page = [item["username"] for item in response.json()]
        if not page:
            break
        assert len(page) <= 2
        seen += page
        links = response.headers.get("link", "")
        assert 'rel="prev"' in links
        url = links.split(";")[0].strip("<>") if 'rel="next"' in links else None
    assert seen == ["user3", "user2", "user1", "user0", "moddy"]


async def test_a_page_costs_the_same_queries_for_two_accounts_or_twenty(
    app: Any, client: Any
) -> None:
    _, token = await staff(app, "moddy")

    async def statements_for_a_page() -> int:
        with counting_queries(app) as statements:
            response = await client.get(LIST, params={"limit": "40"}, headers=auth(token))
            assert response.status_code == 200
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    await create_user(app, "first")
    await statements_for_a_page()  # the token's look-up is cached from here on
    few = await statements_for_a_page()
    for number in range(20):
        await create_user(app, f"user{number}")
    assert await statements_for_a_page() == few


async def test_the_v1_list_takes_mastodons_switches(app: Any, client: Any) -> None:
    _, token = await staff(app, "moddy")
    await staff(app, "olga", Role.ADMIN)
    sus, _ = await create_user(app, "sus_pended")
    quiet, _ = await create_user(app, "quiet")
    await create_user(app, "pending_pat", approved=False)
    assert (await act(client, token, sus.id, "suspend")).status_code == 200
    assert (await act(client, token, quiet.id, "silence")).status_code == 200

    async def listed(**params: Any) -> list[str]:
        response = await client.get("/api/v1/admin/accounts", params=params, headers=auth(token))
        assert response.status_code == 200, response.text
        return [item["username"] for item in response.json()]

    # Local and active by default; a switch counts whatever its value.
    assert await listed() == ["quiet", "olga", "moddy"]
    assert await listed(suspended="true") == ["sus_pended"]
    assert await listed(pending="1") == ["pending_pat"]
    assert await listed(silenced="true") == ["quiet"]
    assert await listed(staff="true") == ["olga", "moddy"]
    assert await listed(remote="true") == []
    assert await listed(username="mod") == ["moddy"]
    assert await listed(active="true", suspended="true") == ["sus_pended"]
    bad = await client.get("/api/v1/admin/accounts", params={"ip": "nowhere"}, headers=auth(token))
    assert bad.status_code == 422
