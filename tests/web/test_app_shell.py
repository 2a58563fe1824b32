"""The web app's build served at /web/: hashed assets immutable, the shell for every screen,
precompressed copies sent to clients that accept them, the app's own strict CSP."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest

AppFactory = Callable[..., Any]

SHELL = (
    b"<!doctype html><html><head>"
    b'<script type="module" src="/web/assets/index-abc123.js"></script>'
    b'</head><body><div id="app"></div></body></html>'
)
SCRIPT = b"console.log('the app');" * 40


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
        for path in ("/web", "/web/", "/web/notifications", "/web/@alice", "/web/callback"):
            response = await client.get(path, headers={"Accept-Encoding": "identity"})
            assert response.status_code == 200, path
            assert response.content == SHELL
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["cache-control"] == "no-cache"
        # a profile on another server keeps its dots: still a screen
        assert (await client.get("/web/@bob@elsewhere.example")).status_code == 200

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
        br = await client.get("/web/assets/index-abc123.js", headers={"Accept-Encoding": "br"})
        gz = await client.get(
            "/web/assets/index-abc123.js", headers={"Accept-Encoding": "gzip, br;q=0"}
        )
        plain = await client.get(
            "/web/assets/index-abc123.js", headers={"Accept-Encoding": "identity"}
        )

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
        worker = await client.get("/web/sw.js")
        manifest = await client.get("/web/manifest.webmanifest")
        icon = await client.get("/web/icon-192.png")

    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/web/"
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.headers["cache-control"] == "no-cache"
    assert icon.headers["content-type"] == "image/png"


async def test_missing_files_and_paths_outside_the_build_are_404(
    app_factory: AppFactory, build: Path
) -> None:
    (build.parent / "secret.txt").write_text("not served")
    async with app_factory(web_app_dir=str(build)) as (_, client):
        for path in (
            "/web/assets/index-nope.js",
            "/web/assets/anything",
            "/web/missing.js",
            "/web/index.html.br",
            "/web/../secret.txt",
            "/web/%2e%2e/secret.txt",
            "/web/assets/..%2f..%2fsecret.txt",
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
        app = await client.get("/web/")
        front = await client.get("/")

    assert app.status_code == 404
    assert "not built" in app.json()["error"]
    assert front.status_code == 200
    assert "<script" not in front.text
    assert 'href="/web/"' not in front.text


async def test_the_front_door_links_to_a_built_app(app_factory: AppFactory, build: Path) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        front = await client.get("/")

    assert 'href="/web/"' in front.text
    assert 'href="/auth/sign_in"' in front.text  # the server's own sign-in stays


async def test_head_answers_like_get_without_a_body(app_factory: AppFactory, build: Path) -> None:
    async with app_factory(web_app_dir=str(build)) as (_, client):
        shell = await client.head("/web/home")
        asset = await client.head("/web/assets/index-abc123.js", headers={"Accept-Encoding": "br"})
        root = await client.head("/web")

    assert shell.status_code == asset.status_code == root.status_code == 200
    assert shell.content == b""
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "br"
