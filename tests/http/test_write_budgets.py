"""Every write route (POST, PUT, PATCH, DELETE) runs an exact number of SQL statements for a
realistic request: the budget table below has one entry per route, a new route without one
fails `test_every_write_route_has_a_budget`, and a change that adds a statement to a write
path fails its entry until the figure is updated on purpose.

Each case builds its own world, lets background jobs settle, warms the caller's token,
then counts the statements of the one request (jobs are not counted: tests/support/
queries.py). Figures are per engine: SQLite opens a write with `BEGIN IMMEDIATE`, and the
two engines differ where a statement is engine-specific. Where a route's success needs a
browser or a provider round trip (OpenID Connect, e-mailed links), the request is the
refusal a client meets without it, and the entry says so. A route that queues jobs counts
one statement for them, the job outbox's INSERT (ADR 0007); the rows' DELETE runs in the
background, batched, and is not the request's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from connecthub.accounts.models import Role
from connecthub.cards.models import PreviewCard
from connecthub.clock import utcnow
from connecthub.statuses.models import Status, Tag
from tests.accounts.support import STRONG_PASSWORD, TWO_FACTOR, csrf, hidden_fields, next_totp
from tests.admin.support import staff
from tests.factories import create_app_token, create_token, create_user
from tests.media.files import png
from tests.social_factories import auth, post_status
from tests.support.queries import counting_queries, engine_name
from tests.timelines.support import settle


@dataclass
class Call:
    """The measured request: `expect` is its status (a success unless the entry says)."""

    method: str
    url: str
    token: str | None = None
    expect: int = 200
    kwargs: dict[str, Any] = field(default_factory=dict)
    warm: str = "/api/v1/accounts/verify_credentials"  # a read that caches the token


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient

    async def user(self, name: str, **options: Any) -> tuple[int, str]:
        account, _user = await create_user(self.app, name, password=STRONG_PASSWORD, **options)
        return account.id, await create_token(self.app, account.id)

    async def read(self, status: dict[str, Any]) -> dict[str, Any]:
        """Read `status` once, anonymously, as its first reader would: that renders it
        into the entity cache (the fan-out carries the entity the post rendered)."""
        await self.ok("GET", f"/api/v1/statuses/{status['id']}", None)
        return status

    async def ok(self, method: str, url: str, token: str | None, **kwargs: Any) -> Any:
        headers = {**(auth(token) if token else {}), **kwargs.pop("headers", {})}
        response = await self.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code < 400, (url, response.status_code, response.text)
        return response.json() if "json" in response.headers.get("content-type", "") else None


Scenario = Callable[[World], Awaitable[Call]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(route: str) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        SCENARIOS[route] = function
        return function

    return register


# --- statuses ---------------------------------------------------------------------------


@scenario("POST /api/v1/statuses")
async def _post(w: World) -> Call:
    _me, token = await w.user("alice")
    await post_status(w.client, token, "warm")
    return Call("POST", "/api/v1/statuses", token, kwargs={"json": {"status": "Hello"}})


async def _own_and_other(w: World) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    _me, token = await w.user("alice")
    _bob, bob_token = await w.user("bob")
    mine = await w.read(await post_status(w.client, token, "mine"))
    theirs = await w.read(await post_status(w.client, bob_token, "theirs"))
    return token, bob_token, mine, theirs


@scenario("PUT /api/v1/statuses/{status_id}")
async def _edit(w: World) -> Call:
    token, _b, mine, _t = await _own_and_other(w)
    body = {"json": {"status": "mine, edited"}}
    return Call("PUT", f"/api/v1/statuses/{mine['id']}", token, kwargs=body)


@scenario("DELETE /api/v1/statuses/{status_id}")
async def _delete(w: World) -> Call:
    token, _b, mine, _t = await _own_and_other(w)
    return Call("DELETE", f"/api/v1/statuses/{mine['id']}", token)


def _interaction(verb: str, undo_of: str | None = None) -> Scenario:
    async def run(w: World) -> Call:
        token, _b, _m, theirs = await _own_and_other(w)
        if undo_of is not None:
            await w.ok("POST", f"/api/v1/statuses/{theirs['id']}/{undo_of}", token)
        return Call("POST", f"/api/v1/statuses/{theirs['id']}/{verb}", token)

    return run


for _verb, _undo in (
    ("favourite", None),
    ("unfavourite", "favourite"),
    ("reblog", None),
    ("unreblog", "reblog"),
    ("bookmark", None),
    ("unbookmark", "bookmark"),
):
    scenario(f"POST /api/v1/statuses/{{status_id}}/{_verb}")(_interaction(_verb, _undo))


@scenario("POST /api/v1/statuses/{status_id}/pin")
async def _pin(w: World) -> Call:
    token, _b, mine, _t = await _own_and_other(w)
    return Call("POST", f"/api/v1/statuses/{mine['id']}/pin", token)


@scenario("POST /api/v1/statuses/{status_id}/unpin")
async def _unpin(w: World) -> Call:
    token, _b, mine, _t = await _own_and_other(w)
    await w.ok("POST", f"/api/v1/statuses/{mine['id']}/pin", token)
    return Call("POST", f"/api/v1/statuses/{mine['id']}/unpin", token)


@scenario("POST /api/v1/statuses/{status_id}/mute")
async def _mute_thread(w: World) -> Call:
    token, _b, _m, theirs = await _own_and_other(w)
    return Call("POST", f"/api/v1/statuses/{theirs['id']}/mute", token)


@scenario("POST /api/v1/statuses/{status_id}/unmute")
async def _unmute_thread(w: World) -> Call:
    token, _b, _m, theirs = await _own_and_other(w)
    await w.ok("POST", f"/api/v1/statuses/{theirs['id']}/mute", token)
    return Call("POST", f"/api/v1/statuses/{theirs['id']}/unmute", token)


@scenario("POST /api/v1/tags/{name}/follow")
async def _follow_tag(w: World) -> Call:
    _me, token = await w.user("alice")
    _bob, bob_token = await w.user("bob")
    await post_status(w.client, bob_token, "used once #cats")
    return Call("POST", "/api/v1/tags/cats/follow", token)


@scenario("POST /api/v1/tags/{name}/unfollow")
async def _unfollow_tag(w: World) -> Call:
    _me, token = await w.user("alice")
    await w.ok("POST", "/api/v1/tags/cats/follow", token)
    return Call("POST", "/api/v1/tags/cats/unfollow", token)


@scenario("POST /api/v1/polls/{poll_id}/votes")
async def _vote(w: World) -> Call:
    _me, token = await w.user("alice")
    _bob, bob_token = await w.user("bob")
    poll = {"options": ["yes", "no"], "expires_in": 600}
    status = await w.read(await post_status(w.client, bob_token, "vote", poll=poll))
    body = {"json": {"choices": [0]}}
    return Call("POST", f"/api/v1/polls/{status['poll']['id']}/votes", token, kwargs=body)


@scenario("POST /api/v1/statuses/{status_id}/translate")
async def _translate(w: World) -> Call:
    token, _b, _m, theirs = await _own_and_other(w)
    body = {"json": {"lang": "en"}}  # no translation service: Mastodon's 404
    return Call("POST", f"/api/v1/statuses/{theirs['id']}/translate", token, 404, body)


# --- notifications, conversations, markers ----------------------------------------------


async def _mentioned(w: World) -> tuple[str, str]:
    _me, token = await w.user("alice")
    _bob, bob_token = await w.user("bob")
    await post_status(w.client, bob_token, "hi @alice")
    return token, bob_token


@scenario("POST /api/v1/notifications/clear")
async def _clear(w: World) -> Call:
    token, _ = await _mentioned(w)
    return Call("POST", "/api/v1/notifications/clear", token)


@scenario("POST /api/v1/notifications/{notification_id}/dismiss")
async def _dismiss(w: World) -> Call:
    token, _ = await _mentioned(w)
    [note] = await w.ok("GET", "/api/v1/notifications", token)
    return Call("POST", f"/api/v1/notifications/{note['id']}/dismiss", token)


@scenario("POST /api/v2/notifications/{group_key}/dismiss")
async def _dismiss_group(w: World) -> Call:
    token, _ = await _mentioned(w)
    found = await w.ok("GET", "/api/v2/notifications", token)
    key = found["notification_groups"][0]["group_key"]
    return Call("POST", f"/api/v2/notifications/{key}/dismiss", token)


async def _requested(w: World) -> tuple[str, str]:
    """Alice holds a request from bob: his private mentions, filtered by default."""
    _me, token = await w.user("alice")
    _bob, bob_token = await w.user("bob")
    await post_status(w.client, bob_token, "@alice psst", visibility="direct")
    await post_status(w.client, bob_token, "@alice again", visibility="direct")
    [request] = await w.ok("GET", "/api/v1/notifications/requests", token)
    return token, str(request["id"])


def _request_action(verb: str, *, bulk: bool) -> Scenario:
    async def run(w: World) -> Call:
        token, request_id = await _requested(w)
        if bulk:
            body = {"json": {"id": [request_id]}}
            return Call("POST", f"/api/v1/notifications/requests/{verb}", token, kwargs=body)
        return Call("POST", f"/api/v1/notifications/requests/{request_id}/{verb}", token)

    return run


for _verb in ("accept", "dismiss"):
    scenario(f"POST /api/v1/notifications/requests/{_verb}")(_request_action(_verb, bulk=True))
    scenario(f"POST /api/v1/notifications/requests/{{request_id}}/{_verb}")(
        _request_action(_verb, bulk=False)
    )


@scenario("PATCH /api/v2/notifications/policy")
async def _policy(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"for_not_following": "filter"}}
    return Call("PATCH", "/api/v2/notifications/policy", token, kwargs=body)


@scenario("PATCH /api/v1/notifications/policy")
async def _v1_policy(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"filter_not_following": True}}
    return Call("PATCH", "/api/v1/notifications/policy", token, kwargs=body)


async def _conversation(w: World) -> tuple[str, str]:
    _me, token = await w.user("alice")
    _bob, bob_token = await w.user("bob")
    await post_status(w.client, bob_token, "@alice psst", visibility="direct")
    [view] = await w.ok("GET", "/api/v1/conversations", token)
    return token, str(view["id"])


@scenario("POST /api/v1/conversations/{conversation_id}/read")
async def _conversation_read(w: World) -> Call:
    token, view = await _conversation(w)
    return Call("POST", f"/api/v1/conversations/{view}/read", token)


@scenario("DELETE /api/v1/conversations/{conversation_id}")
async def _conversation_delete(w: World) -> Call:
    token, view = await _conversation(w)
    return Call("DELETE", f"/api/v1/conversations/{view}", token)


@scenario("POST /api/v1/connecthub/conversations/{conversation_id}/typing")
async def _typing(w: World) -> Call:
    token, view = await _conversation(w)
    return Call("POST", f"/api/v1/connecthub/conversations/{view}/typing", token)


@scenario("POST /api/v1/markers")
async def _markers(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"home": {"last_read_id": "1"}}}
    return Call("POST", "/api/v1/markers", token, kwargs=body)


# --- lists ----------------------------------------------------------------------------


async def _list(w: World) -> tuple[str, int, str]:
    _me, token = await w.user("alice")
    bob, _bob_token = await w.user("bob")
    await w.ok("POST", f"/api/v1/accounts/{bob}/follow", token)
    created = await w.ok("POST", "/api/v1/lists", token, data={"title": "Friends"})
    return token, bob, str(created["id"])


@scenario("POST /api/v1/lists")
async def _list_create(w: World) -> Call:
    _me, token = await w.user("alice")
    return Call("POST", "/api/v1/lists", token, kwargs={"data": {"title": "Friends"}})


@scenario("PUT /api/v1/lists/{list_id}")
async def _list_update(w: World) -> Call:
    token, _bob, list_id = await _list(w)
    return Call("PUT", f"/api/v1/lists/{list_id}", token, kwargs={"data": {"title": "Pals"}})


@scenario("DELETE /api/v1/lists/{list_id}")
async def _list_delete(w: World) -> Call:
    token, _bob, list_id = await _list(w)
    return Call("DELETE", f"/api/v1/lists/{list_id}", token)


@scenario("POST /api/v1/lists/{list_id}/accounts")
async def _list_add(w: World) -> Call:
    token, bob, list_id = await _list(w)
    body = {"data": {"account_ids[]": [str(bob)]}}
    return Call("POST", f"/api/v1/lists/{list_id}/accounts", token, kwargs=body)


@scenario("DELETE /api/v1/lists/{list_id}/accounts")
async def _list_remove(w: World) -> Call:
    token, bob, list_id = await _list(w)
    body = {"data": {"account_ids[]": [str(bob)]}}
    await w.ok("POST", f"/api/v1/lists/{list_id}/accounts", token, **body)
    return Call(
        "DELETE", f"/api/v1/lists/{list_id}/accounts", token, kwargs={"params": body["data"]}
    )


# --- relationships ----------------------------------------------------------------------


def _relationship(verb: str, before: str | None = None) -> Scenario:
    async def run(w: World) -> Call:
        _me, token = await w.user("alice")
        bob, _bob_token = await w.user("bob")
        if before is not None:
            await w.ok("POST", f"/api/v1/accounts/{bob}/{before}", token)
        return Call("POST", f"/api/v1/accounts/{bob}/{verb}", token)

    return run


for _verb, _before in (
    ("follow", None),
    ("unfollow", "follow"),
    ("block", None),
    ("unblock", "block"),
    ("mute", None),
    ("unmute", "mute"),
):
    scenario(f"POST /api/v1/accounts/{{account_id:id}}/{_verb}")(_relationship(_verb, _before))


def _follow_request(verb: str) -> Scenario:
    async def run(w: World) -> Call:
        _me, token = await w.user("alice")
        await w.ok("PATCH", "/api/v1/accounts/update_credentials", token, data={"locked": "true"})
        bob, bob_token = await w.user("bob")
        await w.ok("POST", f"/api/v1/accounts/{(await _id_of(w, token))}/follow", bob_token)
        return Call("POST", f"/api/v1/follow_requests/{bob}/{verb}", token)

    return run


def _account_action(verb: str, *before: str, **data: str) -> Scenario:
    """Alice acts on bob (note, endorse, remove a follower); `before`: her earlier acts."""

    async def run(w: World) -> Call:
        _me, token = await w.user("alice")
        bob, bob_token = await w.user("bob")
        await w.ok("POST", f"/api/v1/accounts/{await _id_of(w, token)}/follow", bob_token)
        for earlier in before:
            await w.ok("POST", f"/api/v1/accounts/{bob}/{earlier}", token)
        kwargs = {"data": data} if data else {}
        return Call("POST", f"/api/v1/accounts/{bob}/{verb}", token, kwargs=kwargs)

    return run


for _verb, _before, _data in (
    ("note", (), {"comment": "Met at the meetup"}),
    ("remove_from_followers", (), {}),
    ("endorse", ("follow",), {}),
    ("pin", ("follow",), {}),
    ("unendorse", ("follow", "endorse"), {}),
    ("unpin", ("follow", "endorse"), {}),
):
    scenario(f"POST /api/v1/accounts/{{account_id:id}}/{_verb}")(
        _account_action(_verb, *_before, **_data)
    )


@scenario("POST /api/v1/featured_tags")
async def _feature_tag(w: World) -> Call:
    _me, token = await w.user("alice")
    await post_status(w.client, token, "Morning #coffee")
    return Call("POST", "/api/v1/featured_tags", token, kwargs={"data": {"name": "coffee"}})


@scenario("DELETE /api/v1/featured_tags/{row_id:id}")
async def _unfeature_tag(w: World) -> Call:
    _me, token = await w.user("alice")
    row = await w.ok("POST", "/api/v1/featured_tags", token, data={"name": "coffee"})
    return Call("DELETE", f"/api/v1/featured_tags/{row['id']}", token)


def _remove_profile_image(field: str) -> Scenario:
    async def run(w: World) -> Call:
        _me, token = await w.user("alice")
        image = {field: (f"{field}.png", png(64, 64), "image/png")}
        await w.ok("PATCH", "/api/v1/accounts/update_credentials", token, files=image)
        return Call("DELETE", f"/api/v1/profile/{field}", token)

    return run


scenario("DELETE /api/v1/profile/avatar")(_remove_profile_image("avatar"))
scenario("DELETE /api/v1/profile/header")(_remove_profile_image("header"))


async def _id_of(w: World, token: str) -> str:
    return str((await w.ok("GET", "/api/v1/accounts/verify_credentials", token))["id"])


for _verb in ("authorize", "reject"):
    scenario(f"POST /api/v1/follow_requests/{{account_id:id}}/{_verb}")(_follow_request(_verb))


def _domain_block(method: str) -> Scenario:
    async def run(w: World) -> Call:
        _me, token = await w.user("alice")
        await w.ok("POST", "/api/v1/domain_blocks", token, json={"domain": "a.example"})
        body = {"params": {"domain": "a.example" if method == "DELETE" else "b.example"}}
        return Call(method, "/api/v1/domain_blocks", token, kwargs=body)

    return run


scenario("POST /api/v1/domain_blocks")(_domain_block("POST"))
scenario("DELETE /api/v1/domain_blocks")(_domain_block("DELETE"))


# --- filters ------------------------------------------------------------------------------


async def _filter(w: World) -> tuple[str, dict[str, Any]]:
    _me, token = await w.user("alice")
    body = {"title": "Spoilers", "context": ["home"], "keywords_attributes": [{"keyword": "x"}]}
    return token, await w.ok("POST", "/api/v2/filters", token, json=body)


@scenario("POST /api/v2/filters")
async def _filter_create(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"title": "Spoilers", "context": ["home"], "keywords_attributes": [{"keyword": "x"}]}
    return Call("POST", "/api/v2/filters", token, kwargs={"json": body})


@scenario("PUT /api/v2/filters/{filter_id}")
async def _filter_update(w: World) -> Call:
    token, found = await _filter(w)
    body = {"json": {"title": "Plot"}}
    return Call("PUT", f"/api/v2/filters/{found['id']}", token, kwargs=body)


@scenario("DELETE /api/v2/filters/{filter_id}")
async def _filter_delete(w: World) -> Call:
    token, found = await _filter(w)
    return Call("DELETE", f"/api/v2/filters/{found['id']}", token)


@scenario("POST /api/v2/filters/{filter_id}/keywords")
async def _keyword_add(w: World) -> Call:
    token, found = await _filter(w)
    body = {"json": {"keyword": "y"}}
    return Call("POST", f"/api/v2/filters/{found['id']}/keywords", token, kwargs=body)


@scenario("PUT /api/v2/filters/keywords/{keyword_id}")
async def _keyword_update(w: World) -> Call:
    token, found = await _filter(w)
    keyword = found["keywords"][0]["id"]
    body = {"json": {"keyword": "z"}}
    return Call("PUT", f"/api/v2/filters/keywords/{keyword}", token, kwargs=body)


@scenario("DELETE /api/v2/filters/keywords/{keyword_id}")
async def _keyword_delete(w: World) -> Call:
    token, found = await _filter(w)
    keyword = found["keywords"][0]["id"]
    return Call("DELETE", f"/api/v2/filters/keywords/{keyword}", token)


async def _filtered_status(w: World) -> tuple[str, dict[str, Any], str]:
    token, found = await _filter(w)
    _bob, bob_token = await w.user("bob")
    status = await post_status(w.client, bob_token, "the ending")
    return token, found, str(status["id"])


@scenario("POST /api/v2/filters/{filter_id}/statuses")
async def _filter_status_add(w: World) -> Call:
    token, found, status_id = await _filtered_status(w)
    body = {"json": {"status_id": status_id}}
    return Call("POST", f"/api/v2/filters/{found['id']}/statuses", token, kwargs=body)


@scenario("DELETE /api/v2/filters/statuses/{row_id}")
async def _filter_status_delete(w: World) -> Call:
    token, found, status_id = await _filtered_status(w)
    url = f"/api/v2/filters/{found['id']}/statuses"
    row = await w.ok("POST", url, token, json={"status_id": status_id})
    return Call("DELETE", f"/api/v2/filters/statuses/{row['id']}", token)


@scenario("POST /api/v1/filters")
async def _v1_filter_create(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"phrase": "spoiler", "context": ["home"]}}
    return Call("POST", "/api/v1/filters", token, kwargs=body)


async def _v1_filter(w: World) -> tuple[str, str]:
    _me, token = await w.user("alice")
    made = await w.ok("POST", "/api/v1/filters", token, json={"phrase": "a", "context": ["home"]})
    return token, str(made["id"])


@scenario("PUT /api/v1/filters/{keyword_id}")
async def _v1_filter_update(w: World) -> Call:
    token, keyword = await _v1_filter(w)
    body = {"json": {"phrase": "b", "context": ["home"]}}
    return Call("PUT", f"/api/v1/filters/{keyword}", token, kwargs=body)


@scenario("DELETE /api/v1/filters/{keyword_id}")
async def _v1_filter_delete(w: World) -> Call:
    token, keyword = await _v1_filter(w)
    return Call("DELETE", f"/api/v1/filters/{keyword}", token)


# --- media --------------------------------------------------------------------------------


def _upload(version: str) -> Scenario:
    async def run(w: World) -> Call:
        _me, token = await w.user("alice")
        files = {"files": {"file": ("a.png", png(), "image/png")}}
        return Call("POST", f"/api/{version}/media", token, kwargs=files)

    return run


scenario("POST /api/v1/media")(_upload("v1"))
scenario("POST /api/v2/media")(_upload("v2"))


@scenario("PUT /api/v1/media/{media_id}")
async def _media_update(w: World) -> Call:
    _me, token = await w.user("alice")
    files = {"file": ("a.png", png(), "image/png")}
    media = await w.ok("POST", "/api/v2/media", token, files=files)
    body = {"data": {"description": "a square"}}
    return Call("PUT", f"/api/v1/media/{media['id']}", token, kwargs=body)


@scenario("DELETE /api/v1/media/{media_id}")
async def _media_delete(w: World) -> Call:
    _me, token = await w.user("alice")
    files = {"file": ("a.png", png(), "image/png")}
    media = await w.ok("POST", "/api/v2/media", token, files=files)
    return Call("DELETE", f"/api/v1/media/{media['id']}", token)


# --- accounts, OAuth, sessions, passwords, two-factor ------------------------------------


@scenario("POST /api/v1/apps")
async def _apps(w: World) -> Call:
    body = {"client_name": "Phone", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
    return Call("POST", "/api/v1/apps", kwargs={"json": body})


async def _oauth_app(w: World) -> dict[str, Any]:
    body = {"client_name": "Phone", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
    return dict(await w.ok("POST", "/api/v1/apps", None, json=body))


def _password_grant(oauth_app: dict[str, Any]) -> dict[str, str]:
    return {
        "grant_type": "password",
        "client_id": oauth_app["client_id"],
        "client_secret": oauth_app["client_secret"],
        "username": "alice@example.com",
        "password": STRONG_PASSWORD,
        "scope": "read",
    }


@scenario("POST /oauth/token")
async def _token(w: World) -> Call:
    await w.user("alice")
    body = _password_grant(await _oauth_app(w))
    return Call("POST", "/oauth/token", kwargs={"data": body})


@scenario("POST /oauth/revoke")
async def _revoke(w: World) -> Call:
    await w.user("alice")
    oauth_app = await _oauth_app(w)
    issued = await w.ok("POST", "/oauth/token", None, data=_password_grant(oauth_app))
    body = {
        "client_id": oauth_app["client_id"],
        "client_secret": oauth_app["client_secret"],
        "token": issued["access_token"],
    }
    return Call("POST", "/oauth/revoke", kwargs={"data": body})


@scenario("POST /oauth/authorize")
async def _authorize(w: World) -> Call:
    # Refused: approving needs the signed-in browser session and its form (tested in
    # tests/accounts/test_oauth_code_flow.py); the budget is of the refusal.
    oauth_app = await _oauth_app(w)
    body = {"client_id": oauth_app["client_id"], "response_type": "code"}
    return Call("POST", "/oauth/authorize", expect=403, kwargs={"data": body})


@scenario("DELETE /api/v1/connecthub/authorized_apps/{app_id}")
async def _revoke_app(w: World) -> Call:
    _me, token = await w.user("alice")
    oauth_app = await _oauth_app(w)
    await w.ok("POST", "/oauth/token", None, data=_password_grant(oauth_app))
    [listed] = await w.ok("GET", "/api/v1/connecthub/authorized_apps", token)
    return Call("DELETE", f"/api/v1/connecthub/authorized_apps/{listed['id']}", token)


@scenario("DELETE /api/v1/connecthub/sessions/{session_id}")
async def _end_session(w: World) -> Call:
    me, token = await w.user("alice")
    other = await create_token(w.app, me)
    sessions = await w.ok("GET", "/api/v1/connecthub/sessions", token)
    [other_session] = [s for s in sessions if not s.get("current")]
    del other
    return Call("DELETE", f"/api/v1/connecthub/sessions/{other_session['id']}", token)


@scenario("POST /api/v1/accounts")
async def _register(w: World) -> Call:
    app_token = await create_app_token(w.app)
    body = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": STRONG_PASSWORD,
        "agreement": "true",
        "locale": "en",
        "date_of_birth": "1990-01-01",
    }
    warm = "/api/v1/apps/verify_credentials"
    return Call("POST", "/api/v1/accounts", app_token, kwargs={"data": body}, warm=warm)


@scenario("PATCH /api/v1/accounts/update_credentials")
async def _update_credentials(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"data": {"display_name": "Alice", "note": "hello"}}
    return Call("PATCH", "/api/v1/accounts/update_credentials", token, kwargs=body)


@scenario("POST /api/v1/connecthub/password")
async def _password(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"current_password": STRONG_PASSWORD, "password": "a-new-kettle-orbit-92"}
    return Call("POST", "/api/v1/connecthub/password", token, kwargs={"data": body})


@scenario("POST /api/v1/connecthub/password_reset")
async def _password_reset(w: World) -> Call:
    await w.user("alice")
    body = {"data": {"email": "alice@example.com"}}
    return Call("POST", "/api/v1/connecthub/password_reset", expect=202, kwargs=body)


@scenario("POST /api/v1/connecthub/two_factor")
async def _two_factor_start(w: World) -> Call:
    _me, token = await w.user("alice")
    return Call("POST", TWO_FACTOR, token)


async def _two_factor_secret(w: World) -> tuple[str, str]:
    _me, token = await w.user("alice")
    started = await w.ok("POST", TWO_FACTOR, token)
    return token, str(started["secret"])


@scenario("POST /api/v1/connecthub/two_factor/confirm")
async def _two_factor_confirm(w: World) -> Call:
    token, secret = await _two_factor_secret(w)
    body = {"code": pyotp.TOTP(secret).now(), "password": STRONG_PASSWORD}
    return Call("POST", f"{TWO_FACTOR}/confirm", token, kwargs={"data": body})


@scenario("DELETE /api/v1/connecthub/two_factor")
async def _two_factor_off(w: World) -> Call:
    token, secret = await _two_factor_secret(w)
    body = {"code": pyotp.TOTP(secret).now(), "password": STRONG_PASSWORD}
    await w.ok("POST", f"{TWO_FACTOR}/confirm", token, data=body)
    body = {"code": next_totp(secret), "password": STRONG_PASSWORD}
    return Call("DELETE", TWO_FACTOR, token, kwargs={"data": body})


@scenario("PATCH /api/v1/connecthub/presence_settings")
async def _presence(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"hide_presence": True}}
    return Call("PATCH", "/api/v1/connecthub/presence_settings", token, kwargs=body)


@scenario("POST /api/v1/connecthub/account_deletion")
async def _account_deletion(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"password": STRONG_PASSWORD}}
    return Call("POST", "/api/v1/connecthub/account_deletion", token, expect=202, kwargs=body)


@scenario("POST /api/v1/exports")
async def _export(w: World) -> Call:
    _me, token = await w.user("alice")
    return Call("POST", "/api/v1/exports", token, expect=202)


@scenario("POST /api/v1/imports")
async def _import(w: World) -> Call:
    _me, token = await w.user("alice")
    await w.user("bob")
    data = b"bob@localhost:8000\ncarol@localhost:8000\n"
    files = {"data": ("blocked_accounts.csv", data, "text/csv")}
    body = {"data": {"type": "blocking"}, "files": files}
    return Call("POST", "/api/v1/imports", token, expect=202, kwargs=body)


# --- the server-rendered pages (forms with a CSRF token) ----------------------------------


async def _form(w: World, page: str, **fields: str) -> dict[str, str]:
    return {"authenticity_token": await csrf(w.client, page), **fields}


@scenario("POST /auth/sign_up")
async def _web_sign_up(w: World) -> Call:
    fields = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": STRONG_PASSWORD,
        "password_confirmation": STRONG_PASSWORD,
        "agreement": "1",
        "date_of_birth": "1990-01-01",
    }
    body = await _form(w, "/auth/sign_up", **fields)
    return Call("POST", "/auth/sign_up", expect=303, kwargs={"data": body})


@scenario("POST /auth/sign_in")
async def _web_sign_in(w: World) -> Call:
    await w.user("alice")
    body = await _form(w, "/auth/sign_in", email="alice@example.com", password=STRONG_PASSWORD)
    return Call("POST", "/auth/sign_in", expect=303, kwargs={"data": body})


@scenario("POST /auth/terms")
async def _web_accept_terms(w: World) -> Call:
    admin = await _admin(w)
    await w.ok("POST", f"{_DOCS}/{await _document(w, admin, '2020-01-01')}/publish", admin)
    await w.user("alice")
    body = await _form(w, "/auth/sign_in", email="alice@example.com", password=STRONG_PASSWORD)
    page = await w.client.post("/auth/sign_in", data=body)
    return Call("POST", "/auth/terms", expect=303, kwargs={"data": hidden_fields(page.text)})


@scenario("DELETE,POST /auth/sign_out")
async def _web_sign_out(w: World) -> Call:
    await w.user("alice")
    body = await _form(w, "/auth/sign_in", email="alice@example.com", password=STRONG_PASSWORD)
    await w.client.post("/auth/sign_in", data=body)
    return Call(
        "POST", "/auth/sign_out", expect=303, kwargs={"data": await _form(w, "/auth/sign_in")}
    )


@scenario("POST /auth/password")
async def _web_reset_request(w: World) -> Call:
    await w.user("alice")
    body = await _form(w, "/auth/password/new", email="alice@example.com")
    return Call("POST", "/auth/password", kwargs={"data": body})


def _web_reset(method: str) -> Scenario:
    async def run(w: World) -> Call:
        # Refused: a reset needs the link mailed to the user (tests/accounts/
        # test_passwords.py); without its form the request is refused (403).
        fields = {"reset_password_token": "not-a-token", "password": STRONG_PASSWORD}
        body = await _form(w, "/auth/password/new", **fields)
        return Call(method, "/auth/password", expect=403, kwargs={"data": body})

    return run


scenario("PUT /auth/password")(_web_reset("PUT"))


@scenario("POST,PUT /auth/password/edit")
async def _web_reset_edit(w: World) -> Call:
    fields = {"reset_password_token": "not-a-token", "password": STRONG_PASSWORD}
    body = await _form(w, "/auth/password/new", **fields)
    return Call("POST", "/auth/password/edit", expect=403, kwargs={"data": body})


def _oidc(step: str) -> Scenario:
    async def run(w: World) -> Call:
        # Refused: each step continues a sign-in begun at the provider (tests/accounts/
        # test_oidc.py runs one end to end); without it the step is refused (403).
        return Call("POST", f"/auth/oidc/example/{step}", expect=403, kwargs={"data": {}})

    return run


for _step in ("link", "sign-up", "two-factor"):
    scenario(f"POST /auth/oidc/{{provider}}/{_step}")(_oidc(_step))


# --- admin ---------------------------------------------------------------------------------


def _admin(verb: str, *, before: str | None = None, **target: Any) -> Scenario:
    async def run(w: World) -> Call:
        _mod, token = await staff(w.app, "moddy", Role.ADMIN)
        target_id, _t = await w.user("target", **target)
        if before is not None:
            await w.ok(
                "POST", f"/api/v1/admin/accounts/{target_id}/action", token, json={"type": before}
            )
        if verb == "action":
            body = {"json": {"type": "suspend"}}
            return Call("POST", f"/api/v1/admin/accounts/{target_id}/action", token, kwargs=body)
        if verb == "delete":
            return Call("DELETE", f"/api/v1/admin/accounts/{target_id}", token)
        return Call("POST", f"/api/v1/admin/accounts/{target_id}/{verb}", token)

    return run


scenario("POST /api/v1/admin/accounts/{account_id:id}/action")(_admin("action"))
scenario("POST /api/v1/admin/accounts/{account_id:id}/unsuspend")(
    _admin("unsuspend", before="suspend")
)
scenario("POST /api/v1/admin/accounts/{account_id:id}/enable")(_admin("enable", before="disable"))
scenario("POST /api/v1/admin/accounts/{account_id:id}/approve")(_admin("approve", approved=False))
scenario("DELETE /api/v1/admin/accounts/{account_id:id}")(_admin("delete", before="suspend"))
scenario("POST /api/v1/admin/accounts/{account_id:id}/unsilence")(
    _admin("unsilence", before="silence")
)
scenario("POST /api/v1/admin/accounts/{account_id:id}/unsensitive")(
    _admin("unsensitive", before="sensitive")
)
scenario("POST /api/v1/admin/accounts/{account_id:id}/reject")(_admin("reject", approved=False))


# --- strikes and appeals ---------------------------------------------------------------------


async def _struck(w: World) -> tuple[str, str, str]:
    """A moderator's token, a limited user's token and the user's strike id."""
    _mod, mod_token = await staff(w.app, "moddy", Role.ADMIN)
    target_id, token = await w.user("target")
    path = f"/api/v1/admin/accounts/{target_id}/action"
    await w.ok("POST", path, mod_token, json={"type": "silence", "text": "loud"})
    [strike] = await w.ok("GET", "/api/v1/strikes", token)
    return mod_token, token, strike["id"]


