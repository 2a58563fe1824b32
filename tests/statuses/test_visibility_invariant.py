"""The visibility invariant, as a Hypothesis state machine: whatever sequence of follows
(and follow requests to locked accounts), blocks, mutes, posts of every visibility, replies,
boosts, favourites and suspensions happens, no read path ever shows a status to someone
outside its audience.

The machine keeps its own model of the audience, written from the rule in the social-core
issue (not from `statuses/access.py`):

- the author always; public and unlisted: everyone, anonymous readers included;
- private: the author's followers at read time, and the accounts mentioned in it;
- direct: the accounts mentioned in it;
- never across a block (either direction), never from a suspended author; a boost is
  readable only when the boosted status is;
- mutes hide the muted account from the muter's timelines and streams, and from their
  notifications when the mute hides notifications; they do not hide a status opened by id;
- home holds one's own posts, followed accounts' posts and boosts, and the public posts
  (not boosts) with the hashtag one follows (accounts follow and unfollow it as a step),
  never anything outside the rules above;
- status search finds, among what one may read and whose author one does not mute, one's
  own posts, the posts one is mentioned in, favourited, boosted or replied to, and the
  public posts of `indexable` accounts (even-numbered here) — exactly those, never a boost;
- "For you" (its flag on for everyone here) holds only what one may read, never one's own
  post, a boost, a direct message or a muted author's post, and from an account one does
  not follow only public posts.

Every example gets fresh accounts on one running app. After each step the machine waits for
the jobs (home fan-out) and drains in-process streaming sessions of every account through a
fence, checking each delivered event; a `sweep` step, and the end of every example, read
every REST path for every account and for an anonymous reader. Single-status reads must
match the model exactly; lists, timelines, notifications and conversations must hold
nothing outside it.

The examples are split into VISIBILITY_PARTS parts (default 6), separate test items that
xdist spreads over its workers, each on its own app and database. `make test` runs a
budget of VISIBILITY_EXAMPLES (default 30) examples from fixed seeds, the same every run;
`make test-visibility-long` (which `.ci/run` runs too) runs 300 more from a random seed,
VISIBILITY_SEED, which it prints and which reproduces the run when given again.
VISIBILITY_STEPS (default 10) is the length of each example.

Random steps seldom line up "A reaches B (follows B, or one of B's followers), A mutes or
blocks B, B posts" within one example, so every run also plays SCENARIOS: fixed examples
through the same steps and checks, spread over the parts (the first ones in each), one for
mutes and one for blocks, each reaching the muted or blocked author on every "For you"
source that can hold them (followed, follows of follows, similar to what one engaged with).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)

from connecthub.explore.foryou import FLAG as FOR_YOU
from connecthub.oauth.tokens import authenticate
from connecthub.streaming.hub import StreamingHub, close_account_streams
from connecthub.streaming.session import StreamSession
from connecthub.streaming.streams import resolve
from tests import conftest, engines
from tests.engines import RUN_ID, WORKER, delete_redis_prefix
from tests.flags.support import admin_token, create_flag
from tests.relationships.support import set_account
from tests.social_factories import auth, follow, user_with_token
from tests.statuses.support import suspend

EXAMPLES = int(os.environ.get("VISIBILITY_EXAMPLES", "30"))
STEPS = int(os.environ.get("VISIBILITY_STEPS", "10"))
PARTS = int(os.environ.get("VISIBILITY_PARTS", "6"))
# Part `p` runs from seed SEED * PARTS + p: the default seed 0 is the fixed, every-run set.
SEED = int(os.environ.get("VISIBILITY_SEED", "0"))
ACCOUNTS = 4
VISIBILITIES = ("public", "unlisted", "private", "direct")
RELATIONSHIP_ACTIONS = (
    "follow",
    "authorize",  # the actor accepts the other's follow request
    "unfollow",
    "block",
    "unblock",
    "mute",
    "mute_keeping_notifications",
    "unmute",
    "add_to_list",
)
RANK = {name: rank for rank, name in enumerate(VISIBILITIES)}
JOBS_DEADLINE = 30.0
STREAM_DEADLINE = 10.0

Viewer = int | None  # an account index, or None for an anonymous reader
accounts_st = st.integers(0, ACCOUNTS - 1)
_examples = itertools.count()


@dataclass(frozen=True)
class Post:
    author: int
    visibility: str
    mentions: frozenset[int]
    tagged: bool = False
    reblog_of: str | None = None


@dataclass
class World:
    """The model: relationships and statuses as the rule sees them."""

    locked: frozenset[int]
    follows: set[tuple[int, int]] = field(default_factory=set)
    requests: set[tuple[int, int]] = field(default_factory=set)
    blocks: set[tuple[int, int]] = field(default_factory=set)
    mutes: dict[tuple[int, int], bool] = field(default_factory=dict)  # -> hides notifications
    suspended: set[int] = field(default_factory=set)
    listed: set[tuple[int, int]] = field(default_factory=set)  # (list owner, member)
    posts: dict[str, Post] = field(default_factory=dict)
    favourites: set[tuple[int, str]] = field(default_factory=set)
    tag_followers: set[int] = field(default_factory=set)  # of the example's hashtag
    indexable: frozenset[int] = frozenset()  # opted in to search of their public posts
    replied: set[tuple[int, str]] = field(default_factory=set)  # (author, parent status)

    def in_home_by_tag(self, viewer: int, status_id: str) -> bool:
        """A followed hashtag brings public posts (not boosts) of anyone into home."""
        post = self.posts[status_id]
        return (
            viewer in self.tag_followers
            and post.tagged
            and post.visibility == "public"
            and post.reblog_of is None
        )

    def blocked(self, a: int, b: int) -> bool:
        return (a, b) in self.blocks or (b, a) in self.blocks

    def may_read(self, viewer: Viewer, status_id: str) -> bool:
        post = self.posts[status_id]
        if post.reblog_of is not None and not self.may_read(viewer, post.reblog_of):
            return False
        if post.author in self.suspended:
            return False
        if viewer == post.author:
            return True
        if viewer is not None and self.blocked(viewer, post.author):
            return False
        if post.visibility in ("public", "unlisted"):
            return True
        if viewer is None:
            return False
        if post.visibility == "private" and (viewer, post.author) in self.follows:
            return True
        return viewer in post.mentions

    def muted(self, viewer: Viewer, status_id: str) -> bool:
        """The viewer mutes the author (or, for a boost, the boosted author)."""
        post = self.posts[status_id]
        authors = {post.author}
        if post.reblog_of is not None:
            authors.add(self.posts[post.reblog_of].author)
        return viewer is not None and any((viewer, a) in self.mutes for a in authors)

    def may_find(self, viewer: int, status_id: str) -> bool:
        """Status search: in the viewer's library or an opted-in public post, readable, not
        from a muted author, not a boost."""
        post = self.posts[status_id]
        if post.reblog_of is not None or not self.may_read(viewer, status_id):
            return False
        if (viewer, post.author) in self.mutes:
            return False
        boosted = any(p.reblog_of == status_id and p.author == viewer for p in self.posts.values())
        return (
            post.author == viewer
            or (post.visibility == "public" and post.author in self.indexable)
            or viewer in post.mentions
            or (viewer, status_id) in self.favourites
            or (viewer, status_id) in self.replied
            or boosted
        )

    def unfollow(self, follower: int, target: int) -> None:
        self.follows.discard((follower, target))
        self.requests.discard((follower, target))
        self.listed.discard((follower, target))  # an unfollowed account leaves lists


@dataclass
class Actor:
    id: int
    username: str
    token: str
    list_id: str = ""  # created by the first `add_to_list`


@dataclass
class Listener:
    """One account's in-process streaming session: user, public and hashtag streams."""

    viewer: int
    session: StreamSession


