"""Applies Alembic migrations on either engine; safe to run again and from several
processes at once (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from connecthub.config import Settings
from connecthub.infra.db import Database

_MIGRATION_LOCK_KEY = 7_431_994_201  # any constant shared by every ConnectHub process


def migrations_dir() -> Path:
    override = os.environ.get("CONNECTHUB_MIGRATIONS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(settings: Settings, revision: str = "head") -> str | None:
    """Bring the database to `revision`; return the revision it is at afterwards."""
    db = Database(settings, direct=True)
    config = alembic_config()

    def run(connection: Any) -> str | None:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with db.primary.begin() as connection:
            return await connection.run_sync(run)
    finally:
        await db.dispose()


async def current_revision(settings: Settings) -> str | None:
    db = Database(settings, direct=True)
    try:
        async with db.primary.connect() as connection:
            return await connection.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await db.dispose()


def generate(settings: Settings, message: str) -> None:
    """Developer helper: autogenerate a revision against the configured database."""
    import asyncio

    db = Database(settings, direct=True)
    config = alembic_config()

    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async def go() -> None:
        try:
            async with db.primary.begin() as connection:
                await connection.run_sync(run)
        finally:
            await db.dispose()

    asyncio.run(go())