@scenario("POST /api/v1/strikes/{strike_id:id}/appeal")
async def _appeal_strike(w: World) -> Call:
    _mod_token, token, strike_id = await _struck(w)
    body = {"json": {"text": "It was a joke"}}
    return Call("POST", f"/api/v1/strikes/{strike_id}/appeal", token, kwargs=body)


def _decide(verb: str) -> Scenario:
    async def run(w: World) -> Call:
        mod_token, token, strike_id = await _struck(w)
        body = {"text": "It was a joke"}
        await w.ok("POST", f"/api/v1/strikes/{strike_id}/appeal", token, json=body)
        [appeal] = await w.ok("GET", "/api/v1/admin/appeals", mod_token)
        return Call("POST", f"/api/v1/admin/appeals/{appeal['id']}/{verb}", mod_token)

    return run


scenario("POST /api/v1/admin/appeals/{appeal_id:id}/approve")(_decide("approve"))
scenario("POST /api/v1/admin/appeals/{appeal_id:id}/reject")(_decide("reject"))


# --- admin dashboard (POSTs that read) ---------------------------------------------------------


def _dashboard(path: str, **body: Any) -> Scenario:
    async def run(w: World) -> Call:
        _admin_account, token = await staff(w.app, "watcher")
        window = {"start_at": "2026-03-01", "end_at": "2026-03-07", **body}
        return Call("POST", f"/api/v1/admin/{path}", token, kwargs={"json": window})

    return run


