"""Real Mastodon clients sign in against a real `connecthub serve` process: Mastodon.py
(password grant and the PKCE code flow through the HTML page) and the `toot` CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mastodon import Mastodon, MastodonIllegalArgumentError

from tests.factories import DEFAULT_PASSWORD, create_user
from tests.oauth.test_code_flow import pkce_pair, read_form
from tests.support import probe


def _password_login(base_url: str, email: str) -> Mastodon:
    client_id, client_secret = Mastodon.create_app("mastodon.py test", api_base_url=base_url)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base_url)
    api.log_in(email, DEFAULT_PASSWORD, allow_http=True)
    return api


async def test_mastodon_py_password_login(app, live_server):
    await create_user(app, "alice")
    api = await asyncio.to_thread(_password_login, live_server.url, "alice@example.com")

    verified_app = await asyncio.to_thread(api.app_verify_credentials)
    assert verified_app["name"] == "mastodon.py test"
    me = await asyncio.to_thread(api.account_verify_credentials)
    assert me["username"] == "alice"
    assert "source" in me

    # Revocation through the library takes effect at once.
    await asyncio.to_thread(api.revoke_access_token, allow_http=True)
    response = probe.get(
        f"{live_server.url}/api/v1/apps/verify_credentials",
        headers={"Authorization": f"Bearer {api.access_token}"},
    )
    assert response.status_code == 401


def _code_flow(base_url: str, email: str) -> Mastodon:
    redirect = "https://client.example/callback"
    client_id, client_secret = Mastodon.create_app(
        "pkce test", api_base_url=base_url, redirect_uris=redirect, scopes=["read", "write"]
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base_url)
    verifier, challenge = pkce_pair()
    url = api.auth_request_url(
        redirect_uris=redirect, scopes=["read", "write"], state="s1", allow_http=True
    )
    url += f"&code_challenge={challenge}&code_challenge_method=S256"
    with httpx.Client(verify=probe.ssl_context()) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        form = read_form(page.text)
        submitted = browser.post(
            f"{base_url}{form.action}",
            data={
                **form.hidden,
                "email": email,
                "password": DEFAULT_PASSWORD,
                "decision": "approve",
            },
        )
        assert submitted.status_code == 302, submitted.text
        location = submitted.headers["location"]
        assert location.startswith(redirect)
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["s1"]
        code = query["code"][0]
        # Mastodon.py's log_in has no code_verifier argument: exchange as a client would.
        token = browser.post(
            f"{base_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client_id,
                "client_secret": client_secret,
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
    return Mastodon(access_token=token.json()["access_token"], api_base_url=base_url)


async def test_mastodon_py_authorization_code_flow_with_pkce(app, live_server):
    await create_user(app, "alice")
    api = await asyncio.to_thread(_code_flow, live_server.url, "alice@example.com")
    me = await asyncio.to_thread(api.account_verify_credentials)
    assert me["username"] == "alice"


async def test_mastodon_py_refuses_password_login_when_the_grant_is_off(app, test_env):
    from tests.servers import start_inprocess_server

    await create_user(app, "alice")
    server = start_inprocess_server(test_env, ENABLE_PASSWORD_GRANT="false")
    try:
        with pytest.raises(MastodonIllegalArgumentError, match="not supported"):
            await asyncio.to_thread(_password_login, server.url, "alice@example.com")
    finally:
        server.stop()


def _toot(args: list[str], config_home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "toot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.processes  # runs the toot CLI as a process
async def test_toot_login_cli_and_whoami(app, live_server, tmp_path):
    await create_user(app, "alice")
    config_home = tmp_path / "toot-config"
    login = await asyncio.to_thread(
        _toot,
        ["login_cli", "--instance", live_server.url, "--email", "alice@example.com"],
        config_home,
        f"{DEFAULT_PASSWORD}\n",
    )
    assert login.returncode == 0, login.stdout + login.stderr
    assert "Successfully logged in" in login.stdout
    whoami = await asyncio.to_thread(_toot, ["whoami"], config_home)
    assert whoami.returncode == 0, whoami.stdout + whoami.stderr
    assert "@alice" in whoami.stdout
