"""Helpers for the accounts tests: sign-up through the API, the web forms' CSRF field,
reading rows back, and a tiny SMTP server that keeps what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pyotp
from bs4 import BeautifulSoup
from fastapi import FastAPI
from sqlalchemy import select, text

from connecthub.accounts.models import Account, User
from tests.factories import create_app_token, create_token, create_user
from tests.servers import free_port

STRONG_PASSWORD = "violet-kettle-orbit-91"
TWO_FACTOR = "/api/v1/connecthub/two_factor"


def years_ago(years: int, extra_days: int = 0) -> str:
    today = date.today()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        born = today.replace(year=today.year - years, day=28)
    return date.fromordinal(born.toordinal() - extra_days).isoformat()


def sign_up_fields(username: str = "bob", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "username": username,
        "email": f"{username.lower()}@example.com",
        "password": STRONG_PASSWORD,
        "agreement": "true",
        "locale": "en",
        "date_of_birth": years_ago(30),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


async def api_sign_up(
    app: FastAPI, client: httpx.AsyncClient, username: str = "bob", **overrides: Any
) -> httpx.Response:
    app_token = await create_app_token(app, scopes="read write follow")
    return await client.post(
        "/api/v1/accounts",
        data=sign_up_fields(username, **overrides),
        headers={"Authorization": f"Bearer {app_token}"},
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hidden_fields(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {
        str(tag.get("name")): str(tag.get("value") or "")
        for tag in soup.select("input[type=hidden]")
    }


async def enrol_two_factor(
    app: FastAPI, client: httpx.AsyncClient, username: str = "tess"
) -> tuple[str, str, list[str]]:
    """(token, TOTP secret, recovery codes) of a new user with two-factor sign-in on. The
    current step's code is spent confirming: use `next_totp` for the next one."""
    account, _ = await create_user(app, username, password=STRONG_PASSWORD)
    token = await create_token(app, account.id)
    started = await client.post(TWO_FACTOR, headers=bearer(token))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await client.post(
        f"{TWO_FACTOR}/confirm",
        data={"code": pyotp.TOTP(secret).now(), "password": STRONG_PASSWORD},
        headers=bearer(token),
    )
    assert confirmed.status_code == 200, confirmed.text
    return token, secret, confirmed.json()["recovery_codes"]


def next_totp(secret: str) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30)


def previous_totp(secret: str) -> str:
    """The code of the step before the current one (so the current one stays unused),
    taken at least 2 s before the step ends: across that boundary before the server checked
    it, it was two steps old and refused (a failure seen once in a parallel run)."""
    left = 30 - time.time() % 30
    if left < 2:
        time.sleep(left + 0.05)
    return pyotp.TOTP(secret).at(time.time() - 30)


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return hidden_fields(page.text)["authenticity_token"]


async def web_sign_in(
    client: httpx.AsyncClient, email_address: str, password: str = STRONG_PASSWORD
) -> httpx.Response:
    token = await csrf(client, "/auth/sign_in")
    return await client.post(
        "/auth/sign_in",
        data={"authenticity_token": token, "email": email_address, "password": password},
    )


def alert_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    alert = soup.select_one("[role=alert]")
    return alert.get_text(strip=True) if alert else ""


def field_error(html: str, name: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    node = soup.select_one(f"#{name}-error")
    return node.get_text(strip=True) if node else ""


async def user_and_account(app: FastAPI, username: str) -> tuple[User, Account] | None:
    async with app.state.engines.db.session() as session:
        row = (
            await session.execute(
                select(User, Account)
                .join(Account, Account.id == User.account_id)
                .where(Account.username_key == username.lower())
            )
        ).first()
        return (row[0], row[1]) if row else None


async def count_rows(app: FastAPI, table: str) -> int:
    async with app.state.engines.db.session() as session:
        query = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - names chosen by tests
        return int((await session.execute(query)).scalar_one())


async def all_rows_text(app: FastAPI, tables: list[str]) -> str:
    """Every value of every row of `tables`, as one string, for storage audits."""
    parts = []
    async with app.state.engines.db.session() as session:
        for table in tables:
            query = text(f"SELECT * FROM {table}")  # noqa: S608 - names chosen by tests
            for row in (await session.execute(query)).all():
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


async def execute(app: FastAPI, statement: str, **params: Any) -> None:
    async with app.state.engines.db.transaction() as session:
        await session.execute(text(statement), params)


def outbox(directory: Path) -> list[EmailMessage]:
    if not directory.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(directory.glob("*.eml"))
    ]


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The path-and-query of the first link to `path` in the mail."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}\?\S+)", body_of(message))
    assert match, body_of(message)
    return match.group(1)


@dataclass
class SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that stores each message it is given."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(line: str) -> None:
            writer.write(f"{line}\r\n".encode())

        reply("220 sink ESMTP")
        await writer.drain()
        while line := await reader.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                reply("250 sink")
            elif command.startswith("DATA"):
                reply("354 end with <CRLF>.<CRLF>")
                await writer.drain()
                data = bytearray()
                while (chunk := await reader.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.messages.append(
                    email.message_from_bytes(bytes(data), policy=email.policy.default)  # type: ignore[arg-type]
                )
                self.arrived.set()
                reply("250 queued")
            elif command.startswith("QUIT"):
                reply("221 bye")
                await writer.drain()
                break
            else:  # MAIL, RCPT, RSET, NOOP
                reply("250 ok")
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    server = await asyncio.start_server(sink._session, "127.0.0.1", free_port())
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