class Harness:
    """The app and its loop, shared by every example of one run."""

    def __init__(self, runner: asyncio.Runner, app: FastAPI, client: httpx.AsyncClient):
        self.runner = runner
        self.app = app
        self.client = client
        self.fences = itertools.count()

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    async def settle(self) -> None:
        """Until the job queue is idle twice in a row; a failed job is a bug here."""
        jobs = self.app.state.engines.jobs
        loop = asyncio.get_running_loop()
        deadline = loop.time() + JOBS_DEADLINE
        quiet = 0
        while quiet < 2:
            stats = await jobs.stats()
            assert stats.dead == 0, f"a job failed: {stats}"
            assert stats.delayed == 0, f"a job is waiting for a retry: {stats}"
            quiet = quiet + 1 if stats.ready == 0 and stats.running == 0 else 0
            assert loop.time() < deadline, f"jobs did not settle: {stats}"
            await asyncio.sleep(0.002)

    async def drain(self, listeners: list[Listener]) -> list[tuple[int, str, str, Any]]:
        """Every (viewer, stream name, event, payload) delivered so far: a fence event is
        published on each channel after the real ones and read back on every stream."""
        engines = self.app.state.engines
        fence = f"fence-{next(self.fences)}"
        channels = {s.channel for lst in listeners for s in lst.session.streams.values()}
        for channel in sorted(channels):
            await engines.events.publish(channel, {"event": "delete", "payload": fence})
        delivered = []
        for listener in listeners:
            waiting = set(listener.session.streams)
            while waiting:
                batch = await asyncio.wait_for(listener.session.next_deliveries(), STREAM_DEADLINE)
                for stream, name, payload in batch:
                    if name == "delete" and payload == fence:
                        waiting.discard(stream.key)
                    else:
                        delivered.append((listener.viewer, stream.name, name, payload))
        return delivered