scenario("POST /api/v1/admin/measures")(
    _dashboard("measures", keys=["active_users", "new_users", "interactions"])
)
scenario("POST /api/v1/admin/dimensions")(_dashboard("dimensions", keys=["languages"]))
scenario("POST /api/v1/admin/retention")(_dashboard("retention"))


# --- reports ---------------------------------------------------------------------------------


async def _reported(w: World, **fields: Any) -> tuple[str, str, str]:
    """A report with one status of its target; (report id, status id, moderator token)."""
    _mod, token = await staff(w.app, "moddy")
    _reporter, reporter_token = await w.user("reporter")
    target_id, target_token = await w.user("target")
    status = await post_status(w.client, target_token, "rude")
    body = {"account_id": str(target_id), "status_ids": [status["id"]], **fields}
    report = await w.ok("POST", "/api/v1/reports", reporter_token, json=body)
    return report["id"], status["id"], token


@scenario("POST /api/v1/reports")
async def _file_report(w: World) -> Call:
    await staff(w.app, "moddy")  # a moderator to tell
    _reporter, token = await w.user("reporter")
    target_id, target_token = await w.user("target")
    status = await w.read(await post_status(w.client, target_token, "rude"))
    body = {"account_id": str(target_id), "status_ids": [status["id"]], "rule_ids": ["1"]}
    return Call("POST", "/api/v1/reports", token, kwargs={"json": body})


