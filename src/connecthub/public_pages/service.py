"""What the public pages show: a profile with a page of its posts, a status with its thread,
a hashtag's public posts — each exactly what the API would answer the same viewer (None:
anonymous), read through the same services, so THE visibility rule (statuses/access.py)
decides here as everywhere: a post the viewer may not read is a 404, never a page.

The pages are built from the API's own entities (one converter from models to what readers
see): status content and profile HTML are those the server sanitised when it stored or
serialised them (core/html.py), nothing else is marked safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connecthub import entities
from connecthub.accounts import service as accounts
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.html import plain_text
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden, Gone, NotFound
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses import service as statuses
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import status_entities, tag_url
from connecthub.statuses.text import is_hashtag_name
from connecthub.timelines import service as timelines

# Posts on one page of a profile or hashtag (Mastodon's web pages show 20).
PAGE_SIZE = 20
# OpenGraph descriptions are cut here (Mastodon keeps them short too).
DESCRIPTION_LENGTH = 300


@dataclass(frozen=True)
class Listing:
    statuses: list[entities.Status]
    # The `max_id` of the next (older) page, when this one was full.
    older_max_id: str | None


@dataclass(frozen=True)
class ProfilePage:
    account: entities.Account
    description: str
    listing: Listing
    # The posts pinned to the profile, above the first page (none on older pages).
    pinned: list[entities.Status] = field(default_factory=list)


@dataclass(frozen=True)
class StatusPage:
    status: entities.Status
    description: str
    image: str | None
    ancestors: list[entities.Status] = field(default_factory=list)
    descendants: list[entities.Status] = field(default_factory=list)


@dataclass(frozen=True)
class Redirect:
    """A boost's page is its original's (as Mastodon answers)."""

    url: str


@dataclass(frozen=True)
class TagPage:
    name: str
    url: str
    listing: Listing


def summary(markup: str) -> str:
    """Sanitised HTML as a short plain-text description."""
    text = " ".join(plain_text(markup).split())
    if len(text) <= DESCRIPTION_LENGTH:
        return text
    return text[: DESCRIPTION_LENGTH - 1].rstrip() + "…"


async def _author(uow: UnitOfWork, username: str) -> Account:
    """The local account named `username`, as Mastodon answers for one gone: 404 when there
    is none, 410 when it was deleted (suspended and its sign-in disabled for good), 403 while
    a moderator's suspension lasts."""
    account = await accounts.account_by_username(uow.session, username)
    if account is None:
        raise NotFound()
    if account.suspended_at is not None:
        user = await accounts.user_for_account(uow.session, account.id)
        if user is None or user.disabled:
            raise Gone("This account is gone")
        raise Forbidden("This account is suspended")
    return account


async def _account_entity(
    uow: UnitOfWork, settings: Settings, account: Account
) -> entities.Account:
    role = await accounts.role_of_account(uow.session, account.id)
    found = await accounts.profile_emojis(uow.session, settings, account)
    return account_entity(settings, account, role, found)


def _listing(shown: list[entities.Status], read: int, oldest_id: int | None) -> Listing:
    full = read >= PAGE_SIZE and oldest_id is not None
    return Listing(statuses=shown, older_max_id=str(oldest_id) if full else None)


async def profile(
    uow: UnitOfWork, settings: Settings, viewer_id: int | None, username: str, max_id: int | None
) -> ProfilePage:
    """The profile and a page of its posts and boosts (no replies: Mastodon's profile tab),
    newest first, older than `max_id`."""
    account = await _author(uow, username)
    entity = await _account_entity(uow, settings, account)

    async def read(page: Page, *, pinned: bool) -> list[Status]:
        return await statuses.account_statuses(
            uow,
            viewer_id,
            account.id,
            page,
            exclude_replies=not pinned,
            exclude_reblogs=pinned,
            only_media=False,
            pinned=pinned,
            tagged=None,
        )

    rows = await read(Page(max_id=max_id, limit=PAGE_SIZE), pinned=False)
    pinned = await read(Page(limit=PAGE_SIZE), pinned=True) if max_id is None else []
    shown = await status_entities(
        uow.session, [*pinned, *rows], viewer_id, settings, context="account"
    )
    pinned_ids = {str(s.id) for s in pinned}
    return ProfilePage(
        account=entity,
        description=summary(entity["note"]),
        listing=_listing(
            [s for s in shown if s["id"] not in pinned_ids],
            len(rows),
            rows[-1].id if rows else None,
        ),
        pinned=[s for s in shown if s["id"] in pinned_ids],
    )


def _image(status: entities.Status) -> str | None:
    """The first image's preview (or a video's poster), for link previews."""
    for attachment in status["media_attachments"]:
        if attachment["type"] in ("image", "gifv", "video") and attachment["preview_url"]:
            return attachment["preview_url"]
    return None


async def status(
    uow: UnitOfWork, settings: Settings, viewer_id: int | None, username: str, status_id: int
) -> StatusPage | Redirect:
    """The status at `/@username/status_id` with the thread around it, if the viewer may
    read it and `username` wrote it; else 404."""
    author = await _author(uow, username)
    row = await statuses.access_status(uow, viewer_id, status_id)
    if row.account_id != author.id:
        raise NotFound()
    shown = await status_entities(uow.session, [row], viewer_id, settings, context="thread")
    if not shown:
        raise NotFound()  # hidden by one of the viewer's own filters: nothing to show
    main = shown[0]
    boosted = main["reblog"]
    if boosted is not None:
        return Redirect(boosted["url"] or boosted["uri"])
    above, below = await statuses.thread(uow, viewer_id, row)
    thread = await status_entities(
        uow.session, [*above, *below], viewer_id, settings, context="thread"
    )
    ancestor_ids = {str(s.id) for s in above}
    description = main["spoiler_text"] or summary(main["content"])
    return StatusPage(
        status=main,
        description=description,
        image=None if main["sensitive"] else _image(main),
        ancestors=[s for s in thread if s["id"] in ancestor_ids],
        descendants=[s for s in thread if s["id"] not in ancestor_ids],
    )


async def tag(
    uow: UnitOfWork, settings: Settings, viewer_id: int | None, name: str, max_id: int | None
) -> TagPage:
    """A page of the public posts with hashtag `name`, older than `max_id`."""
    name = name.lstrip("#")
    if not is_hashtag_name(name):
        raise NotFound()
    rows = await timelines.hashtag(
        uow,
        viewer_id,
        Page(max_id=max_id, limit=PAGE_SIZE),
        any_of=[name],
        all_of=[],
        none_of=[],
        only_media=False,
    )
    shown = await status_entities(uow.session, rows, viewer_id, settings, context="public")
    return TagPage(
        name=name.lower(),
        url=tag_url(settings, name),
        listing=_listing(shown, len(rows), rows[-1].id if rows else None),
    )
