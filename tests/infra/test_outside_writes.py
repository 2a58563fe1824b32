"""A `connecthub admin` command is a process of its own: what it commits must reach a
running server's memory (infra/outside_writes.py in embedded mode, Redis in distributed),
within a moment, not when each held copy expires."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connecthub.infra import outside_writes
from connecthub.infra.db import Database
from connecthub.infra.events import InProcessEventBus
from connecthub.infra.near_cache import NearCache
from connecthub.oauth.identity import TokenInfo
from connecthub.streaming.hub import StreamingHub
from tests.cli_runner import run_cli
from tests.engines import build_settings
from tests.social_factories import auth, post_status, user_with_token

# A server nobody asks looks in the background (outside_writes.BACKGROUND_SECONDS); the
# bound leaves room for a loaded machine.
WITHIN_SECONDS = 10.0


async def _cli(test_env: Any, *args: str) -> None:
    result = await asyncio.to_thread(run_cli, test_env.environ(), "admin", *args)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
async def test_an_account_deleted_by_the_command_is_gone_from_a_running_server(
    app_factory: Any, test_env: Any
) -> None:
    # No request follows the command until its stream closed: the background look hears it.
    async with app_factory(outside_writes_poll_seconds=0.6) as (app, client):
        frank, frank_token = await user_with_token(app, "frank")
        reader, reader_token = await user_with_token(app, "reader")
        follow = await client.post(
            f"/api/v1/accounts/{frank.id}/follow", headers=auth(reader_token)
        )
        assert follow.status_code == 200
        status = await post_status(client, frank_token, "words about to be erased")

        async def home_ids() -> list[str]:
            home = await client.get("/api/v1/timelines/home", headers=auth(reader_token))
            return [entry["id"] for entry in home.json()]

        # Held now: the token near, the home page and the status's rendering.
        for _ in range(3):
            me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(frank_token))
            assert me.status_code == 200
            assert status["id"] in await home_ids()
        hub: StreamingHub = app.state.streaming
        frank_stream = await hub.open_session(_token(app, frank.id, frank_token), "websocket")
        reader_stream = await hub.open_session(_token(app, reader.id, reader_token), "websocket")

        await _cli(test_env, "delete-account", "--username", "frank")

        assert await asyncio.wait_for(frank_stream.closed, WITHIN_SECONDS) == 1008
        assert not reader_stream.closed.done()
        me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(frank_token))
        assert me.status_code == 401
        assert status["id"] not in await home_ids()
        await hub.close_session(frank_stream)
        await hub.close_session(reader_stream)


def _token(app: Any, account_id: int, raw: str) -> TokenInfo:
    held = app.state.engines.near.get(f"token:{_hash(raw)}")
    assert isinstance(held, TokenInfo), "the token is held near"
    assert held.account_id == account_id
    return held


def _hash(raw: str) -> str:
    from connecthub.oauth.tokens import hash_secret

    return hash_secret(raw)


async def test_only_a_process_that_committed_announces_and_a_server_never_does(
    tmp_path: Path,
) -> None:
    embedded = build_settings(f"sqlite:///{tmp_path / 'data.db'}", "outside:", redis_url=None)
    marker = outside_writes.marker_path(embedded)
    assert marker is not None
    # Nothing to announce where Redis carries every process's invalidations.
    with_redis = embedded.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"})
    assert outside_writes.marker_path(with_redis) is None
    settings = embedded

    async def run(work: str, *, serving: bool = False) -> bytes:
        db = Database(settings)
        watch = db.watch_outside_writes() if serving else None
        if watch is not None:
            await watch.start()
        if work == "write":
            async with db.transaction() as session:
                await session.execute(text("CREATE TABLE IF NOT EXISTS notes (body TEXT)"))
                await session.execute(text("INSERT INTO notes VALUES ('x')"))
        else:
            async with db.session(readonly=True) as session:
                await session.execute(text("SELECT 1"))
        if watch is not None:
            await watch.stop()
        await db.dispose()
        return marker.read_bytes() if marker.exists() else b""

    assert await run("read") == b""
    first = await run("write")
    assert first != b""
    assert await run("read") == first
    assert await run("write", serving=True) == first
    assert await run("write") not in (b"", first)


async def test_the_watch_calls_its_listeners_once_per_change(tmp_path: Path) -> None:
    marker = tmp_path / f"data.db{outside_writes.MARKER_SUFFIX}"
    outside_writes.announce(marker)  # before the server started: not news to it
    watch = outside_writes.OutsideWrites(marker, poll_seconds=0)
    calls: list[str] = []

    async def failing() -> None:
        calls.append("failing")
        raise RuntimeError("one listener failing does not stop the others")

    async def counting() -> None:
        calls.append("counting")

    watch.add_listener(failing)
    watch.add_listener(counting)
    await watch.start()
    try:
        assert not await watch.check()
        assert watch.nothing_new()
        outside_writes.announce(marker)
        assert not watch.nothing_new()  # an answer given at once must go the usual way
        assert await watch.check()
        assert watch.nothing_new()
        assert not await watch.check()
        assert calls == ["failing", "counting"]
    finally:
        await watch.stop()


async def test_forgetting_everything_refuses_fills_read_before_it() -> None:
    near = NearCache(InProcessEventBus(), ttl_seconds=60, capacity=100)
    await near.start()
    try:
        assert near.put("kept", b"1", near.ticket())
        before = near.ticket()  # a read under way when another process's writes are heard
        near.forget_all()
        assert near.get("kept") is None
        assert not near.put("raced", b"old", before)
        assert not near.unchanged_since(["raced"], before)
        assert near.put("raced", b"new", near.ticket())
        assert near.get("raced") == b"new"
    finally:
        await near.stop()