def _report_verb(verb: str, before: str | None = None) -> Scenario:
    async def run(w: World) -> Call:
        report_id, _status_id, token = await _reported(w)
        if before is not None:
            await w.ok("POST", f"/api/v1/admin/reports/{report_id}/{before}", token)
        return Call("POST", f"/api/v1/admin/reports/{report_id}/{verb}", token)

    return run


for _verb, _before in (
    ("assign_to_self", None),
    ("unassign", "assign_to_self"),
    ("resolve", None),
    ("reopen", "resolve"),
):
    scenario(f"POST /api/v1/admin/reports/{{report_id:id}}/{_verb}")(_report_verb(_verb, _before))


@scenario("PUT /api/v1/admin/reports/{report_id:id}")
async def _update_report(w: World) -> Call:
    report_id, _status_id, token = await _reported(w)
    body = {"json": {"category": "violation", "rule_ids": ["2"]}}
    return Call("PUT", f"/api/v1/admin/reports/{report_id}", token, kwargs=body)


@scenario("POST /api/v1/admin/reports/{report_id:id}/notes")
async def _add_report_note(w: World) -> Call:
    report_id, _status_id, token = await _reported(w)
    body = {"json": {"content": "looked at it"}}
    return Call("POST", f"/api/v1/admin/reports/{report_id}/notes", token, kwargs=body)


