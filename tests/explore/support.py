"""Helpers for the explore tests: posts written at a chosen time (a trend's baseline is
the days before), and running the trends job as of a chosen moment."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from connecthub.clock import utcnow
from connecthub.explore import service
from connecthub.ids import id_for_time
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Status, StatusTag, Tag, Visibility


async def tag_named(app: FastAPI, name: str) -> int:
    async with app.state.engines.db.transaction() as session:
        tag = Tag(name=name, name_key=name.lower())
        session.add(tag)
        await session.flush()
        return int(tag.id)


async def post_at(
    app: FastAPI,
    account_id: int,
    at: datetime,
    *,
    tag_id: int | None = None,
    visibility: Visibility = Visibility.PUBLIC,
    sequence: int = 0,
) -> int:
    """A post written at `at` (its id made for that time, as the clock would have)."""
    status_id = id_for_time(int(at.timestamp() * 1000)) + sequence
    async with app.state.engines.db.transaction() as session:
        session.add(
            Status(
                id=status_id,
                account_id=account_id,
                text="trending?",
                content="<p>trending?</p>",
                visibility=visibility,
                created_at=at,
            )
        )
        await session.flush()
        if tag_id is not None:
            session.add(StatusTag(status_id=status_id, tag_id=tag_id))
    return status_id


async def refresh(app: FastAPI, at: datetime | None = None, **rules: object) -> dict[str, int]:
    """The trends job as of `at` (now unless given); `rules` override the settings'."""
    engines = app.state.engines
    base = service.TrendRules.of(engines.settings)
    chosen = service.TrendRules(**{**base.__dict__, **rules})
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        counted = await service.refresh_trends(uow, chosen, at or utcnow())
        await uow.commit()
    return counted


async def embed(app: FastAPI) -> int:
    """The embeddings job's work, now: accounts that posted since their vector was made."""
    engines = app.state.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        done = await service.embed_stale_accounts(uow, service.EMBED_BATCH)
        await uow.commit()
    return done