def _ids(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return body


class VisibilityMachine(RuleBasedStateMachine):
    harness: Harness

    statuses = Bundle("statuses")

    def __init__(self) -> None:
        super().__init__()
        self.example = next(_examples)
        self.tag = f"vis{RUN_ID}{WORKER}x{self.example}"
        # In every post of this example only: earlier examples' posts (same app) do not
        # match it (a word, then a letter: no prefix of another example's word).
        self.word = f"say{self.example}x"
        self.actors: list[Actor] = []
        self.world = World(locked=frozenset())
        self.listeners: list[Listener] = []  # of active accounts
        self.sessions: list[StreamSession] = []  # every one opened, to release
        self.index: dict[str, int] = {}

    # -- plumbing ----------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        return self.harness.client

    def call(self, method: str, path: str, actor: int | None, **kwargs: Any) -> httpx.Response:
        headers = auth(self.actors[actor].token) if actor is not None else {}
        request = self.client.request(method, path, headers=headers, **kwargs)
        response: httpx.Response = self.harness.run(request)
        assert response.status_code < 500, response.text
        return response

    def active(self, account: int) -> bool:
        return account not in self.world.suspended

    def after_step(self, *readers: Viewer) -> None:
        """Jobs done, then every streamed event checked against the model as it is now, and
        the statuses `readers` (whose audience the step changed) may read by id."""
        self.harness.run(self.harness.settle())
        delivered = self.harness.run(self.harness.drain(self.listeners))
        for viewer, stream, name, payload in delivered:
            self.check_event(viewer, stream, name, payload)
        for reader in readers:
            self.check_batch(reader)

    # -- setup -------------------------------------------------------------------------

    @initialize(
        locked=st.frozensets(accounts_st, max_size=2),
        follows=st.frozensets(st.tuples(accounts_st, accounts_st), max_size=6),
    )
    def create_accounts(self, locked: frozenset[int], follows: frozenset[tuple[int, int]]) -> None:
        """Fresh accounts (some locked) with a starting follow graph, so a few steps reach
        interesting audiences."""
        self.world = World(locked=locked, indexable=frozenset(range(0, ACCOUNTS, 2)))
        self.harness.run(self._create_accounts(locked))
        for follower, followed in sorted(follows):
            if follower != followed:
                app = self.harness.app
                self.harness.run(follow(app, self.actors[follower].id, self.actors[followed].id))
                self.world.follows.add((follower, followed))

    async def _create_accounts(self, locked: frozenset[int]) -> None:
        app = self.harness.app
        names = [f"v{self.example}u{number}" for number in range(ACCOUNTS)]
        # Concurrently: password hashing runs in threads and dominates sign-up.
        created = await asyncio.gather(*(user_with_token(app, name) for name in names))
        for number, (name, (account, token)) in enumerate(zip(names, created, strict=True)):
            if number in locked:
                await set_account(app, account.id, locked=True)
            if number in self.world.indexable:
                await set_account(app, account.id, indexable=True)
            self.actors.append(Actor(account.id, name, token))
            self.index[str(account.id)] = number
            self.listeners.append(await self._listen(number, token))
        self.sessions = [listener.session for listener in self.listeners]

    async def _listen(self, number: int, token: str) -> Listener:
        """The account's user, public and hashtag streams, as a connection would hold them."""
        engines = self.harness.app.state.engines
        hub: StreamingHub = self.harness.app.state.streaming
        info = await authenticate(engines, token)
        assert info is not None
        session = StreamSession(engines, info, "test", hub.audience)
        await session.open()
        for name in ("user", "public", "hashtag"):
            await session.subscribe(await resolve(engines, info, name, tag=self.tag, list_id=None))
        return Listener(number, session)

    def teardown(self) -> None:
        try:
            if self.actors:
                self.after_step()
                self.sweep()
        finally:
            for session in self.sessions:
                self.harness.run(session.release())

    # -- relationships -----------------------------------------------------------------

    @rule(actor=accounts_st, other=accounts_st, action=st.sampled_from(RELATIONSHIP_ACTIONS))
    def relate(self, actor: int, other: int, action: str) -> None:
        """One relationship change by `actor` towards `other`, through the API."""
        if not self.active(actor):
            return
        changed = getattr(self, f"_{action}")(actor, other)
        # By id, the statuses of the account whose audience changed (a cheap check per step;
        # the end of the example reads everything).
        self.after_step(changed)

    def _follow(self, actor: int, other: int) -> Viewer:
        response = self.call("POST", f"/api/v1/accounts/{self.actors[other].id}/follow", actor)
        world = self.world
        if actor == other:
            assert response.status_code == 422, response.text
        elif not self.active(other):
            assert response.status_code == 404, response.text
        elif world.blocked(actor, other):
            assert response.status_code == 403, response.text
        else:
            assert response.status_code == 200, response.text
            if (actor, other) not in world.follows:
                pending = world.requests if other in world.locked else world.follows
                pending.add((actor, other))
        return actor

    def _authorize(self, owner: int, requester: int) -> Viewer:
        path = f"/api/v1/follow_requests/{self.actors[requester].id}/authorize"
        response = self.call("POST", path, owner)
        if (requester, owner) in self.world.requests:
            assert response.status_code == 200, response.text
            self.world.requests.discard((requester, owner))
            self.world.follows.add((requester, owner))
        else:
            assert response.status_code == 404, response.text
        return requester

    def _change(self, action: str, actor: int, other: int, **fields: Any) -> bool:
        """POST the relationship `action`; whether it applied (`other` is someone else, and
        active)."""
        path = f"/api/v1/accounts/{self.actors[other].id}/{action}"
        response = self.call("POST", path, actor, json=fields)
        if actor == other:
            assert response.status_code == 422, response.text
            return False
        if not self.active(other):
            assert response.status_code == 404, response.text
            return False
        assert response.status_code == 200, response.text
        return True

    def _unfollow(self, actor: int, other: int) -> Viewer:
        if self._change("unfollow", actor, other):
            self.world.unfollow(actor, other)
        return actor

    def _block(self, actor: int, other: int) -> Viewer:
        if self._change("block", actor, other):
            self.world.blocks.add((actor, other))
            self.world.unfollow(actor, other)
            self.world.unfollow(other, actor)
        return other

    def _unblock(self, actor: int, other: int) -> Viewer:
        if self._change("unblock", actor, other):
            self.world.blocks.discard((actor, other))
        return other

    def _mute(self, actor: int, other: int, *, notifications: bool = True) -> Viewer:
        if self._change("mute", actor, other, notifications=notifications):
            self.world.mutes[(actor, other)] = notifications
        return None

    def _mute_keeping_notifications(self, actor: int, other: int) -> Viewer:
        return self._mute(actor, other, notifications=False)

    def _unmute(self, actor: int, other: int) -> Viewer:
        if self._change("unmute", actor, other):
            self.world.mutes.pop((actor, other), None)
        return None

    def _add_to_list(self, owner: int, member: int) -> Viewer:
        actor = self.actors[owner]
        if not actor.list_id:
            created = self.call("POST", "/api/v1/lists", owner, json={"title": "close"})
            assert created.status_code == 200, created.text
            actor.list_id = created.json()["id"]
        response = self.call(
            "POST",
            f"/api/v1/lists/{actor.list_id}/accounts",
            owner,
            json={"account_ids": [str(self.actors[member].id)]},
        )
        if (owner, member) in self.world.follows:
            assert response.status_code == 200, response.text
            self.world.listed.add((owner, member))
        else:
            assert response.status_code == 422, response.text
        return None

    @rule(account=accounts_st, following=st.booleans())
    def follow_tag(self, account: int, following: bool) -> None:
        """Follow (or unfollow) the example's hashtag: its public posts join home."""
        if not self.active(account):
            return
        verb = "follow" if following else "unfollow"
        response = self.call("POST", f"/api/v1/tags/{self.tag}/{verb}", account)
        assert response.status_code == 200, response.text
        assert response.json()["following"] is following
        if following:
            self.world.tag_followers.add(account)
        else:
            self.world.tag_followers.discard(account)
        self.after_step(None)

    @rule(account=accounts_st)
    def suspend(self, account: int) -> None:
        if self.world.suspended or not self.active(account):  # one per example: readers stay
            return
        app = self.harness.app
        self.harness.run(suspend(app, self.actors[account].id))
        self.harness.run(close_account_streams(app.state.engines, self.actors[account].id))
        self.world.suspended.add(account)
        self.listeners = [lst for lst in self.listeners if lst.viewer != account]
        self.after_step(None)

    # -- statuses ----------------------------------------------------------------------

    def _post(
        self,
        author: int,
        visibility: str,
        mentions: frozenset[int],
        tagged: bool,
        parent: str | None = None,
    ) -> Any:
        words = [f"@{self.actors[m].username}" for m in sorted(mentions)]
        words.append(f"hello {self.word}")
        if tagged:
            words.append(f"#{self.tag}")
        body: dict[str, Any] = {"status": " ".join(words), "visibility": visibility}
        if parent is not None:
            body["in_reply_to_id"] = parent
        response = self.call("POST", "/api/v1/statuses", author, json=body)
        world = self.world
        if parent is not None and (
            not world.may_read(author, parent) or world.posts[parent].reblog_of is not None
        ):
            assert response.status_code == 404, response.text
            self.after_step(None)
            return multiple()
        assert response.status_code == 200, response.text
        status_id = response.json()["id"]
        live_mentions = frozenset(m for m in mentions if self.active(m))
        world.posts[status_id] = Post(author, visibility, live_mentions, tagged)
        if parent is not None:
            world.replied.add((author, parent))
        self.after_step(None)
        return status_id

    @rule(
        target=statuses,
        author=accounts_st,
        visibility=st.sampled_from(VISIBILITIES),
        mentions=st.frozensets(accounts_st, max_size=2),
        tagged=st.booleans(),
    )
    def post(self, author: int, visibility: str, mentions: frozenset[int], tagged: bool) -> Any:
        if not self.active(author):
            return multiple()
        return self._post(author, visibility, mentions, tagged)

    @rule(
        target=statuses,
        parent=statuses,
        author=accounts_st,
        visibility=st.sampled_from(VISIBILITIES),
        mentions=st.frozensets(accounts_st, max_size=2),
    )
    def reply(self, parent: str, author: int, visibility: str, mentions: frozenset[int]) -> Any:
        if not self.active(author):
            return multiple()
        return self._post(author, visibility, mentions, tagged=True, parent=parent)

    def _readable_target(self, actor: int, status_id: str) -> str | None:
        """What an action on `status_id` acts on (a boost's original), if `actor` may."""
        if not self.world.may_read(actor, status_id):
            return None
        return self.world.posts[status_id].reblog_of or status_id

    @rule(
        target=statuses,
        status=statuses,
        actor=accounts_st,
        visibility=st.sampled_from(VISIBILITIES[:3]),
    )
    def boost(self, status: str, actor: int, visibility: str) -> Any:
        if not self.active(actor):
            return multiple()
        path = f"/api/v1/statuses/{status}/reblog"
        response = self.call("POST", path, actor, json={"visibility": visibility})
        world = self.world
        original = self._readable_target(actor, status)
        if original is None:
            assert response.status_code == 404, response.text
            return multiple()
        boosted = world.posts[original]
        if boosted.visibility == "direct" or (
            boosted.visibility == "private" and boosted.author != actor
        ):
            assert response.status_code == 403, response.text
            return multiple()
        assert response.status_code == 200, response.text
        boost_id = response.json()["id"]
        existing = [
            sid
            for sid, post in world.posts.items()
            if post.reblog_of == original and post.author == actor
        ]
        if existing:
            assert existing == [boost_id]
            return multiple()
        if boosted.visibility == "private":
            visibility = "private"
        shown = max(visibility, boosted.visibility, key=RANK.__getitem__)
        world.posts[boost_id] = Post(actor, shown, frozenset(), reblog_of=original)
        self.after_step()
        return boost_id

    @rule(status=statuses, actor=accounts_st)
    def favourite(self, status: str, actor: int) -> None:
        if not self.active(actor):
            return
        response = self.call("POST", f"/api/v1/statuses/{status}/favourite", actor)
        original = self._readable_target(actor, status)
        if original is None:
            assert response.status_code == 404, response.text
        else:
            assert response.status_code == 200, response.text
            self.world.favourites.add((actor, original))
        self.after_step()

    def sweep(self) -> None:
        """Every read path, for every active account and an anonymous reader."""
        for viewer in [None, *(a for a in range(ACCOUNTS) if self.active(a))]:
            self.check_reader(viewer)

    # -- the invariant -----------------------------------------------------------------

    def owner_of(self, entity: dict[str, Any]) -> int | None:
        return self.index.get(str(entity["account"]["id"]))

    def pick(self, items: list[Any], salt: Viewer) -> Any:
        """One of `items`, a different one per example and reader: each example reads every
        path, and across examples every status is read on each (requests are the budget)."""
        return items[(self.example + (salt if salt is not None else ACCOUNTS)) % len(items)]

    def assert_may_read(self, viewer: Viewer, entity: dict[str, Any], where: str) -> None:
        """A status entity shown to `viewer` on `where` is inside its audience."""
        status_id = entity["id"]
        assert status_id in self.world.posts, f"{where}: unknown status {status_id}"
        assert self.world.may_read(viewer, status_id), (
            f"{where}: {status_id} {self.world.posts[status_id]} shown to {viewer}"
        )
        if entity.get("reblog"):
            self.assert_may_read(viewer, entity["reblog"], f"{where} (boosted)")

    def check_timeline_entry(
        self, viewer: Viewer, entity: dict[str, Any], where: str, *, boosts: bool
    ) -> None:
        self.assert_may_read(viewer, entity, where)
        status_id = entity["id"]
        assert not self.world.muted(viewer, status_id), f"{where}: muted {status_id}"
        assert boosts or entity.get("reblog") is None, f"{where}: boost {status_id}"

    def check_streamed_status(self, viewer: int, entity: dict[str, Any], stream: str) -> None:
        """As on timelines, except that one's own statuses (a boost of a muted account's
        post included) always reach one's own streams."""
        where = f"stream {stream}"
        if self.owner_of(entity) == viewer:
            self.assert_may_read(viewer, entity, where)
        else:
            self.check_timeline_entry(viewer, entity, where, boosts=stream == "user")
        if stream != "user":
            assert entity["visibility"] == "public", f"{where}: {entity['id']}"

    def check_event(self, viewer: int, stream: str, name: str, payload: Any) -> None:
        where = f"stream {stream}/{name}"
        if name in ("update", "status.update"):
            self.check_streamed_status(viewer, payload, stream)
        elif name == "notification":
            self.check_notification(viewer, payload, where)
        elif name == "conversation" and payload.get("last_status"):
            self.assert_may_read(viewer, payload["last_status"], where)

    def check_notification(self, viewer: int, entity: dict[str, Any], where: str) -> None:
        sender = self.owner_of(entity)
        assert sender is not None, f"{where}: foreign sender"
        world = self.world
        assert sender not in world.suspended, f"{where}: suspended sender {entity}"
        assert not world.blocked(viewer, sender), f"{where}: blocked sender {entity}"
        assert not world.mutes.get((viewer, sender)), f"{where}: muted sender {entity}"
        if entity.get("status"):
            self.assert_may_read(viewer, entity["status"], where)

    def get(self, viewer: Viewer, path: str, **params: Any) -> httpx.Response:
        return self.call("GET", path, viewer, params=params)

    def check_batch(self, viewer: Viewer) -> None:
        """`GET /api/v1/statuses?id[]=…` returns exactly what the model says is readable."""
        ids = list(self.world.posts)
        if not ids or (viewer is not None and not self.active(viewer)):
            return
        found = {s["id"] for s in _ids(self.get(viewer, "/api/v1/statuses", **{"id[]": ids}))}
        expected = {sid for sid in ids if self.world.may_read(viewer, sid)}
        assert found == expected, f"batch for {viewer}: {sorted(found ^ expected)} differ"

    def check_reader(self, viewer: Viewer) -> None:
        world = self.world
        self.check_batch(viewer)
        ids = list(world.posts)
        if ids:
            status_id = self.pick(ids, viewer)
            one = self.get(viewer, f"/api/v1/statuses/{status_id}")
            expected = 200 if world.may_read(viewer, status_id) else 404
            assert one.status_code == expected, (status_id, viewer, one.text)
        readable = [sid for sid in ids if world.may_read(viewer, sid)]
        if readable:
            self.check_status_paths(viewer, self.pick(readable, viewer))
        account = self.pick(list(range(ACCOUNTS)), viewer)
        path = f"/api/v1/accounts/{self.actors[account].id}/statuses"
        listed = self.get(viewer, path, limit=40)
        if listed.status_code == 404:
            assert account in world.suspended, listed.text
        else:
            for entity in _ids(listed):
                assert self.owner_of(entity) == account, path
                self.assert_may_read(viewer, entity, path)
        self.check_timelines(viewer)
        if viewer is not None:
            self.check_own_lists(viewer)
            self.check_search(viewer)

    def check_search(self, viewer: int) -> None:
        """`/api/v2/search` finds exactly the statuses the model says (every post of the
        example has its word; an example holds fewer than the 40 a page shows)."""
        params = {"q": self.word, "type": "statuses", "limit": 40}
        response = self.get(viewer, "/api/v2/search", **params)
        assert response.status_code == 200, response.text
        found = {status["id"] for status in response.json()["statuses"]}
        expected = {sid for sid in self.world.posts if self.world.may_find(viewer, sid)}
        if len(expected) <= 40:
            assert found == expected, f"search for {viewer}: {sorted(found ^ expected)} differ"
        else:
            assert found <= expected, f"search for {viewer}: {sorted(found - expected)}"

    def check_status_paths(self, viewer: Viewer, status_id: str) -> None:
        """Context, favourited_by and reblogged_by of a status the viewer may read."""
        world = self.world
        context = self.get(viewer, f"/api/v1/statuses/{status_id}/context")
        assert context.status_code == 200, context.text
        for entity in [*context.json()["ancestors"], *context.json()["descendants"]]:
            self.assert_may_read(viewer, entity, f"context of {status_id}")
        favourited = sorted({s for _, s in world.favourites if world.may_read(viewer, s)})
        if favourited:
            target = self.pick(favourited, viewer)
            for account in _ids(self.get(viewer, f"/api/v1/statuses/{target}/favourited_by")):
                who = self.index.get(account["id"])
                assert who is not None, f"favourited_by {target}: foreign {account['id']}"
                assert (who, target) in world.favourites, f"favourited_by {target}: {who}"
                assert who not in world.suspended, f"favourited_by {target}: suspended {who}"
                assert viewer is None or not world.blocked(viewer, who), "favourited_by"
        boosted = sorted(
            {p.reblog_of for p in world.posts.values() if p.reblog_of is not None}
            & {sid for sid in world.posts if world.may_read(viewer, sid)}
        )
        if boosted:
            target = self.pick(boosted, viewer)
            boosts = {p.author: sid for sid, p in world.posts.items() if p.reblog_of == target}
            for account in _ids(self.get(viewer, f"/api/v1/statuses/{target}/reblogged_by")):
                who = self.index.get(account["id"])
                assert who in boosts, f"reblogged_by {target}: {account['id']}"
                boost = boosts[who]
                assert world.may_read(viewer, boost), (
                    f"reblogged_by {target} shows {world.posts[boost]} to {viewer}"
                )

    def check_timelines(self, viewer: Viewer) -> None:
        world = self.world
        ours = {a.id for a in self.actors}
        for entity in _ids(self.get(viewer, "/api/v1/timelines/public", limit=40)):
            if entity["id"] not in world.posts:  # an earlier example's post
                assert int(entity["account"]["id"]) not in ours, entity["id"]
                assert entity["visibility"] == "public", entity["id"]
                continue
            self.check_timeline_entry(viewer, entity, "public", boosts=False)
            assert entity["visibility"] == "public", f"public: {entity['id']}"
        for entity in _ids(self.get(viewer, f"/api/v1/timelines/tag/{self.tag}", limit=40)):
            self.check_timeline_entry(viewer, entity, "hashtag", boosts=False)
            assert world.posts[entity["id"]].tagged, f"hashtag: untagged {entity['id']}"
            assert entity["visibility"] == "public", f"hashtag: {entity['id']}"

    def check_for_you(self, viewer: int) -> None:
        world = self.world
        ours = {a.id for a in self.actors}
        for entity in _ids(self.get(viewer, "/api/v1/timelines/for_you", limit=40)):
            assert entity["visibility"] == "public" or entity["id"] in world.posts, entity["id"]
            if entity["id"] not in world.posts:  # an earlier example's post
                assert int(entity["account"]["id"]) not in ours, entity["id"]
                continue
            self.check_timeline_entry(viewer, entity, "for_you", boosts=False)
            author = self.owner_of(entity)
            assert author is not None, f"for_you: {entity['id']}"
            assert author != viewer, f"for_you: own {entity['id']}"
            assert entity["visibility"] != "direct", f"for_you: direct {entity['id']}"
            assert entity["visibility"] == "public" or (viewer, author) in world.follows, (
                f"for_you: {entity['id']} {world.posts[entity['id']]} shown to {viewer}"
            )

    def check_own_lists(self, viewer: int) -> None:
        """Home, the list timeline, notifications and conversations of `viewer`."""
        world = self.world
        for entity in _ids(self.get(viewer, "/api/v1/timelines/home", limit=40)):
            self.check_timeline_entry(viewer, entity, "home", boosts=True)
            author = self.owner_of(entity)
            assert author is not None
            assert (
                author == viewer
                or (viewer, author) in world.follows
                or world.in_home_by_tag(viewer, entity["id"])
            ), f"home: {entity['id']}"
            assert entity["visibility"] != "direct", f"home: direct {entity['id']}"
        list_id = self.actors[viewer].list_id
        if list_id:
            path = f"/api/v1/timelines/list/{list_id}"
            for entity in _ids(self.get(viewer, path, limit=40)):
                self.check_timeline_entry(viewer, entity, "list", boosts=True)
                assert (viewer, self.owner_of(entity)) in world.listed, f"list: {entity['id']}"
        self.check_for_you(viewer)
        for notification in _ids(self.get(viewer, "/api/v1/notifications", limit=80)):
            self.check_notification(viewer, notification, "notifications")
        for conversation in _ids(self.get(viewer, "/api/v1/conversations", limit=40)):
            if conversation.get("last_status"):
                self.assert_may_read(viewer, conversation["last_status"], "conversations")


@contextmanager
def harness(databases: engines.TestDatabases, workdir: Any, part: int) -> Iterator[Harness]:
    """One app (with its lifespan) on fresh engines, driven from a loop this test owns."""
    with asyncio.Runner() as runner:
        url = runner.run(databases.new_database_url())
        env = conftest.TestEnv(
            database_url=url, key_prefix=f"test:{RUN_ID}:{WORKER}:vis{part}:", workdir=workdir
        )
        stack = AsyncExitStack()
        app, client = runner.run(stack.enter_async_context(conftest.running_app(env)))
        try:
            admin = runner.run(admin_token(app))
            runner.run(create_flag(client, admin, key=FOR_YOU, kind="boolean", default_value=True))
            yield Harness(runner, app, client)
        finally:
            runner.run(stack.aclose())
            runner.run(databases.drop(url))
            runner.run(delete_redis_prefix(env.key_prefix))


# -- fixed examples ------------------------------------------------------------------------

NONE: frozenset[int] = frozenset()


def muted_authors(machine: VisibilityMachine) -> None:
    """0 follows 1 and mutes them; 0 follows 2, who follows 3, whom 0 mutes keeping
    notifications; 1 (following no one) favourites 2's post and mutes 3: 1's posts reach 0
    as followed, 3's as follows of follows, and reach 1 as similar to what 1 engaged with."""
    machine.create_accounts(locked=NONE, follows=frozenset({(0, 1), (0, 2), (2, 3)}))
    liked = machine.post(2, "public", NONE, False)
    machine.favourite(liked, 1)
    machine.relate(0, 1, "mute")
    machine.relate(0, 3, "mute_keeping_notifications")
    machine.relate(1, 3, "mute")
    for visibility in ("public", "unlisted", "private"):
        machine.post(1, visibility, NONE, False)
    machine.post(3, "public", NONE, True)


def blocked_authors(machine: VisibilityMachine) -> None:
    """0 follows 1 and 2, who follows 1 and 3; 0 blocks 1 (the follow goes, 1 stays a
    follow of 0's follow) and 3 blocks 0; 1 and 3 favourite 2's post, then 3 blocks 1: each
    author posts in public, reaching 0 as follows of follows and 1 and 3 (following no one
    by then) as similar to what they engaged with, but for the blocks, both ways."""
    follows = frozenset({(0, 1), (0, 2), (2, 1), (2, 3), (1, 3)})
    machine.create_accounts(locked=NONE, follows=follows)
    liked = machine.post(2, "public", NONE, False)
    machine.favourite(liked, 1)
    machine.favourite(liked, 3)
    machine.relate(0, 1, "block")
    machine.relate(3, 0, "block")
    machine.relate(3, 1, "block")
    machine.post(1, "public", NONE, True)
    machine.post(3, "public", NONE, False)


SCENARIOS: tuple[Callable[[VisibilityMachine], None], ...] = (muted_authors, blocked_authors)


def play(machine: type[VisibilityMachine], scenario: Callable[[VisibilityMachine], None]) -> None:
    """One fixed example on the machine, ended (and swept) as Hypothesis ends one."""
    instance = machine()
    try:
        scenario(instance)
    finally:
        instance.teardown()


def examples_in(part: int) -> int:
    """This part's share of the budget (the shares add up to EXAMPLES exactly)."""
    return EXAMPLES // PARTS + (1 if part < EXAMPLES % PARTS else 0)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("part", range(PARTS))
def test_visibility_invariant(databases: engines.TestDatabases, tmp_path: Any, part: int) -> None:
    budget = examples_in(part)
    scenarios = SCENARIOS[part::PARTS]
    if budget == 0 and not scenarios:
        return  # more parts than examples: nothing left for this one
    part_seed = SEED * PARTS + part
    # A class per part: Hypothesis reads the seed from the machine class.
    machine = seed(part_seed)(type(f"VisibilityPart{part}", (VisibilityMachine,), {}))
    with harness(databases, tmp_path, part) as running:
        machine.harness = running
        for scenario in scenarios:
            try:
                play(machine, scenario)
            except BaseException as failure:
                failure.add_note(f"in the fixed example {scenario.__name__}")
                raise
        if budget == 0:
            return
        try:
            run_state_machine_as_test(
                machine,
                settings=settings(
                    max_examples=budget,
                    stateful_step_count=STEPS,
                    deadline=None,
                    database=None,
                    suppress_health_check=[
                        HealthCheck.too_slow,
                        HealthCheck.filter_too_much,
                        HealthCheck.data_too_large,
                    ],
                ),
            )
        except BaseException as failure:
            failure.add_note(
                f"reproduce: VISIBILITY_SEED={SEED} VISIBILITY_PARTS={PARTS} "
                f"VISIBILITY_EXAMPLES={EXAMPLES} pytest '{__file__}::"
                f"test_visibility_invariant[{part}]' (part seed {part_seed})"
            )
            raise


async def test_reblogged_by_hides_a_followers_only_boost(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Found by the machine: `reblogged_by` listed the author of a followers-only boost to
    anyone who could read the boosted status."""
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    fan, fan_token = await user_with_token(app, "fan")
    _stranger, stranger_token = await user_with_token(app, "stranger")
    await follow(app, fan.id, bob.id)
    status = (
        await client.post("/api/v1/statuses", json={"status": "hi"}, headers=auth(alice_token))
    ).json()
    boost = await client.post(
        f"/api/v1/statuses/{status['id']}/reblog",
        json={"visibility": "private"},
        headers=auth(bob_token),
    )
    assert boost.status_code == 200, boost.text
    path = f"/api/v1/statuses/{status['id']}/reblogged_by"
    for token, shown in [(None, []), (stranger_token, []), (fan_token, [str(bob.id)])]:
        response = await client.get(path, headers=auth(token) if token else {})
        assert [account["id"] for account in _ids(response)] == shown