@scenario("DELETE /api/v1/admin/reports/{report_id:id}/notes/{note_id:id}")
async def _delete_report_note(w: World) -> Call:
    report_id, _status_id, token = await _reported(w)
    url = f"/api/v1/admin/reports/{report_id}/notes"
    note = await w.ok("POST", url, token, json={"content": "looked at it"})
    return Call("DELETE", f"{url}/{note['id']}", token)


def _report_status(verb: str) -> Scenario:
    async def run(w: World) -> Call:
        report_id, status_id, token = await _reported(w)
        url = f"/api/v1/admin/reports/{report_id}/statuses/{status_id}/{verb}"
        return Call("POST", url, token)

    return run


for _verb in ("delete", "sensitive"):
    scenario(f"POST /api/v1/admin/reports/{{report_id:id}}/statuses/{{status_id:id}}/{_verb}")(
        _report_status(_verb)
    )


# --- statuses held for review (docs/status-review.md) ------------------------------------------


def _held_status(verb: str) -> Scenario:
    """A moderator decides on a held status (held directly in the table: the scenarios'
    app runs with STATUS_REVIEW off); its author has a follower to fan out to."""

    async def run(w: World) -> Call:
        _mod, token = await staff(w.app, "moddy")
        author_id, author_token = await w.user("author")
        _follower_id, follower_token = await w.user("follower")
        await w.ok("POST", f"/api/v1/accounts/{author_id}/follow", follower_token)
        status = await post_status(w.client, author_token, "held back @follower")
        async with w.app.state.engines.db.transaction() as session:
            await session.execute(
                update(Status).where(Status.id == int(status["id"])).values(held_reason="review")
            )
        url = f"/api/v1/admin/held_statuses/{status['id']}/{verb}"
        return Call("POST", url, token, kwargs={"json": {"text": "no"}} if verb == "reject" else {})

    return run


for _verb in ("approve", "reject"):
    scenario(f"POST /api/v1/admin/held_statuses/{{status_id:id}}/{_verb}")(_held_status(_verb))


# --- denylists (docs/denylists.md) ------------------------------------------------------------


def _blocks(
    method: str, path: str, *, existing: dict[str, Any] | None = None, **body: Any
) -> Scenario:
    """An admin changes a block list (`existing`: a block made first, its id in the path)."""

    async def run(w: World) -> Call:
        _admin_account, token = await staff(w.app, "blocker", Role.ADMIN)
        url = f"/api/v1/admin/{path}"
        if existing is not None:
            made = await w.ok("POST", url, token, json=existing)
            url = f"{url}/{made['id']}"
        return Call(method, url, token, kwargs={"json": body} if body else {})

    return run


_IP = {"ip": "192.0.2.0/24", "severity": "sign_up_block"}
scenario("POST /api/v1/admin/ip_blocks")(_blocks("POST", "ip_blocks", **_IP))
scenario("PUT /api/v1/admin/ip_blocks/{block_id:id}")(
    _blocks("PUT", "ip_blocks", existing=_IP, severity="no_access")
)
scenario("DELETE /api/v1/admin/ip_blocks/{block_id:id}")(
    _blocks("DELETE", "ip_blocks", existing=_IP)
)
scenario("POST /api/v1/admin/email_domain_blocks")(
    _blocks("POST", "email_domain_blocks", domain="spam.example")
)
scenario("DELETE /api/v1/admin/email_domain_blocks/{block_id:id}")(
    _blocks("DELETE", "email_domain_blocks", existing={"domain": "spam.example"})
)
scenario("POST /api/v1/admin/canonical_email_blocks")(
    _blocks("POST", "canonical_email_blocks", email="jdoe@mail.example")
)
scenario("POST /api/v1/admin/canonical_email_blocks/test")(
    _blocks("POST", "canonical_email_blocks/test", email="jdoe@mail.example")
)
scenario("DELETE /api/v1/admin/canonical_email_blocks/{block_id:id}")(
    _blocks("DELETE", "canonical_email_blocks", existing={"email": "jdoe@mail.example"})
)


# --- feature flags ---------------------------------------------------------------------------

_FLAG = {"key": "canary", "kind": "boolean", "default_value": False}


def _flags(method: str, suffix: str = "", *, exists: bool = True, **body: Any) -> Scenario:
    async def run(w: World) -> Call:
        _admin_account, token = await staff(w.app, "flagger", Role.ADMIN)
        if exists:
            await w.ok("POST", "/api/v1/admin/flags", token, json=_FLAG)
        url = "/api/v1/admin/flags" + (f"/canary{suffix}" if exists else "")
        kwargs = {"json": body or _FLAG} if method != "DELETE" else {}
        return Call(method, url, token, kwargs=kwargs)

    return run


scenario("POST /api/v1/admin/flags")(_flags("POST", exists=False))
scenario("PATCH /api/v1/admin/flags/{key}")(_flags("PATCH", description="Try it"))
scenario("POST /api/v1/admin/flags/{key}/kill")(_flags("POST", "/kill", enabled=False))
scenario("POST /api/v1/admin/flags/{key}/enable")(_flags("POST", "/enable", enabled=True))
scenario("POST /api/v1/admin/flags/{key}/rollout")(_flags("POST", "/rollout", percentage=10))
scenario("DELETE /api/v1/admin/flags/{key}")(_flags("DELETE"))


# --- custom emojis, announcements, e-mail confirmation, userinfo ----------------------------


async def _admin(w: World) -> str:
    _admin_account, token = await staff(w.app, "boss", Role.ADMIN)
    return token


