"""Preview cards: queued after a post or an edit that changes its first link, fetched by
a job (never on the request path) under `infra/public_fetch.py`'s rules, shared by URL.

The job: is the status still there, still linking to that URL, still without a card? A
card already made for the URL is attached as it is; otherwise the page is fetched (HTML
only), read (cards/page.py), its image fetched the same way and processed by the media
pipeline, and the card stored and attached in one short transaction. The network is never
waited on inside a transaction. Attaching is an UPDATE of the status row, so its cached
rendering is dropped after the commit and the next read shows the card everywhere.

A fetch that is refused or fails leaves no card and is not retried (as Mastodon): the
reason is logged.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.cards import repository
from connecthub.cards.models import URL_LENGTH, PreviewCard
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.ids import new_id
from connecthub.infra.engines import Engines
from connecthub.infra.public_fetch import FetchPolicy, FetchRefused, fetch
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service as media_service
from connecthub.statuses.text import preview_link

if TYPE_CHECKING:
    from connecthub.cards.page import PageDetails

FETCH_JOB = "cards.fetch"
IMAGE_ROLE = "card"

log = structlog.get_logger(__name__)


def queue_fetch(uow: UnitOfWork, settings: Settings, status_id: int, url: str | None) -> None:
    """After the commit, fetch the card of `url` (the status' first link) for the status;
    a link too long to key a card by gets none (as Mastodon)."""
    if url is None or len(url.encode()) > URL_LENGTH or not settings.preview_cards_enabled:
        return
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    uow.enqueue(
        FETCH_JOB, {"status_id": status_id, "url": url}, job_id=f"card:{status_id}:{digest}"
    )


async def cards_by_id(session: AsyncSession, card_ids: Iterable[int]) -> dict[int, PreviewCard]:
    """Cards by id, in one query (statuses' rendering)."""
    return await repository.by_ids(session, card_ids)


def _policy(settings: Settings, max_bytes: int, accept: str) -> FetchPolicy:
    return FetchPolicy(
        max_bytes=max_bytes,
        timeout_seconds=settings.preview_card_timeout_seconds,
        accept=(accept,),
        allowed_hosts=frozenset(h.lower() for h in settings.preview_card_allowed_hosts),
    )


def page_policy(settings: Settings) -> FetchPolicy:
    return _policy(settings, settings.preview_card_max_page_bytes, "text/html")


def image_policy(settings: Settings) -> FetchPolicy:
    limit = min(settings.preview_card_max_image_bytes, settings.media_image_max_bytes)
    return _policy(settings, limit, "image/")


async def _wanted(engines: Engines, status_id: int, url: str) -> tuple[str | None, int | None]:
    """The status' text if it still wants a card for `url` (None: it does not), and the
    card the URL already has."""
    async with engines.db.session() as session:
        state = await repository.status_link_state(session, status_id)
        if state is None:
            return None, None
        text, card_id = state
        if card_id is not None or preview_link(text, engines.settings.local_domain) != url:
            return None, None
        existing = await repository.by_url(session, url)
        return text, existing.id if existing is not None else None


async def _image(settings: Settings, details: PageDetails) -> media_service.RemoteImage | None:
    """The page's image, fetched under the same rules and processed (outside any
    transaction); None when there is none or it is refused."""
    if details.image_url is None:
        return None
    try:
        fetched = await fetch(details.image_url, image_policy(settings))
    except FetchRefused as exc:
        log.info("cards.image_refused", url=details.image_url, reason=exc.reason)
        return None
    image = await media_service.process_remote_image(settings, fetched.body, IMAGE_ROLE)
    if image is None:
        log.info("cards.image_refused", url=details.image_url, reason="not an image we process")
    return image


def _card_values(details: PageDetails) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(),
        "url": details.url,
        "title": details.title,
        "description": details.description,
        "type": "link",
        "author_name": details.author_name,
        "author_url": details.author_url,
        "provider_name": details.provider_name,
        "provider_url": "",
        "html": "",
        "embed_url": "",
        "language": details.language,
        "published_at": details.published_at,
        "authors": details.authors,
        "image_key": None,
        "image_description": details.image_description,
        "width": 0,
        "height": 0,
        "blurhash": None,
        "created_at": now,
        "updated_at": now,
    }


async def fetch_for_status(engines: Engines, status_id: int, url: str) -> None:
    """The card job (idempotent: a status that has its card is left alone)."""
    settings = engines.settings
    if not settings.preview_cards_enabled:
        return
    text, card_id = await _wanted(engines, status_id, url)
    if text is None:
        return
    details = image = None
    if card_id is None:
        try:
            page = await fetch(url, page_policy(settings))
        except FetchRefused as exc:
            log.info("cards.page_refused", url=url, reason=exc.reason)
            return
        # Loaded by the job that reads a page, not with the app (BeautifulSoup and its CSS
        # selectors were ~50 ms of every process's start).
        from connecthub.cards.page import parse_page

        # CPU-bound on up to PREVIEW_CARD_MAX_PAGE_BYTES: off the event loop.
        details = await asyncio.to_thread(parse_page, page.body, page.url, page.charset)
        if not details.title or len(details.url.encode()) > URL_LENGTH:
            log.info("cards.page_without_card", url=url)
            return
        image = await _image(settings, details)
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            if details is not None:
                card_id = await _store_card(session, engines, details, image)
            assert card_id is not None
            # Only to the status as it was read: an edit meanwhile queued its own job.
            await repository.attach(session, status_id, text, card_id)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


async def _store_card(
    session: AsyncSession,
    engines: Engines,
    details: PageDetails,
    image: media_service.RemoteImage | None,
) -> int:
    existing = await repository.by_url(session, details.url)
    if existing is not None:  # its canonical URL differs from the link: made before
        return existing.id
    values = _card_values(details)
    if image is not None:
        await media_service.store(session, engines.storage, [image.stored])
        values.update(
            image_key=image.stored.key,
            width=image.width,
            height=image.height,
            blurhash=image.blurhash,
        )
    return await repository.add_card(session, values)
