"""The web app's build served at the root (ADR 0054): hashed assets immutable, the shell
for every screen, precompressed copies sent to clients that accept them, the app's own
strict CSP; the server's own pages untouched; the old /web/ addresses moved for good."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from fastapi import FastAPI

from connecthub.web.app_shell import _AppRoute
from tests.social_factories import post_status, user_with_token

AppFactory = Callable[..., Any]

SHELL = (
    b"<!doctype html><html><head>"
    b'<script type="module" src="/assets/index-abc123.js"></script>'
    b'</head><body><div id="app"></div></body></html>'
)
SCRIPT = b"console.log('the app');" * 40
# What the app's browser sends while the app holds a session (web/src/lib/paths.ts).
APP_COOKIE = {"Cookie": "connecthub_app=1"}


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(SHELL)
    (root / "index.html.br").write_bytes(brotli.compress(SHELL))
    (root / "index.html.gz").write_bytes(gzip.compress(SHELL))
    (root / "assets" / "index-abc123.js").write_bytes(SCRIPT)
    (root / "assets" / "index-abc123.js.br").write_bytes(brotli.compress(SCRIPT))
    (root / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "sw.js").write_bytes(b"self.addEventListener('fetch', () => {});")
    (root / "manifest.webmanifest").write_bytes(b'{"name": "ConnectHub"}')
    (root / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return root


async def test_every_screen_gets_the_shell_with_a_strict_csp(
    app_factory: AppFactory, build: Path
) -> None:
    async with app_factory(web_app_dir=str(build), local_domain="social.example") as (_, client):
        for path in ("/notifications", "/local", "/callback", "/statuses/1", "/login"):
            response = await client.get(path, headers={"Accept-Encoding": "identity"})
            assert response.status_code == 200, path
            assert response.content == SHELL
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["cache-control"] == "no-cache"
        # a profile on another server keeps its dots: still a screen
        assert (await client.get("/lists/a.b")).status_code == 200

    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self' ws://social.example"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"  # the other security headers stay


async def test_hashed_assets_are_immutable_and_sent_precompressed(
    app_factory: AppFactory, build: Path
) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        br = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "br"})
        gz = await client.get(
            "/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br;q=0"}
        )
        plain = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "identity"})

    for response in (br, gz, plain):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"].startswith("text/javascript")
        assert "accept-encoding" in response.headers["vary"].lower()
        assert response.content == SCRIPT  # httpx decodes br and gzip
    assert br.headers["content-encoding"] == "br"
    assert gz.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert int(br.headers["content-length"]) == len(brotli.compress(SCRIPT))


async def test_the_worker_and_manifest_are_revalidated(
    app_factory: AppFactory, build: Path
) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        worker = await client.get("/sw.js")
        manifest = await client.get("/manifest.webmanifest")
        icon = await client.get("/icon-192.png")

    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/"
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.headers["cache-control"] == "no-cache"
    assert icon.headers["content-type"] == "image/png"


async def test_missing_files_and_paths_outside_the_build_are_404(
    app_factory: AppFactory, build: Path
) -> None:
    (build.parent / "secret.txt").write_text("not served")
    async with app_factory(web_app_dir=str(build)) as (_, client):
        for path in (
            "/assets/index-nope.js",
            "/assets/anything",
            "/missing.js",
            "/index.html.br",
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/assets/..%2f..%2fsecret.txt",
        ):
            response = await client.get(path)
            assert response.status_code in (404, 200), path
            assert b"not served" not in response.content, path
            if response.status_code == 200:
                assert response.content == SHELL, path  # a screen's address, never a file


async def test_without_a_build_the_app_is_404_and_the_front_door_stays(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    async with app_factory(web_app_dir=str(tmp_path / "none")) as (_, client):
        app = await client.get("/notifications")
        front = await client.get("/", headers=APP_COOKIE)

    assert app.status_code == 404
    assert "not built" in app.json()["error"]
    assert front.status_code == 200
    assert "<script" not in front.text
    assert 'href="/login"' not in front.text


async def test_the_front_door_links_to_a_built_app(app_factory: AppFactory, build: Path) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        front = await client.get("/")

    assert 'href="/login"' in front.text  # the app's sign-in
    assert 'href="/auth/sign_in"' in front.text  # the server's own sign-in stays


async def test_head_answers_like_get_without_a_body(app_factory: AppFactory, build: Path) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        shell = await client.head("/home")
        asset = await client.head("/assets/index-abc123.js", headers={"Accept-Encoding": "br"})
        root = await client.head("/", headers=APP_COOKIE)

    assert shell.status_code == asset.status_code == root.status_code == 200
    assert shell.content == b""
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "br"


async def test_the_servers_own_addresses_are_never_the_app(
    app_factory: AppFactory, build: Path
) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        api = await client.get("/api/v1/no-such-thing")
        unknown_post = await client.post("/somewhere", data={"a": "b"})
        sign_in = await client.get("/auth/sign_in")
        about = await client.get("/about")
        instance = await client.get("/api/v1/instance")
        oauth = await client.get("/oauth/no-such-page")
        well_known = await client.get("/.well-known/nodeinfo")
        static = await client.get("/static/site.css")

    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")
    assert unknown_post.status_code == 404  # not 405: the shell answers GET only
    for page in (sign_in, about):
        assert page.status_code == 200
        assert SHELL not in page.content
    assert instance.json()["uri"]
    assert oauth.status_code == 404
    assert oauth.content != SHELL
    assert well_known.status_code == 200
    assert well_known.content != SHELL
    assert static.headers["content-type"].startswith("text/css")


async def test_the_front_door_is_the_app_for_a_signed_in_app_only(
    app_factory: AppFactory, build: Path
) -> None:
    async with app_factory(web_app_dir=str(build), local_domain="social.example") as (_, client):
        visitor = await client.get("/", headers={"Accept-Encoding": "identity"})
        app = await client.get("/", headers={**APP_COOKIE, "Accept-Encoding": "identity"})
        other_value = await client.get("/", headers={"Cookie": "connecthub_app=0"})

    assert SHELL not in visitor.content
    assert "<script" not in visitor.text  # the front door: no JavaScript
    assert "cookie" in visitor.headers["vary"].lower()
    assert app.content == SHELL
    assert app.headers["cache-control"] == "no-cache"
    assert "cookie" in app.headers["vary"].lower()
    csp = app.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "connect-src 'self' ws://social.example;" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert other_value.content != SHELL


async def test_public_pages_are_the_app_for_a_signed_in_app_only(
    app_factory: AppFactory, build: Path
) -> None:
    async with app_factory(web_app_dir=str(build)) as (app, client):
        _alice, token = await user_with_token(app, "alice")
        status = await post_status(client, token, "Kopi time #kopi")
        path = "/" + status["url"].split("/", 3)[3]  # /@alice/<id>
        pages = {}
        for address in ("/@alice", path, "/tags/kopi"):
            pages[address] = (
                await client.get(address, headers={"Accept-Encoding": "identity"}),
                await client.get(address, headers={**APP_COOKIE, "Accept-Encoding": "identity"}),
            )
        private = await client.get("/@nobody", headers=APP_COOKIE)

    assert path.startswith("/@alice/")
    for address, (visitor, signed_in) in pages.items():
        assert visitor.status_code == 200, address
        assert SHELL not in visitor.content, address
        assert 'property="og:title"' in visitor.text or "og:title" in visitor.text, address
        assert "cookie" in visitor.headers["vary"].lower(), address
        assert signed_in.status_code == 200, address
        assert signed_in.content == SHELL, address
        assert "content-security-policy" in signed_in.headers
    assert "Kopi time" in pages[path][0].text
    assert private.content == SHELL  # the app says what is missing, as for any address


async def test_the_old_web_addresses_move_for_good(app_factory: AppFactory, build: Path) -> None:
    async with app_factory(web_app_dir=str(build), local_domain="social.example") as (_, client):
        root = await client.get("/web")
        home = await client.get("/web/")
        profile = await client.get("/web/@alice")
        callback = await client.get("/web/callback?code=abc&state=xyz")
        worker = await client.get("/web/sw.js")

    assert root.status_code == home.status_code == profile.status_code == 301
    assert root.headers["location"] == "http://social.example/"
    assert home.headers["location"] == "http://social.example/"
    assert profile.headers["location"] == "http://social.example/@alice"
    assert callback.headers["location"] == "http://social.example/callback?code=abc&state=xyz"
    # The worker installed at /web/ is replaced by one that unregisters itself.
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert b"registration.unregister()" in worker.content


def test_every_server_segment_is_known_to_the_app(app: FastAPI) -> None:
    """The app's router and service worker leave the server's first path segments alone
    (web/src/lib/paths.ts): every route of the server must have its segment listed there,
    or be one of the addresses shared with the public pages."""
    source = (Path(__file__).parents[2] / "web" / "src" / "lib" / "paths.ts").read_text()
    listed = source.split("SERVER_SEGMENTS = [", 1)[1].split("]", 1)[0]
    known = {part.strip().strip('"') for part in listed.split(",") if part.strip()}
    shared = {"", "@{username}", "tags"}
    for route in app.router.routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str) or isinstance(route, _AppRoute):
            continue
        first = path.lstrip("/").split("/", 1)[0]
        assert first in known | shared, f"{path}: add {first!r} to web/src/lib/paths.ts"