async def _emoji(w: World, token: str) -> dict[str, Any]:
    files = {"image": ("blob.png", png(), "image/png")}
    created: dict[str, Any] = await w.ok(
        "POST", "/api/v1/admin/custom_emojis", token, files=files, data={"shortcode": "blob"}
    )
    return created


@scenario("POST /api/v1/admin/custom_emojis")
async def _emoji_create(w: World) -> Call:
    token = await _admin(w)
    files = {"image": ("blob.png", png(), "image/png")}
    body = {"files": files, "data": {"shortcode": "blob", "category": "blobs"}}
    return Call("POST", "/api/v1/admin/custom_emojis", token, kwargs=body)


@scenario("PATCH /api/v1/admin/custom_emojis/{emoji_id:id}")
async def _emoji_update(w: World) -> Call:
    token = await _admin(w)
    emoji = await _emoji(w, token)
    body = {"json": {"category": "round", "visible_in_picker": False}}
    return Call("PATCH", f"/api/v1/admin/custom_emojis/{emoji['id']}", token, kwargs=body)


@scenario("DELETE /api/v1/admin/custom_emojis/{emoji_id:id}")
async def _emoji_delete(w: World) -> Call:
    token = await _admin(w)
    emoji = await _emoji(w, token)
    return Call("DELETE", f"/api/v1/admin/custom_emojis/{emoji['id']}", token)


async def _announcement(w: World) -> tuple[str, str]:
    token = await _admin(w)
    created = await w.ok("POST", "/api/v1/admin/announcements", token, json={"text": "Hi"})
    return token, str(created["id"])


@scenario("POST /api/v1/admin/announcements")
async def _announcement_create(w: World) -> Call:
    token = await _admin(w)
    body = {"json": {"text": "Maintenance tonight", "starts_at": "2030-01-01T20:00:00Z"}}
    return Call("POST", "/api/v1/admin/announcements", token, kwargs=body)


@scenario("PUT /api/v1/admin/announcements/{announcement_id:id}")
async def _announcement_update(w: World) -> Call:
    token, found = await _announcement(w)
    body = {"json": {"text": "Maintenance at ten"}}
    return Call("PUT", f"/api/v1/admin/announcements/{found}", token, kwargs=body)


@scenario("DELETE /api/v1/admin/announcements/{announcement_id:id}")
async def _announcement_delete(w: World) -> Call:
    token, found = await _announcement(w)
    return Call("DELETE", f"/api/v1/admin/announcements/{found}", token)


@scenario("POST /api/v1/announcements/{announcement_id:id}/dismiss")
async def _announcement_dismiss(w: World) -> Call:
    _admin_token, found = await _announcement(w)
    _me, token = await w.user("alice")
    return Call("POST", f"/api/v1/announcements/{found}/dismiss", token)


@scenario("PUT /api/v1/announcements/{announcement_id:id}/reactions/{name}")
async def _reaction_add(w: World) -> Call:
    _admin_token, found = await _announcement(w)
    _me, token = await w.user("alice")
    return Call("PUT", f"/api/v1/announcements/{found}/reactions/\N{THUMBS UP SIGN}", token)


@scenario("DELETE /api/v1/announcements/{announcement_id:id}/reactions/{name}")
async def _reaction_remove(w: World) -> Call:
    _admin_token, found = await _announcement(w)
    _me, token = await w.user("alice")
    url = f"/api/v1/announcements/{found}/reactions/\N{THUMBS UP SIGN}"
    await w.ok("PUT", url, token)
    return Call("DELETE", url, token)


@scenario("POST /api/v1/emails/confirmations")
async def _resend_confirmation(w: World) -> Call:
    _me, token = await w.user("alice", confirmed=False)
    body = {"json": {"email": "alice@example.net"}}
    return Call("POST", "/api/v1/emails/confirmations", token, kwargs=body, warm="/api/v1/instance")


@scenario("POST /oauth/userinfo")
async def _userinfo(w: World) -> Call:
    _me, token = await w.user("alice")
    return Call("POST", "/oauth/userinfo", token)


# --- scheduled statuses ---------------------------------------------------------------------


async def _scheduled(w: World) -> tuple[str, dict[str, Any]]:
    _me, token = await w.user("alice")
    when = (utcnow() + timedelta(hours=1)).isoformat()
    body = {"status": "later", "scheduled_at": when}
    return token, await w.ok("POST", "/api/v1/statuses", token, json=body)


@scenario("PUT /api/v1/scheduled_statuses/{scheduled_id}")
async def _reschedule(w: World) -> Call:
    token, row = await _scheduled(w)
    body = {"json": {"scheduled_at": (utcnow() + timedelta(hours=2)).isoformat()}}
    return Call("PUT", f"/api/v1/scheduled_statuses/{row['id']}", token, kwargs=body)


@scenario("DELETE /api/v1/scheduled_statuses/{scheduled_id}")
async def _cancel_scheduled(w: World) -> Call:
    token, row = await _scheduled(w)
    return Call("DELETE", f"/api/v1/scheduled_statuses/{row['id']}", token)


# --- push subscriptions -------------------------------------------------------------------


def _push(method: str, subscribed: bool = True) -> Scenario:
    async def run(w: World) -> Call:
        from tests.push.support import Device

        _me, token = await w.user("alice")
        body = {
            "subscription": {"endpoint": "https://push.example.net/x", "keys": Device().keys()},
            "data": {"alerts": {"mention": True}, "policy": "all"},
        }
        if subscribed:
            await w.ok("POST", "/api/v1/push/subscription", token, json=body)
        kwargs = {"json": body} if method != "DELETE" else {}
        return Call(method, "/api/v1/push/subscription", token, kwargs=kwargs)

    return run


scenario("POST /api/v1/push/subscription")(_push("POST"))
scenario("PUT /api/v1/push/subscription")(_push("PUT"))
scenario("DELETE /api/v1/push/subscription")(_push("DELETE"))


# --- explore: suggestions, trends review ------------------------------------------------------


@scenario("DELETE /api/v1/suggestions/{account_id:id}")
async def _dismiss_suggestion(w: World) -> Call:
    _me, token = await w.user("alice")
    bob, _ = await w.user("bob")
    return Call("DELETE", f"/api/v1/suggestions/{bob}", token)


def _trend_review(kind: str, verdict: str) -> Scenario:
    async def run(w: World) -> Call:
        _mod, token = await staff(w.app, "moira")
        _me, mine = await w.user("alice")
        posted = await post_status(w.client, mine, "#news https://news.example/story")
        async with w.app.state.engines.db.transaction() as session:
            if kind == "tags":
                item = await session.scalar(select(Tag.id).where(Tag.name_key == "news"))
            elif kind == "links":
                card = PreviewCard(url="https://news.example/story", title="Story")
                session.add(card)
                await session.flush()
                item = card.id
            else:
                item = int(posted["id"])
        return Call("POST", f"/api/v1/admin/trends/{kind}/{item}/{verdict}", token)

    return run


for _kind in ("tags", "statuses", "links"):
    for _verdict in ("approve", "reject"):
        scenario(f"POST /api/v1/admin/trends/{_kind}/{{item_id:id}}/{_verdict}")(
            _trend_review(_kind, _verdict)
        )


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    sqlite: int
    postgresql: int


# Statements per request: Budget(sqlite, postgresql).
# --- privacy: legal documents, terms acceptance, consents, settings -----------------------

_DOCS = "/api/v1/admin/legal_documents"


async def _document(w: World, token: str, effective: str = "2030-01-01") -> str:
    body = {"kind": "terms_of_service", "text": "Be kind.", "effective_date": effective}
    return str((await w.ok("POST", _DOCS, token, json=body))["id"])


@scenario("POST /api/v1/admin/legal_documents")
async def _document_create(w: World) -> Call:
    token = await _admin(w)
    body = {"json": {"kind": "privacy_policy", "text": "# Ours", "effective_date": "2030-01-01"}}
    return Call("POST", _DOCS, token, kwargs=body)


@scenario("PUT /api/v1/admin/legal_documents/{document_id:id}")
async def _document_update(w: World) -> Call:
    token = await _admin(w)
    found = await _document(w, token)
    return Call("PUT", f"{_DOCS}/{found}", token, kwargs={"json": {"text": "Be kinder."}})


@scenario("POST /api/v1/admin/legal_documents/{document_id:id}/publish")
async def _document_publish(w: World) -> Call:
    token = await _admin(w)
    return Call("POST", f"{_DOCS}/{await _document(w, token)}/publish", token)


@scenario("DELETE /api/v1/admin/legal_documents/{document_id:id}")
async def _document_delete(w: World) -> Call:
    token = await _admin(w)
    return Call("DELETE", f"{_DOCS}/{await _document(w, token)}", token)


