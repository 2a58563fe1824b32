"""The `toot` CLI, run as a subprocess against a real `connecthub serve`: post, follow and
read the home timeline, checked through the REST API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import LiveServer
from tests.social_factories import auth, user_with_token
from tests.support import probe

TOOT = str(Path(sys.executable).parent / "toot")
COMMAND_SECONDS = 60.0
EVENTUAL_SECONDS = 30.0


class Toot:
    """`toot` with its own config directory, logged in as the given users (toot's login
    is interactive, so the config file it would write is written here instead)."""

    def __init__(self, url: str, home: Path, tokens: dict[str, str]) -> None:
        self.instance = urlsplit(url).netloc
        self.home = home
        config_dir = home / "config" / "toot"
        config_dir.mkdir(parents=True)
        app = {
            "instance": self.instance,
            "base_url": url,
            "client_id": "toot-test-client",
            "client_secret": "toot-test-secret",
        }
        users = {
            self.user_id(username): {
                "instance": self.instance,
                "username": username,
                "access_token": token,
            }
            for username, token in tokens.items()
        }
        config = {"apps": {self.instance: app}, "users": users, "active_user": None}
        (config_dir / "config.json").write_text(json.dumps(config))

    def user_id(self, username: str) -> str:
        return f"{username}@{self.instance}"

    def run(self, username: str, *args: str) -> str:
        """Run `toot --as USER ARGS…` with no stdin and a deadline; returns its stdout."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TOOT_")}
        environ.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            NO_COLOR="1",
        )
        done = subprocess.run(
            [TOOT, "--no-color", "--max-width", "200", "--as", self.user_id(username), *args],
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
        )
        assert done.returncode == 0, f"toot {args} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def _home_has(api: httpx.Client, status_id: str) -> bool:
    response = api.get("/api/v1/timelines/home")
    return response.status_code == 200 and status_id in {s["id"] for s in response.json()}


def _session(toot: Toot, url: str, alice_token: str, bob_token: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with httpx.Client(
        base_url=url, headers=auth(alice_token), timeout=30, verify=probe.ssl_context()
    ) as api:
        seen["post"] = json.loads(toot.run("alice", "post", "--json", "Alice toots from a CLI"))
        seen["status"] = api.get(f"/api/v1/statuses/{seen['post']['id']}").json()

        bob_post = api.post(
            "/api/v1/statuses",
            json={"status": "Bob's post for toot readers"},
            headers=auth(bob_token),
        )
        seen["bob_post"] = bob_post.json()
        seen["follow_output"] = toot.run("alice", "follow", "bob")
        bob_id = seen["bob_post"]["account"]["id"]
        relationships = api.get("/api/v1/accounts/relationships", params={"id[]": bob_id})
        seen["relationship"] = relationships.json()[0]

        # following merges bob's earlier posts into alice's home after the response
        deadline = time.monotonic() + EVENTUAL_SECONDS
        while not _home_has(api, seen["bob_post"]["id"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        seen["timeline"] = toot.run("alice", "timeline", "--once", "--count", "5")
    return seen


@pytest.mark.processes
@pytest.mark.timeout(600)  # each `toot` start imports its whole UI stack
async def test_toot_cli_post_follow_timeline(
    app: FastAPI, live_server: LiveServer, tmp_path: Path
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    toot = Toot(live_server.url, tmp_path / "toot", {"alice": alice_token})
    seen = await asyncio.to_thread(_session, toot, live_server.url, alice_token, bob_token)

    status = seen["status"]
    assert (status["id"], status["account"]["id"]) == (seen["post"]["id"], str(alice.id))
    assert status["content"] == "<p>Alice toots from a CLI</p>"
    assert status["visibility"] == "public"

    assert "You are now following bob" in seen["follow_output"]
    assert (seen["relationship"]["id"], seen["relationship"]["following"]) == (str(bob.id), True)

    timeline = seen["timeline"]
    assert "Bob's post for toot readers" in timeline
    assert "@bob" in timeline
    assert "Alice toots from a CLI" in timeline
