"""The server's pages and mails in the reader's language (http/pages.py, core/i18n.py):
the signed-in account's locale, else the browser's `Accept-Language`, else English."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.accounts.support import (
    STRONG_PASSWORD,
    alert_text,
    body_of,
    csrf,
    outbox,
    user_and_account,
    web_sign_in,
    years_ago,
)
from tests.admin.support import act, staff
from tests.factories import create_user, register_oauth_app
from tests.social_factories import post_status, user_with_token

INDONESIAN = {"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def _lang(page: str) -> str:
    html = BeautifulSoup(page, "html.parser").find("html")
    assert html is not None
    return str(html["lang"])


async def test_the_front_door_follows_accept_language(client) -> None:
    english = await client.get("/", headers=ENGLISH)
    indonesian = await client.get("/", headers=INDONESIAN)
    fallback = await client.get("/", headers={"Accept-Language": "fr-FR"})

    assert _lang(english.text) == "en"
    assert "Server rules" in english.text
    assert _lang(indonesian.text) == "id"
    assert "Aturan server" in indonesian.text
    assert "Server rules" not in indonesian.text
    assert ">Masuk<" in indonesian.text
    assert _lang(fallback.text) == "en"
    assert "Accept-Language" in indonesian.headers["vary"]


async def test_sign_in_page_and_its_errors_in_indonesian(app, client) -> None:
    await create_user(app, "yara", password=STRONG_PASSWORD)
    page = await client.get("/auth/sign_in", headers=INDONESIAN)
    assert "Kata sandi" in page.text
    assert "Lupa kata sandi?" in page.text

    client.headers.update(INDONESIAN)
    wrong = await web_sign_in(client, "yara@example.com", "not-the-password")
    assert alert_text(wrong.text) == "Alamat email atau kata sandi salah"


async def test_sign_up_in_indonesian_keeps_the_language_for_the_account(app, client) -> None:
    client.headers.update(INDONESIAN)
    page = await client.get("/auth/sign_up")
    assert "Nama pengguna" in page.text
    token = await csrf(client, "/auth/sign_up")
    mismatch = await client.post(
        "/auth/sign_up",
        data={
            "authenticity_token": token,
            "username": "wulan",
            "email": "wulan@example.com",
            "password": STRONG_PASSWORD,
            "password_confirmation": "something else",
            "date_of_birth": years_ago(20),
            "agreement": "1",
        },
    )
    assert mismatch.status_code == 422
    assert "tidak sama dengan kata sandi" in mismatch.text
    token = await csrf(client, "/auth/sign_up")
    short = await client.post(
        "/auth/sign_up",
        data={
            "authenticity_token": token,
            "username": "wulan",
            "email": "wulan@example.com",
            "password": "kopi",
            "password_confirmation": "kopi",
            "date_of_birth": years_ago(20),
            "agreement": "1",
        },
    )
    assert short.status_code == 422
    assert "terlalu pendek (minimal 8 karakter)" in short.text

    token = await csrf(client, "/auth/sign_up")
    response = await client.post(
        "/auth/sign_up",
        data={
            "authenticity_token": token,
            "username": "wulan",
            "email": "wulan@example.com",
            "password": STRONG_PASSWORD,
            "password_confirmation": STRONG_PASSWORD,
            "date_of_birth": years_ago(20),
            "agreement": "1",
        },
    )
    assert response.status_code == 303, response.text
    found = await user_and_account(app, "wulan")
    assert found is not None
    assert found[0].locale == "id"


async def test_the_signed_in_account_s_locale_wins_over_the_browser(app, client) -> None:
    await create_user(app, "sari", password=STRONG_PASSWORD, locale="id")
    _alice, token = await user_with_token(app, "alice")
    await post_status(client, token, "halo semua")
    signed_in = await web_sign_in(client, "sari@example.com")
    assert signed_in.status_code == 303

    client.headers.update(ENGLISH)
    front = await client.get("/")
    assert _lang(front.text) == "id"
    assert "Aturan server" in front.text
    profile = await client.get("/@alice")
    assert _lang(profile.text) == "id"
    assert "Kiriman" in profile.text
    assert "Buka aplikasi" in profile.text
    assert profile.headers["cache-control"].startswith("private")


async def test_public_pages_in_indonesian(app, client) -> None:
    _alice, token = await user_with_token(app, "alice")
    status = await post_status(client, token, "kopi pagi")
    page = await client.get(status["url"], headers=INDONESIAN)
    assert _lang(page.text) == "id"
    assert "0 balasan" in page.text
    missing = await client.get("/@nobody", headers=INDONESIAN)
    assert missing.status_code == 404
    assert "Tidak ditemukan" in missing.text


async def test_the_authorize_page_in_indonesian(app, client) -> None:
    oauth_app = await register_oauth_app(client)
    page = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": oauth_app["client_id"],
            "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            "scope": "read write:statuses",
        },
        headers=INDONESIAN,
    )
    assert page.status_code == 200, page.text
    assert _lang(page.text) == "id"
    assert "Izinkan" in page.text
    assert "Membaca semua data akun Anda" in page.text
    assert "Mengubah statuses milik Anda" in page.text


async def test_password_reset_mail_in_the_account_s_language(app, client, test_env) -> None:
    await create_user(app, "sari", password=STRONG_PASSWORD, locale="id")
    token = await csrf(client, "/auth/password/new")
    response = await client.post(
        "/auth/password", data={"authenticity_token": token, "email": "sari@example.com"}
    )
    assert response.status_code == 200
    (mail,) = outbox(test_env.workdir / "outbox")
    assert "atur ulang kata sandi" in str(mail["Subject"])
    assert "Seseorang meminta pengaturan ulang kata sandi" in body_of(mail)


async def test_a_moderator_s_warning_mail_in_the_account_s_language(app, client, test_env) -> None:
    sari, _user = await create_user(app, "sari", locale="id")
    _mod, mod_token = await staff(app, "wati")
    warned = await act(client, mod_token, sari.id, "none", text="Tolong lebih sopan.")
    assert warned.status_code == 200, warned.text
    (mail,) = outbox(test_env.workdir / "outbox")
    assert "tindakan moderasi pada @sari" in str(mail["Subject"])
    body = body_of(mail)
    assert "Moderator mengirimi Anda peringatan tentang akun Anda." in body
    assert "Catatan dari moderator:\n\nTolong lebih sopan." in body