@scenario("POST /api/v1/connecthub/terms_acceptance")
async def _accept_terms(w: World) -> Call:
    admin = await _admin(w)
    await w.ok("POST", f"{_DOCS}/{await _document(w, admin, '2020-01-01')}/publish", admin)
    _me, token = await w.user("alice")
    body = {"json": {"version": "2020-01-01"}}
    return Call("POST", "/api/v1/connecthub/terms_acceptance", token, kwargs=body)


@scenario("POST /api/v1/connecthub/consents/{purpose}")
async def _grant_consent(w: World) -> Call:
    _me, token = await w.user("alice")
    return Call("POST", "/api/v1/connecthub/consents/analytics", token)


@scenario("DELETE /api/v1/connecthub/consents/{purpose}")
async def _withdraw_consent(w: World) -> Call:
    _me, token = await w.user("alice")
    await w.ok("POST", "/api/v1/connecthub/consents/analytics", token)
    return Call("DELETE", "/api/v1/connecthub/consents/analytics", token)


@scenario("PATCH /api/v1/connecthub/privacy_settings")
async def _privacy_settings(w: World) -> Call:
    _me, token = await w.user("alice")
    body = {"json": {"direct_messages_from": "followers"}}
    return Call("PATCH", "/api/v1/connecthub/privacy_settings", token, kwargs=body)


BUDGETS: dict[str, Budget] = {
    "DELETE /api/v1/admin/accounts/{account_id:id}": Budget(13, 13),
    "DELETE /api/v1/admin/flags/{key}": Budget(7, 6),
    "PATCH /api/v1/admin/flags/{key}": Budget(7, 6),
    "POST /api/v1/admin/flags": Budget(7, 6),
    "POST /api/v1/admin/flags/{key}/enable": Budget(2, 1),
    "POST /api/v1/admin/flags/{key}/kill": Budget(7, 6),
    "POST /api/v1/admin/flags/{key}/rollout": Budget(8, 7),
    "DELETE /api/v1/connecthub/authorized_apps/{app_id}": Budget(4, 3),
    "DELETE /api/v1/connecthub/sessions/{session_id}": Budget(3, 2),
    "DELETE /api/v1/connecthub/two_factor": Budget(4, 3),
    "DELETE /api/v1/conversations/{conversation_id}": Budget(2, 1),
    "DELETE /api/v1/filters/{keyword_id}": Budget(3, 2),
    "DELETE /api/v1/lists/{list_id}": Budget(4, 3),
    "DELETE /api/v1/lists/{list_id}/accounts": Budget(3, 2),
    "DELETE /api/v1/featured_tags/{row_id:id}": Budget(3, 2),
    "DELETE /api/v1/profile/avatar": Budget(5, 4),
    "DELETE /api/v1/profile/header": Budget(5, 4),
    "DELETE /api/v1/scheduled_statuses/{scheduled_id}": Budget(4, 3),
    "DELETE /api/v1/media/{media_id}": Budget(5, 4),
    "DELETE /api/v1/statuses/{status_id}": Budget(8, 7),
    "DELETE /api/v2/filters/keywords/{keyword_id}": Budget(3, 2),
    "DELETE /api/v2/filters/statuses/{row_id}": Budget(3, 2),
    "DELETE /api/v2/filters/{filter_id}": Budget(5, 4),
    "DELETE,POST /auth/sign_out": Budget(4, 3),
    # A changed display name or bio queues its detection score (the outbox INSERT).
    "PATCH /api/v1/accounts/update_credentials": Budget(4, 3),
    "PATCH /api/v1/connecthub/presence_settings": Budget(2, 1),
    "POST /api/v1/accounts": Budget(15, 14),
    "POST /api/v1/accounts/{account_id:id}/block": Budget(12, 11),
    "POST /api/v1/accounts/{account_id:id}/follow": Budget(16, 15),
    "POST /api/v1/accounts/{account_id:id}/mute": Budget(10, 9),
    "POST /api/v1/accounts/{account_id:id}/unblock": Budget(6, 5),
    "POST /api/v1/accounts/{account_id:id}/unfollow": Budget(10, 9),
    "POST /api/v1/accounts/{account_id:id}/unmute": Budget(6, 5),
    "POST /api/v1/accounts/{account_id:id}/note": Budget(6, 5),
    "POST /api/v1/accounts/{account_id:id}/remove_from_followers": Budget(9, 8),
    "POST /api/v1/accounts/{account_id:id}/endorse": Budget(7, 6),
    "POST /api/v1/accounts/{account_id:id}/pin": Budget(7, 6),
    "POST /api/v1/accounts/{account_id:id}/unendorse": Budget(6, 5),
    "POST /api/v1/accounts/{account_id:id}/unpin": Budget(6, 5),
    "POST /api/v1/featured_tags": Budget(6, 5),
    # The action, its strike and the strike's notification (rendered for the stream).
    "POST /api/v1/admin/accounts/{account_id:id}/action": Budget(15, 15),
    "POST /api/v1/reports": Budget(11, 10),
    "PUT /api/v1/admin/reports/{report_id:id}": Budget(8, 8),
    "POST /api/v1/admin/reports/{report_id:id}/assign_to_self": Budget(8, 8),
    "POST /api/v1/admin/reports/{report_id:id}/unassign": Budget(8, 8),
    "POST /api/v1/admin/reports/{report_id:id}/resolve": Budget(10, 10),
    "POST /api/v1/admin/reports/{report_id:id}/reopen": Budget(9, 9),
    "POST /api/v1/admin/reports/{report_id:id}/notes": Budget(8, 8),
    "DELETE /api/v1/admin/reports/{report_id:id}/notes/{note_id:id}": Budget(6, 6),
    "POST /api/v1/admin/reports/{report_id:id}/statuses/{status_id:id}/delete": Budget(14, 14),
    "POST /api/v1/admin/reports/{report_id:id}/statuses/{status_id:id}/sensitive": Budget(10, 10),
    "POST /api/v1/admin/held_statuses/{status_id:id}/approve": Budget(21, 21),
    "POST /api/v1/admin/held_statuses/{status_id:id}/reject": Budget(23, 23),
    "POST /api/v1/admin/accounts/{account_id:id}/approve": Budget(7, 7),
    "POST /api/v1/admin/accounts/{account_id:id}/enable": Budget(7, 7),
    "POST /api/v1/admin/accounts/{account_id:id}/unsuspend": Budget(7, 7),
    "POST /api/v1/admin/accounts/{account_id:id}/unsilence": Budget(7, 7),
    "POST /api/v1/admin/accounts/{account_id:id}/unsensitive": Budget(7, 7),
    "POST /api/v1/admin/accounts/{account_id:id}/reject": Budget(16, 16),
    "POST /api/v1/strikes/{strike_id:id}/appeal": Budget(6, 6),
    "POST /api/v1/admin/appeals/{appeal_id:id}/approve": Budget(9, 9),
    "POST /api/v1/admin/appeals/{appeal_id:id}/reject": Budget(7, 7),
    "POST /api/v1/apps": Budget(2, 1),
    "POST /api/v1/connecthub/account_deletion": Budget(14, 14),
    "POST /api/v1/exports": Budget(4, 3),
    "POST /api/v1/imports": Budget(4, 3),
    "POST /api/v1/connecthub/conversations/{conversation_id}/typing": Budget(5, 4),
    "POST /api/v1/connecthub/password": Budget(5, 4),
    "POST /api/v1/connecthub/password_reset": Budget(3, 2),
    "POST /api/v1/connecthub/two_factor": Budget(3, 2),
    "POST /api/v1/connecthub/two_factor/confirm": Budget(4, 3),
    "POST /api/v1/conversations/{conversation_id}/read": Budget(5, 4),
    "POST /api/v1/filters": Budget(5, 4),
    "POST /api/v1/follow_requests/{account_id:id}/authorize": Budget(12, 11),
    "POST /api/v1/follow_requests/{account_id:id}/reject": Budget(5, 4),
    "POST /api/v1/lists": Budget(2, 1),
    "POST /api/v1/lists/{list_id}/accounts": Budget(5, 4),
    "POST /api/v1/markers": Budget(3, 2),
    "POST /api/v1/media": Budget(4, 3),
    "POST /api/v1/notifications/clear": Budget(2, 1),
    "POST /api/v1/notifications/requests/accept": Budget(5, 4),
    "POST /api/v1/notifications/requests/dismiss": Budget(4, 3),
    "POST /api/v1/notifications/requests/{request_id}/accept": Budget(5, 4),
    "POST /api/v1/notifications/requests/{request_id}/dismiss": Budget(4, 3),
    "PATCH /api/v2/notifications/policy": Budget(4, 3),
    "PATCH /api/v1/notifications/policy": Budget(4, 3),
    "POST /api/v1/admin/measures": Budget(9, 8),
    "POST /api/v1/admin/dimensions": Budget(2, 1),
    "POST /api/v1/admin/retention": Budget(2, 1),
    "POST /api/v1/notifications/{notification_id}/dismiss": Budget(2, 1),
    "POST /api/v2/notifications/{group_key}/dismiss": Budget(2, 1),
    "POST /api/v1/polls/{poll_id}/votes": Budget(16, 15),
    "POST /api/v1/statuses": Budget(5, 4),
    "POST /api/v1/statuses/{status_id}/bookmark": Budget(6, 5),
    "POST /api/v1/statuses/{status_id}/mute": Budget(4, 3),
    "POST /api/v1/statuses/{status_id}/favourite": Budget(19, 18),
    "POST /api/v1/statuses/{status_id}/pin": Budget(7, 6),
    "POST /api/v1/statuses/{status_id}/reblog": Budget(24, 23),
    "POST /api/v1/statuses/{status_id}/unbookmark": Budget(5, 4),
    "POST /api/v1/statuses/{status_id}/unfavourite": Budget(12, 11),
    "POST /api/v1/statuses/{status_id}/unmute": Budget(4, 3),
    "POST /api/v1/statuses/{status_id}/unpin": Budget(5, 4),
    "POST /api/v1/statuses/{status_id}/unreblog": Budget(14, 13),
    "POST /api/v1/tags/{name}/follow": Budget(5, 4),
    "POST /api/v1/tags/{name}/unfollow": Budget(5, 4),
    "POST /api/v2/filters": Budget(6, 5),
    "POST /api/v2/filters/{filter_id}/keywords": Budget(4, 3),
    "POST /api/v2/filters/{filter_id}/statuses": Budget(7, 6),
    "POST /api/v2/media": Budget(4, 3),
    "POST /auth/oidc/{provider}/link": Budget(0, 0),
    "POST /auth/oidc/{provider}/sign-up": Budget(0, 0),
    "POST /auth/oidc/{provider}/two-factor": Budget(0, 0),
    "POST /auth/password": Budget(3, 2),
    "POST /auth/sign_in": Budget(9, 9),
    "POST /auth/terms": Budget(7, 6),
    "POST /auth/sign_up": Budget(15, 14),
    "POST /oauth/authorize": Budget(0, 0),
    "POST /oauth/revoke": Budget(4, 3),
    "POST /oauth/token": Budget(10, 10),
    "POST,PUT /auth/password/edit": Budget(0, 0),
    "PUT /api/v1/filters/{keyword_id}": Budget(6, 5),
    "PUT /api/v1/lists/{list_id}": Budget(3, 2),
    "PUT /api/v1/media/{media_id}": Budget(3, 2),
    "PUT /api/v1/scheduled_statuses/{scheduled_id}": Budget(6, 5),
    "PUT /api/v1/statuses/{status_id}": Budget(18, 17),
    "PUT /api/v2/filters/keywords/{keyword_id}": Budget(3, 2),
    "PUT /api/v2/filters/{filter_id}": Budget(7, 6),
    "PUT /auth/password": Budget(0, 0),
    "DELETE /api/v1/admin/announcements/{announcement_id:id}": Budget(4, 3),
    "POST /api/v1/admin/legal_documents": Budget(3, 2),
    "PUT /api/v1/admin/legal_documents/{document_id:id}": Budget(3, 2),
    "POST /api/v1/admin/legal_documents/{document_id:id}/publish": Budget(5, 5),
    "DELETE /api/v1/admin/legal_documents/{document_id:id}": Budget(3, 2),
    "POST /api/v1/connecthub/terms_acceptance": Budget(4, 3),
    "POST /api/v1/connecthub/consents/{purpose}": Budget(4, 3),
    "DELETE /api/v1/connecthub/consents/{purpose}": Budget(4, 3),
    "PATCH /api/v1/connecthub/privacy_settings": Budget(3, 2),
    "DELETE /api/v1/admin/custom_emojis/{emoji_id:id}": Budget(7, 7),
    "DELETE /api/v1/announcements/{announcement_id:id}/reactions/{name}": Budget(5, 4),
    "PATCH /api/v1/admin/custom_emojis/{emoji_id:id}": Budget(5, 5),
    "POST /api/v1/admin/announcements": Budget(4, 3),
    "POST /api/v1/admin/custom_emojis": Budget(5, 5),
    "POST /api/v1/announcements/{announcement_id:id}/dismiss": Budget(3, 2),
    "POST /api/v1/emails/confirmations": Budget(7, 5),
    "POST /oauth/userinfo": Budget(2, 1),
    "PUT /api/v1/admin/announcements/{announcement_id:id}": Budget(5, 4),
    "PUT /api/v1/announcements/{announcement_id:id}/reactions/{name}": Budget(6, 5),
    "POST /api/v1/push/subscription": Budget(3, 2),
    "PUT /api/v1/push/subscription": Budget(3, 2),
    "DELETE /api/v1/push/subscription": Budget(2, 1),
    "POST /api/v1/statuses/{status_id}/translate": Budget(2, 1),
    "POST /api/v1/domain_blocks": Budget(3, 2),
    "DELETE /api/v1/domain_blocks": Budget(2, 1),
    "DELETE /api/v1/suggestions/{account_id:id}": Budget(4, 3),
    "POST /api/v1/admin/trends/tags/{item_id:id}/approve": Budget(10, 10),
    "POST /api/v1/admin/trends/tags/{item_id:id}/reject": Budget(10, 10),
    "POST /api/v1/admin/trends/statuses/{item_id:id}/approve": Budget(13, 13),
    "POST /api/v1/admin/trends/statuses/{item_id:id}/reject": Budget(13, 13),
    "POST /api/v1/admin/trends/links/{item_id:id}/approve": Budget(9, 9),
    "POST /api/v1/admin/trends/links/{item_id:id}/reject": Budget(9, 9),
    "DELETE /api/v1/admin/canonical_email_blocks/{block_id:id}": Budget(5, 5),
    "DELETE /api/v1/admin/email_domain_blocks/{block_id:id}": Budget(5, 5),
    "DELETE /api/v1/admin/ip_blocks/{block_id:id}": Budget(5, 5),
    "POST /api/v1/admin/canonical_email_blocks": Budget(5, 5),
    "POST /api/v1/admin/canonical_email_blocks/test": Budget(2, 1),
    "POST /api/v1/admin/email_domain_blocks": Budget(5, 5),
    "POST /api/v1/admin/ip_blocks": Budget(5, 5),
    "PUT /api/v1/admin/ip_blocks/{block_id:id}": Budget(5, 5),
}


