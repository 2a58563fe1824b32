"""The v2 filters API and its keyword and status sub-resources: create, read, update,
delete, in JSON, form and query parameters; ownership, scopes and validation."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
from fastapi import FastAPI

from tests.factories import create_token
from tests.filters.support import create_filter, error_of
from tests.social_factories import auth, post_status, user_with_token


async def test_create_list_get_update_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    created = await create_filter(
        client,
        token,
        "Politics",
        context=["home", "public"],
        filter_action="hide",
        keywords=[{"keyword": "election", "whole_word": True}, {"keyword": "vote"}],
    )
    assert created["title"] == "Politics"
    assert created["context"] == ["home", "public"]
    assert created["filter_action"] == "hide"
    assert created["expires_at"] is None
    assert [(k["keyword"], k["whole_word"]) for k in created["keywords"]] == [
        ("election", True),
        ("vote", True),
    ]
    assert created["statuses"] == []

    listed = (await client.get("/api/v2/filters", headers=auth(token))).json()
    assert [f["id"] for f in listed] == [created["id"]]
    one = await client.get(f"/api/v2/filters/{created['id']}", headers=auth(token))
    assert one.json() == created

    election, vote = created["keywords"]
    updated = await client.put(
        f"/api/v2/filters/{created['id']}",
        json={
            "title": "Elections",
            "filter_action": "warn",
            "keywords_attributes": [
                {"id": election["id"], "keyword": "elections", "whole_word": False},
                {"id": vote["id"], "_destroy": True},
                {"keyword": "ballot"},
            ],
        },
        headers=auth(token),
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["title"] == "Elections"
    assert body["context"] == ["home", "public"]  # unchanged when not given
    assert body["filter_action"] == "warn"
    assert sorted((k["keyword"], k["whole_word"]) for k in body["keywords"]) == [
        ("ballot", True),
        ("elections", False),
    ]

    deleted = await client.delete(f"/api/v2/filters/{created['id']}", headers=auth(token))
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert (await client.get("/api/v2/filters", headers=auth(token))).json() == []
    gone = await client.get(f"/api/v2/filters/{created['id']}", headers=auth(token))
    assert gone.status_code == 404


async def test_form_and_query_parameters(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    pairs = [
        ("title", "Form"),
        ("context[]", "home"),
        ("context[]", "thread"),
        ("keywords_attributes[][keyword]", "one"),
        ("keywords_attributes[][whole_word]", "false"),
        ("keywords_attributes[][keyword]", "two"),
        ("keywords_attributes[][whole_word]", "true"),
    ]
    form = await client.post(
        "/api/v2/filters",
        content=urlencode(pairs),
        headers={**auth(token), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 200, form.text
    assert form.json()["context"] == ["home", "thread"]
    assert [(k["keyword"], k["whole_word"]) for k in form.json()["keywords"]] == [
        ("one", False),
        ("two", True),
    ]
    indexed = await client.post(
        "/api/v2/filters",
        params={
            "title": "Query",
            "context[]": "notifications",
            "keywords_attributes[0][keyword]": "alpha",
            "keywords_attributes[1][keyword]": "beta",
            "expires_in": "3600",
        },
        headers=auth(token),
    )
    assert indexed.status_code == 200, indexed.text
    assert [k["keyword"] for k in indexed.json()["keywords"]] == ["alpha", "beta"]
    assert indexed.json()["expires_at"] is not None


async def test_expiry_can_be_set_and_cleared(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    created = await create_filter(client, token, expires_in=600)
    assert created["expires_at"] is not None
    cleared = await client.put(
        f"/api/v2/filters/{created['id']}", json={"expires_in": None}, headers=auth(token)
    )
    assert cleared.json()["expires_at"] is None
    kept = await client.put(
        f"/api/v2/filters/{created['id']}", json={"title": "Other"}, headers=auth(token)
    )
    assert kept.json()["expires_at"] is None


async def test_keywords_sub_resource(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    created = await create_filter(client, token)
    base = f"/api/v2/filters/{created['id']}/keywords"
    added = await client.post(
        base, data={"keyword": "dragons", "whole_word": "false"}, headers=auth(token)
    )
    assert added.status_code == 200, added.text
    keyword = added.json()
    assert keyword["keyword"] == "dragons"
    assert keyword["whole_word"] is False
    assert (await client.get(base, headers=auth(token))).json() == [keyword]
    url = f"/api/v2/filters/keywords/{keyword['id']}"
    assert (await client.get(url, headers=auth(token))).json() == keyword
    changed = await client.put(url, json={"keyword": "wyverns"}, headers=auth(token))
    assert changed.json() == {**keyword, "keyword": "wyverns"}
    assert (await client.delete(url, headers=auth(token))).json() == {}
    assert (await client.get(url, headers=auth(token))).status_code == 404
    assert (await client.get(base, headers=auth(token))).json() == []


async def test_statuses_sub_resource(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, bob_token, "a status to filter")
    private = await post_status(client, bob_token, "followers only", visibility="private")
    created = await create_filter(client, token)
    base = f"/api/v2/filters/{created['id']}/statuses"
    added = await client.post(base, json={"status_id": status["id"]}, headers=auth(token))
    assert added.status_code == 200, added.text
    row = added.json()
    assert row["status_id"] == status["id"]
    again = await client.post(base, json={"status_id": status["id"]}, headers=auth(token))
    assert "status_id" in error_of(again)
    unseen = await client.post(base, json={"status_id": private["id"]}, headers=auth(token))
    assert "status_id" in error_of(unseen)
    assert "status_id" in error_of(await client.post(base, json={}, headers=auth(token)))
    assert (await client.get(base, headers=auth(token))).json() == [row]
    url = f"/api/v2/filters/statuses/{row['id']}"
    assert (await client.get(url, headers=auth(token))).json() == row
    shown = await client.get(f"/api/v2/filters/{created['id']}", headers=auth(token))
    assert shown.json()["statuses"] == [row]
    assert (await client.delete(url, headers=auth(token))).json() == {}
    assert (await client.get(url, headers=auth(token))).status_code == 404


async def test_another_accounts_filters_are_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, alice_token, "hello")
    created = await create_filter(client, alice_token, keywords=[{"keyword": "secret"}])
    keyword_id = created["keywords"][0]["id"]
    row = (
        await client.post(
            f"/api/v2/filters/{created['id']}/statuses",
            json={"status_id": status["id"]},
            headers=auth(alice_token),
        )
    ).json()
    bob = auth(bob_token)
    for method, url in [
        ("GET", f"/api/v2/filters/{created['id']}"),
        ("PUT", f"/api/v2/filters/{created['id']}"),
        ("DELETE", f"/api/v2/filters/{created['id']}"),
        ("GET", f"/api/v2/filters/{created['id']}/keywords"),
        ("POST", f"/api/v2/filters/{created['id']}/keywords"),
        ("GET", f"/api/v2/filters/keywords/{keyword_id}"),
        ("PUT", f"/api/v2/filters/keywords/{keyword_id}"),
        ("DELETE", f"/api/v2/filters/keywords/{keyword_id}"),
        ("GET", f"/api/v2/filters/statuses/{row['id']}"),
        ("DELETE", f"/api/v2/filters/statuses/{row['id']}"),
        ("GET", f"/api/v1/filters/{keyword_id}"),
        ("DELETE", f"/api/v1/filters/{keyword_id}"),
        ("GET", "/api/v2/filters/not-a-number"),
    ]:
        kwargs = {"json": {"keyword": "x", "title": "x"}} if method in ("PUT", "POST") else {}
        response = await client.request(method, url, headers=bob, **kwargs)
        assert response.status_code == 404, (method, url, response.text)
    assert (await client.get("/api/v2/filters", headers=bob)).json() == []
    still = await client.get(f"/api/v2/filters/{created['id']}", headers=auth(alice_token))
    assert still.json() == {**created, "statuses": [row]}


async def test_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, _token = await user_with_token(app, "alice")
    reader = await create_token(app, alice.id, scopes=frozenset({"read:filters"}))
    writer = await create_token(app, alice.id, scopes=frozenset({"write:filters"}))
    statuses = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    assert (await client.get("/api/v2/filters")).status_code == 401
    assert (await client.get("/api/v2/filters", headers=auth(reader))).status_code == 200
    assert (await client.get("/api/v1/filters", headers=auth(statuses))).status_code == 403
    body = {"title": "t", "context": ["home"]}
    denied = await client.post("/api/v2/filters", json=body, headers=auth(reader))
    assert denied.status_code == 403
    allowed = await client.post("/api/v2/filters", json=body, headers=auth(writer))
    assert allowed.status_code == 200


async def test_validation_names_the_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    headers = auth(token)

    async def rejected(body: object) -> str:
        return error_of(await client.post("/api/v2/filters", json=body, headers=headers))

    assert "title" in await rejected({"context": ["home"]})
    assert "title" in await rejected({"title": "  ", "context": ["home"]})
    assert "title" in await rejected({"title": "x" * 300, "context": ["home"]})
    assert "title" in await rejected({"title": ["a"], "context": ["home"]})
    assert "context" in await rejected({"title": "t"})
    assert "context" in await rejected({"title": "t", "context": ["everywhere"]})
    assert "context" in await rejected({"title": "t", "context": [{"a": 1}]})
    assert "filter_action" in await rejected(
        {"title": "t", "context": ["home"], "filter_action": "explode"}
    )
    for expires in (-5, "soon", 10**12, True):
        assert "expires_in" in await rejected(
            {"title": "t", "context": ["home"], "expires_in": expires}
        )
    assert "keywords_attributes" in await rejected(
        {"title": "t", "context": ["home"], "keywords_attributes": "word"}
    )
    assert "keywords_attributes[0][keyword]" in await rejected(
        {"title": "t", "context": ["home"], "keywords_attributes": [{"whole_word": True}]}
    )
    assert "keywords_attributes[0][keyword]" in await rejected(
        {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "k" * 300}]}
    )
    assert "whole_word" in await rejected(
        {
            "title": "t",
            "context": ["home"],
            "keywords_attributes": [{"keyword": "a", "whole_word": "maybe"}],
        }
    )
    too_many = [{"keyword": f"k{n}"} for n in range(101)]
    assert "keywords_attributes" in await rejected(
        {"title": "t", "context": ["home"], "keywords_attributes": too_many}
    )
    assert "body" in error_of(
        await client.post(
            "/api/v2/filters",
            content=b"{nope",
            headers={**headers, "Content-Type": "application/json"},
        )
    )
    created = await create_filter(client, token)
    unknown = await client.put(
        f"/api/v2/filters/{created['id']}",
        json={"keywords_attributes": [{"id": "12345", "keyword": "x"}]},
        headers=headers,
    )
    assert "keywords_attributes[0][id]" in error_of(unknown)
    blank = await client.post(
        f"/api/v2/filters/{created['id']}/keywords", json={"keyword": ""}, headers=headers
    )
    assert "keyword" in error_of(blank)


async def test_blur_is_accepted(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    assert (await create_filter(client, token, filter_action="blur"))["filter_action"] == "blur"


async def test_at_most_100_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    from connecthub.filters.models import Filter

    async with app.state.engines.db.transaction() as session:
        for n in range(100):
            session.add(Filter(account_id=_alice.id, title=f"f{n}", context=["home"]))
    response = await client.post(
        "/api/v2/filters", json={"title": "one more", "context": ["home"]}, headers=auth(token)
    )
    assert "filter" in error_of(response)