def _write_routes(app: FastAPI) -> Iterator[str]:
    """ "METHODS /path" of every write route, routers included (walked, not imported)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                yield from walk(original.routes, prefix + route.include_context.prefix)
            else:
                yield prefix + getattr(route, "path", ""), route

    for path, route in walk(list(app.routes), ""):
        methods = sorted(set(getattr(route, "methods", None) or ()) - {"GET", "HEAD", "OPTIONS"})
        if methods:
            yield f"{','.join(methods)} {path}"


def test_every_write_route_has_a_budget(app: FastAPI) -> None:
    routes = set(_write_routes(app))
    assert len(routes) > 50  # the walk found the routers
    assert sorted(routes - set(SCENARIOS)) == []
    assert sorted(routes - set(BUDGETS)) == []
    assert sorted(set(SCENARIOS) - routes) == []  # a removed route leaves no stale entry


async def _invalidations_settled(app: FastAPI) -> None:
    """The entity cache's background invalidations (the delayed repeat runs at once in tests,
    but as its own task) done before the warm-up: one landing after it, on a loaded machine,
    dropped an entry the warm-up had just filled, and the route read it again (one more
    statement than its budget)."""
    cache = app.state.engines.db.entity_cache
    for _ in range(100):
        await asyncio.sleep(0)  # lets a repeat scheduled with call_later(0) start its task
        # Only this app's: an earlier test's (the worker's tests share one event loop) may be
        # a retry of an outage test, sleeping for seconds.
        pending = set(cache.background)
        if not pending:
            return
        await asyncio.gather(*pending, return_exceptions=True)


@pytest.mark.slow
@pytest.mark.parametrize("route", sorted(SCENARIOS))
async def test_write_route_runs_its_exact_budget(
    route: str, app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = World(app, client)
    call = await SCENARIOS[route](world)
    await settle(app)
    await _invalidations_settled(app)
    if call.token is not None:
        await world.ok("GET", call.warm, call.token)
    headers = auth(call.token) if call.token else {}
    with counting_queries(app) as statements:
        response = await client.request(call.method, call.url, headers=headers, **call.kwargs)
    assert response.status_code == call.expect, (response.status_code, response.text[-600:])
    budget = BUDGETS.get(route)
    expected = getattr(budget, engine_name(app), None)
    listing = "\n".join(f"{n:3}: {' '.join(s.split())[:140]}" for n, s in enumerate(statements))
    assert len(statements) == expected, f"MEASURED {route} = {len(statements)}\n{listing}"
