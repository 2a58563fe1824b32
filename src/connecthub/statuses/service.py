"""Posting, editing and deleting statuses: the rules, the counters and the effects that
follow a commit (notifications, conversations, stream events and the timeline hooks).

Hooks for other domains (jobs enqueued after commit):
- `FAN_OUT_JOB` {"status_id", "event"?}: a new status or boost to push into home timelines
  (or, with `event: status.update`, an edit to announce on followers' and lists' streams).
  A new status's job also carries "account_id", "entity" (rendered here, as everyone may
  see it, so the job renders nothing) and "subscribers" (whether the author's subscribers
  are notified: the job does it as it walks the followers) and "tagged" (a public post
  with hashtags: their followers' homes get it too, `timelines.fan_out_tag_followers`).
  One job per post;
- `REMOVE_JOB` {"status_id", "account_id", "reblog_of_id"}: a deleted status or undone
  boost to take out of timelines (the row is gone by then).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import channels
from connecthub.accounts.models import Account
from connecthub.analytics import service as analytics
from connecthub.cards import service as cards_service
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.conversations import service as conversations_service
from connecthub.core.pagination import Page
from connecthub.detection import service as detection_service
from connecthub.detection.spam import is_new as is_new_account
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import new_id, parse_id
from connecthub.infra import entity_cache, idempotency
from connecthub.infra.uow import UnitOfWork
from connecthub.instance.limits import RAW_STATUS_LENGTH_FACTOR
from connecthub.media import service as media_service
from connecthub.notifications.service import NotificationType, notify_many
from connecthub.statuses import repository, text
from connecthub.statuses.models import (
    Bookmark,
    Favourite,
    HeldReason,
    Poll,
    Status,
    StatusEdit,
    Tag,
    Visibility,
)
from connecthub.statuses.schemas import VISIBILITIES, PollDraft, StatusDraft
from connecthub.statuses.serializers import (
    STATUS,
    remember_new,
    remember_viewer_rules,
    status_entity,
    tag_url,
)

FAN_OUT_JOB = "timelines.fan_out"
REMOVE_JOB = "timelines.remove"
POLL_EXPIRED_JOB = "statuses.poll_expired"
NOTIFY_SUBSCRIBERS_JOB = "statuses.notify_subscribers"
IDEMPOTENCY_SCOPE = "statuses.create"


@dataclass(frozen=True)
class Author:
    account: Account
    default_visibility: Visibility
    role: str | None


@dataclass(frozen=True)
class Posted:
    """What `create_status` gives back: the status, and whether this request created it
    (False: an `Idempotency-Key` retry answered with the first request's status)."""

    status: Status
    created: bool


async def _author(uow: UnitOfWork, account_id: int, now: datetime) -> Author:
    """The posting account with the post counted, its default visibility and role, in one
    statement (the transaction rolls back if the post is refused after it)."""
    found = await repository.count_post(uow.session, account_id, now)
    if found is None:
        raise NotFound()
    account, privacy, role = found
    return Author(account, VISIBILITIES.get(privacy or "public", Visibility.PUBLIC), role)


def _check_length(settings: Settings, draft: StatusDraft) -> None:
    if not draft.text.strip() and draft.poll is None and not draft.media_ids:
        raise ValidationFailed("status", "can't be blank")
    if draft.media_ids and draft.poll is not None:
        raise ValidationFailed("media_ids", "cannot be combined with a poll")
    limit = settings.max_status_characters
    # The typed length first: it is what bounds the stored text and HTML, and it keeps the
    # link and mention patterns from running over a body far beyond any post.
    typed_limit = limit * RAW_STATUS_LENGTH_FACTOR
    if len(draft.text) + len(draft.spoiler_text) > typed_limit:
        raise ValidationFailed(
            "status", f"is too long (maximum is {typed_limit} characters with links in full)"
        )
    if text.length(draft.text) + len(draft.spoiler_text) > limit:
        raise ValidationFailed("status", f"is too long (maximum is {limit} characters)")


async def _render(
    uow: UnitOfWork, settings: Settings, raw: str
) -> tuple[str, list[Account], list[Tag]]:
    """HTML content, the local accounts it mentions, and its tags."""
    parsed = text.parse(raw, settings.local_domain)
    mentioned = await repository.local_accounts_by_username(uow.session, parsed.mentions)
    root = settings.base_url
    content = text.render(
        raw,
        local_domain=settings.local_domain,
        mention_url={a.username_key: f"{root}/@{a.username}" for a in mentioned},
        tag_url=lambda name: tag_url(settings, name),
    )
    tags = await repository.tags_by_name(uow.session, parsed.hashtags)
    order = {name: index for index, name in enumerate(parsed.mentions)}
    mentioned.sort(key=lambda a: order.get(a.username_key, 0))
    return content, mentioned, tags


def _poll_row(status: Status, draft: PollDraft) -> Poll:
    return Poll(
        status_id=status.id,
        account_id=status.account_id,
        options=draft.options,
        multiple=draft.multiple,
        hide_totals=draft.hide_totals,
        expires_at=utcnow() + timedelta(seconds=draft.expires_in),
    )


def poll_expired_job_id(poll_id: int) -> str:
    return f"poll-expired:{poll_id}"


def _schedule_poll_expiry(uow: UnitOfWork, poll: Poll, seconds: int) -> None:
    uow.enqueue(
        POLL_EXPIRED_JOB,
        {"poll_id": poll.id},
        job_id=poll_expired_job_id(poll.id),
        delay_seconds=seconds,
    )


async def _check_direct_allowed(uow: UnitOfWork, sender_id: int, recipient_ids: list[int]) -> None:
    """A direct message to someone whose setting refuses it is refused as a whole, naming
    them (docs/privacy.md): sent to the others only, it would mislead the sender."""
    refusing = await repository.refusing_direct_messages(uow.session, sender_id, recipient_ids)
    if refusing:
        names = ", ".join(f"@{name}" for name in refusing)
        raise ValidationFailed("status", f"{names} does not accept direct messages from you")


async def create_status(
    uow: UnitOfWork,
    settings: Settings,
    *,
    account_id: int,
    draft: StatusDraft,
    application_id: int | None = None,
    idempotency_key: str | None = None,
) -> Posted:
    """Post a status. With an `Idempotency-Key`, a retry returns the first status and
    creates nothing."""
    # Read while the session is clean, for the response rendered after the writes.
    await remember_viewer_rules(uow.session, account_id)
    claim = None
    if idempotency_key:
        claim = await idempotency.claim(uow.session, account_id, IDEMPOTENCY_SCOPE, idempotency_key)
        if claim.previous is not None:
            previous = await repository.status_by_id(
                uow.session, int(str(claim.previous["status_id"]))
            )
            if previous is None:
                raise NotFound()
            return Posted(previous, created=False)
    now = utcnow()
    author = await _author(uow, account_id, now)
    _check_length(settings, draft)
    await detection_service.check_posting(
        uow, settings, account_id, is_new_account(settings, author.account.created_at)
    )
    status = await _insert_status(uow, settings, author, draft, application_id, now)
    if claim is not None and claim.record is not None:
        await idempotency.remember(uow.session, claim.record, {"status_id": str(status.id)})
    return Posted(status, created=True)


async def check_draft(
    uow: UnitOfWork, settings: Settings, account_id: int, draft: StatusDraft
) -> list[int]:
    """The checks a post would pass now, for a status kept to be posted later (scheduled):
    its length and parts, and the status it replies to. Its media ids, parsed."""
    _check_length(settings, draft)
    media_ids = media_service.parse_ids(draft.media_ids)
    await _parent(uow, account_id, draft.in_reply_to_id)
    return media_ids


async def _parent(uow: UnitOfWork, account_id: int, parent_id: int | None) -> Status | None:
    if parent_id is None:
        return None
    parent = await repository.readable_status(uow.session, account_id, parent_id)
    if parent is None or parent.reblog_of_id is not None:
        raise NotFound("Record not found")
    return parent


async def _insert_status(
    uow: UnitOfWork,
    settings: Settings,
    poster: Author,
    draft: StatusDraft,
    application_id: int | None,
    now: datetime,
) -> Status:
    session = uow.session
    author = poster.account
    media_ids = media_service.parse_ids(draft.media_ids)
    parent = await _parent(uow, author.id, draft.in_reply_to_id)
    visibility = draft.visibility or poster.default_visibility
    content, mentioned, tags = await _render(uow, settings, draft.text)
    if visibility == Visibility.DIRECT and mentioned:
        await _check_direct_allowed(uow, author.id, [a.id for a in mentioned])
    conversation_id = parent.conversation_id if parent and parent.conversation_id else None
    new_thread = conversation_id is None
    if new_thread:
        # The thread's id; its row is made by conversations only for a direct message.
        conversation_id = new_id()
    status = Status(
        id=new_id(),
        account_id=author.id,
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_account_id=parent.account_id if parent else None,
        conversation_id=conversation_id,
        text=draft.text,
        content=content,
        spoiler_text=draft.spoiler_text,
        sensitive=bool(draft.sensitive) or bool(draft.spoiler_text),
        visibility=int(visibility),
        language=draft.language,
        application_id=application_id,
        created_at=now,
        held_reason=_hold_reason(settings, author, visibility),
    )
    await repository.insert_status(session, status)
    await repository.add_mentions(session, status.id, [a.id for a in mentioned])
    await repository.add_tags(session, status.id, [t.id for t in tags])
    if draft.media_ids:
        status.has_media = await media_service.attach(
            uow, account_id=author.id, status_id=status.id, media_ids=media_ids
        )
        # Moderators marked the author sensitive: their new media is stored so.
        status.sensitive = status.sensitive or author.sensitized_at is not None
    poll = None
    if draft.poll is not None:
        poll = _poll_row(status, draft.poll)
        session.add(poll)
    if parent is not None:
        await repository.bump(session, Status, parent.id, Status.replies_count)
    await session.flush()
    await analytics.record(
        uow, author.id, author.created_at, _analytics_kinds(visibility, parent, poll, draft)
    )
    # `author` is the row as the post's count left it (`_author`): its entity is rendered
    # from it, not read back.
    remember_new(
        session, settings, status, author, poster.role, mentioned, tags, has_poll=poll is not None
    )
    mentioned_ids = [a.id for a in mentioned]
    tag_keys = [t.name_key for t in tags]
    if status.held_reason is None:
        await _after_post(
            uow,
            settings,
            status,
            parent,
            mentioned_ids,
            tag_keys,
            new_thread,
            limited=author.silenced_at is not None,
        )
    if poll is not None:
        _schedule_poll_expiry(uow, poll, draft.poll.expires_in if draft.poll else 0)
    cards_service.queue_fetch(
        uow, settings, status.id, text.preview_link(draft.text, settings.local_domain)
    )
    detection_service.queue_status(
        uow,
        settings,
        status,
        edit=False,
        new_account=is_new_account(settings, poster.account.created_at),
    )
    return status


def _analytics_kinds(
    visibility: Visibility, parent: Status | None, poll: Poll | None, draft: StatusDraft
) -> list[str]:
    """What a new status counts as in product analytics (recorded only with consent)."""
    kinds = [analytics.MESSAGE if visibility == Visibility.DIRECT else analytics.POST]
    if parent is not None:
        kinds.append(analytics.REPLY)
    if poll is not None:
        kinds.append(analytics.POLL)
    if draft.media_ids:
        kinds.append(analytics.MEDIA)
    return kinds


def _hold_reason(settings: Settings, author: Account, visibility: int) -> str | None:
    """Whether a new status is held before it is published, and why. Only public and
    unlisted statuses: private and direct ones are their audience's business (as detection
    never scores them)."""
    if visibility > Visibility.UNLISTED:
        return None
    review = settings.status_review
    if review == "all" or (
        review == "new_accounts" and is_new_account(settings, author.created_at)
    ):
        return HeldReason.REVIEW
    if settings.detection_enabled and settings.detection_hold_threshold is not None:
        return HeldReason.SCORING
    return None


async def publish_held(uow: UnitOfWork, settings: Settings, status: Status) -> None:
    """Publish a held status as a new post is published: mentions notified, fanned out to
    followers' homes and streams, the public streams told (a limited author's are not)."""
    session = uow.session
    status.held_reason = None
    await session.flush()
    parent = None
    if status.in_reply_to_id is not None:
        parent = await repository.status_by_id(session, status.in_reply_to_id)
    mentioned_ids = await repository.mentioned_account_ids(session, status.id)
    tag_keys = [tag.name_key for tag in await repository.tags_of(session, status.id)]
    author = await session.get(Account, status.account_id)
    limited = author is not None and author.silenced_at is not None
    await _after_post(
        uow, settings, status, parent, mentioned_ids, tag_keys, False, limited=limited
    )


async def _after_post(
    uow: UnitOfWork,
    settings: Settings,
    status: Status,
    parent: Status | None,
    mentioned_ids: list[int],
    tag_keys: list[str],
    new_thread: bool,
    *,
    limited: bool = False,
) -> None:
    """`limited`: moderators limited the author, so the public streams do not carry it
    (the public timelines leave it out for those who do not follow them; followers get it
    through the fan-out)."""
    await notify_many(
        uow,
        recipient_ids=mentioned_ids,
        from_account_id=status.account_id,
        type=NotificationType.MENTION,
        activity_id=status.id,
        status_id=status.id,
    )
    if status.visibility == Visibility.DIRECT:
        await conversations_service.record_direct_status(
            uow,
            status_id=status.id,
            author_id=status.account_id,
            recipient_ids=[a for a in mentioned_ids if a != status.account_id],
            conversation_id=status.conversation_id or status.id,
            new_thread=new_thread,
        )
        return  # no fan-out: conversations deliver direct messages
    # Rendered once, as everyone may see it, for the one job that takes it to the
    # followers' homes and streams and, a public post, to the public and hashtag streams
    # (as Mastodon's fan-out does; no render there, one round trip for every stream). The
    # same job notifies the author's subscribers ("notify me of new posts") as it walks the
    # followers, unless this is a reply in someone else's thread: a post costs the same
    # statements in the request whoever follows its author.
    entity: Any = await status_entity(uow.session, status, None, settings)
    self_thread = parent is None or parent.account_id == status.account_id
    public = status.visibility == Visibility.PUBLIC and not limited
    uow.enqueue(
        FAN_OUT_JOB,
        {
            "status_id": status.id,
            "account_id": status.account_id,
            "entity": entity,
            "subscribers": self_thread,
            # Its hashtags' followers get it too (a public post only, as Mastodon).
            "tagged": bool(tag_keys) and public,
            # The hashtags whose public streams carry it (None: not on the public streams).
            "public_tags": tag_keys if public else None,
        },
        job_id=f"fan-out:{status.id}",
    )


async def _publish_public(
    uow: UnitOfWork, settings: Settings, status: Status, event: str, tag_keys: list[str]
) -> None:
    """Public statuses go to the public and hashtag streams (rendered anonymously: each
    recipient's own rules are applied by the streaming layer)."""
    entity: Any = await status_entity(uow.session, status, None, settings)
    channels.send_on_commit(uow, channels.status_event(event, entity), channels.to_public(tag_keys))


# -- access: load a status (or poll) if the caller may, else the domain's error. The rule
# itself is THE visibility predicate (statuses/access.py), applied in the query.


async def access_status(uow: UnitOfWork, viewer_id: int | None, status_id: int) -> Status:
    """The status if the viewer may read it, else 404 (never revealing that it exists)."""
    status = await repository.readable_status(uow.session, viewer_id, status_id)
    if status is None:
        raise NotFound()
    return status


NOT_ALLOWED = "This action is not allowed"


async def translate_status(uow: UnitOfWork, viewer_id: int, status_id: int) -> NoReturn:
    """Mastodon's translation: only a public or unlisted status the viewer may read is
    offered for translation (else 403); this server configures no translation service
    (`configuration.translation.enabled` is false), which Mastodon answers with 404."""
    status = await access_status(uow, viewer_id, status_id)
    if status.visibility not in (Visibility.PUBLIC, Visibility.UNLISTED):
        raise Forbidden(NOT_ALLOWED)
    raise NotFound()


_STATUS_PATHS = (
    re.compile(r"/@(?P<username>[A-Za-z0-9_]{1,30})/(?P<id>[0-9]{1,19})/?"),
    re.compile(r"/users/(?P<username>[A-Za-z0-9_]{1,30})/statuses/(?P<id>[0-9]{1,19})/?"),
)


async def status_at_url(uow: UnitOfWork, settings: Settings, url: str) -> tuple[Status, Account]:
    """The status a URL of this server names (its `url` or its `uri`) and its author, if an
    anonymous reader may read it (THE visibility rule: public and unlisted); else 404."""
    parts, origin = urlsplit(url.strip()), urlsplit(settings.base_url)
    if (parts.scheme, parts.netloc.lower()) != (origin.scheme, origin.netloc.lower()):
        raise NotFound()
    for pattern in _STATUS_PATHS:
        found = pattern.fullmatch(parts.path)
        if found is None:
            continue
        status_id = parse_id(found["id"])
        if status_id is None:
            break
        status = await access_status(uow, None, status_id)
        author = await uow.session.get(Account, status.account_id)
        if author is None or author.username_key != found["username"].lower():
            break
        return status, author
    raise NotFound()


async def notify_subscribers(
    uow: UnitOfWork, status_id: int, *, after: int, size: int
) -> int | None:
    """One chunk of `status` notifications for the author's subscribers (the
    `NOTIFY_SUBSCRIBERS_JOB`); the last subscriber id when more may follow. Idempotent:
    the notifications' unique key makes a retried chunk insert nothing new."""
    status = await uow.session.get(Status, status_id)
    if status is None:
        return None  # deleted since
    chunk = await repository.subscriber_chunk(uow.session, status, after, size)
    await notify_many(
        uow,
        recipient_ids=chunk,
        from_account_id=status.account_id,
        type=NotificationType.STATUS,
        activity_id=status.id,
        status_id=status.id,
    )
    return chunk[-1] if len(chunk) == size else None


async def new_status_subscribers(
    session: AsyncSession, status_id: int, after: int, upto: int | None, *, wanted: bool
) -> list[int] | None:
    """For the fan-out of a new status, in one query: None when the status is gone (deleted
    since it was posted), else the author's subscribers among followers with ids in
    (`after`, `upto`] (None: no bound), those it mentions left out; [] unless `wanted`."""
    return await repository.new_status_subscribers(session, status_id, after, upto, wanted=wanted)


async def notify_subscribers_of(
    uow: UnitOfWork, status_id: int, author_id: int, recipient_ids: list[int]
) -> None:
    """`status` notifications of a new post for these subscribers (idempotent: the
    notifications' unique key makes a retry insert nothing new)."""
    await notify_many(
        uow,
        recipient_ids=recipient_ids,
        from_account_id=author_id,
        type=NotificationType.STATUS,
        activity_id=status_id,
        status_id=status_id,
    )


async def access_own_status(
    uow: UnitOfWork, account_id: int, status_id: int, *, for_update: bool = False
) -> Status:
    """A status the caller wrote: 404 when they cannot see it, 403 when it is another's.
    Writers pass `for_update` to hold the row until their transaction ends."""
    status = await repository.readable_status(
        uow.session, account_id, status_id, for_update=for_update
    )
    if status is None or status.reblog_of_id is not None:
        raise NotFound()
    if status.account_id != account_id:
        raise Forbidden("This action is not allowed")
    return status


async def access_poll(uow: UnitOfWork, viewer_id: int | None, poll_id: int) -> Poll:
    """A poll whose status the viewer may read, else 404."""
    poll = await uow.session.get(Poll, poll_id)
    if poll is None:
        raise NotFound()
    await access_status(uow, viewer_id, poll.status_id)
    return poll


async def delete_status(uow: UnitOfWork, settings: Settings, status: Status) -> None:
    """Remove a status, its boosts (with their authors' counts) and, by cascade, its
    favourites, bookmarks, pins, mentions and poll."""
    session = uow.session
    for boost in await repository.boosts_of(session, status.id):
        await remove_boost(uow, boost)
    if status.in_reply_to_id is not None:
        await repository.bump(session, Status, status.in_reply_to_id, Status.replies_count, -1)
    await repository.bump(session, Account, status.account_id, Account.statuses_count, -1)
    was_public = status.visibility == Visibility.PUBLIC
    tags = [t.name_key for t in await repository.tags_of(session, status.id)] if was_public else []
    if status.visibility == Visibility.DIRECT:
        await conversations_service.remove_direct_status(uow, status)
    if status.has_media:
        await media_service.release_status_media(uow, status.id)
    await session.delete(status)
    await session.flush()
    _removed(uow, status)
    audience = channels.to_accounts([status.account_id])
    if was_public:
        audience += channels.to_public(tags)
    channels.send_on_commit(uow, channels.deletion(status.id), audience)


async def hold_published(uow: UnitOfWork, status: Status, reason: str) -> None:
    """Take a published status back for review (detection's hold): readable by its author
    alone from now on, taken out of timelines and streams as a deletion is, kept for a
    moderator to approve (`publish_held`) or reject."""
    if status.held_reason is not None:
        return
    status.held_reason = reason
    await uow.session.flush()
    _removed(uow, status)
    audience = channels.to_accounts([status.account_id])
    if status.visibility == Visibility.PUBLIC:
        tags = [t.name_key for t in await repository.tags_of(uow.session, status.id)]
        audience += channels.to_public(tags)
    channels.send_on_commit(uow, channels.deletion(status.id), audience)


async def mark_sensitive(uow: UnitOfWork, status: Status) -> None:
    """A moderator marks a status sensitive (its media hidden behind a warning); not an
    edit: no version is kept and its author's text stays as it is. Its cached rendering
    goes with the change (the entity cache tracks `statuses`)."""
    if not status.sensitive:
        status.sensitive = True
        await uow.session.flush()


def _removed(uow: UnitOfWork, status: Status) -> None:
    uow.enqueue(
        REMOVE_JOB,
        {
            "status_id": status.id,
            "account_id": status.account_id,
            "reblog_of_id": status.reblog_of_id,
        },
        job_id=f"remove:{status.id}",
    )


async def remove_boost(uow: UnitOfWork, boost: Status) -> None:
    session = uow.session
    if boost.reblog_of_id is not None:
        await repository.bump(session, Status, boost.reblog_of_id, Status.reblogs_count, -1)
    await repository.bump(session, Account, boost.account_id, Account.statuses_count, -1)
    await session.delete(boost)
    await session.flush()
    _removed(uow, boost)
    channels.send_on_commit(
        uow, channels.deletion(boost.id), channels.to_accounts([boost.account_id])
    )


async def edit_status(
    uow: UnitOfWork, settings: Settings, status: Status, draft: StatusDraft
) -> Status:
    """Change text, spoiler, sensitivity, language or poll, keeping every version."""
    session = uow.session
    _check_length(settings, draft)
    content, mentioned, tags = await _render(uow, settings, draft.text)
    previous_mentions = set(await repository.mentioned_account_ids(session, status.id))
    added = [a.id for a in mentioned if a.id not in previous_mentions]
    if status.visibility == Visibility.DIRECT and added:
        # Someone the edit adds is asked as a new recipient would be (those already
        # mentioned have the message): refused whole, before anything changes.
        await _check_direct_allowed(uow, status.account_id, added)
    media_ids = media_service.parse_ids(draft.media_ids)
    if media_ids or status.has_media:
        status.has_media = await media_service.attach(
            uow, account_id=status.account_id, status_id=status.id, media_ids=media_ids
        )
    edits = await repository.edits_of(session, status.id)
    poll = await repository.poll_for_status(session, status.id)
    if not edits:  # the first edit also records the original version
        session.add(_version(status, poll, created_at=status.created_at))
    link = text.preview_link(draft.text, settings.local_domain)
    if link != text.preview_link(status.text, settings.local_domain):
        # Another first link: the old card goes now, the new one comes from its job.
        status.preview_card_id = None
        cards_service.queue_fetch(uow, settings, status.id, link)
    status.text = draft.text
    status.content = content
    status.spoiler_text = draft.spoiler_text
    status.sensitive = bool(draft.sensitive) or bool(draft.spoiler_text)
    if draft.language is not None:
        status.language = draft.language
    status.edited_at = utcnow()
    await repository.replace_mentions(session, status.id, [a.id for a in mentioned])
    await repository.replace_tags(session, status.id, [t.id for t in tags])
    poll = await _edit_poll(uow, status, poll, draft.poll)
    session.add(_version(status, poll, created_at=status.edited_at))
    await session.flush()
    mentioned_ids = [a.id for a in mentioned]
    tag_keys = [t.name_key for t in tags]
    if status.held_reason is None:  # a held status is announced when it is published
        await _after_edit(uow, settings, status, mentioned_ids, previous_mentions, tag_keys)
    detection_service.queue_status(uow, settings, status, edit=True)
    return status


def _version(status: Status, poll: Poll | None, *, created_at: Any) -> StatusEdit:
    return StatusEdit(
        status_id=status.id,
        account_id=status.account_id,
        text=status.text,
        content=status.content,
        spoiler_text=status.spoiler_text,
        sensitive=status.sensitive,
        poll_options=list(poll.options) if poll else None,
        created_at=created_at,
    )


async def _edit_poll(
    uow: UnitOfWork, status: Status, poll: Poll | None, draft: PollDraft | None
) -> Poll | None:
    """A changed poll starts over (its votes are dropped), as in Mastodon."""
    if draft is None:
        if poll is not None:
            await uow.session.delete(poll)
        return None
    if poll is not None and list(poll.options) == draft.options:
        poll.multiple = draft.multiple
        poll.hide_totals = draft.hide_totals
        return poll
    if poll is not None:
        await uow.session.delete(poll)
        await uow.session.flush()
    fresh = _poll_row(status, draft)
    uow.session.add(fresh)
    await uow.session.flush()
    _schedule_poll_expiry(uow, fresh, draft.expires_in)
    return fresh


async def _after_edit(
    uow: UnitOfWork,
    settings: Settings,
    status: Status,
    mentioned_ids: list[int],
    previous_mentions: set[int],
    tag_keys: list[str],
) -> None:
    await notify_many(
        uow,
        recipient_ids=[a for a in mentioned_ids if a not in previous_mentions],
        from_account_id=status.account_id,
        type=NotificationType.MENTION,
        activity_id=status.id,
        status_id=status.id,
    )
    await notify_many(
        uow,
        recipient_ids=await repository.booster_ids(uow.session, status.id),
        from_account_id=status.account_id,
        type=NotificationType.UPDATE,
        activity_id=status.id,
        status_id=status.id,
    )
    # Followers' and lists' streams hear of the edit through the same fan-out as the post.
    version = status.edited_at.timestamp() if status.edited_at else ""
    uow.enqueue(
        FAN_OUT_JOB,
        {"status_id": status.id, "event": channels.STATUS_UPDATE, "version": version},
        job_id=f"fan-out-edit:{status.id}:{version}",
    )
    if status.visibility == Visibility.PUBLIC:
        await _publish_public(uow, settings, status, channels.STATUS_UPDATE, tag_keys)


__all__ = [
    "FAN_OUT_JOB",
    "NOTIFY_SUBSCRIBERS_JOB",
    "REMOVE_JOB",
    "access_own_status",
    "access_poll",
    "access_status",
    "check_draft",
    "create_status",
    "delete_status",
    "edit_status",
    "hold_published",
    "mark_sensitive",
    "new_status_subscribers",
    "notify_subscribers",
    "notify_subscribers_of",
    "publish_held",
    "remove_boost",
    "translate_status",
]


# For other domains (they use statuses through this service, never its repository).


async def readable_status(
    session: AsyncSession, viewer_id: int | None, status_id: int
) -> Status | None:
    """The status if `viewer_id` may read it (statuses/access.py), else None."""
    return await repository.readable_status(session, viewer_id, status_id)


async def tags_of(session: AsyncSession, status_ids: Sequence[int]) -> list[int]:
    """Account erasure: the hashtags these statuses use (asked before they go)."""
    return await repository.tag_ids_of(session, status_ids)


async def drop_unused_tags(session: AsyncSession, tag_ids: Sequence[int], account_id: int) -> int:
    """Account erasure: a hashtag only the erased account used, followed or featured is
    its text; it goes (a later use makes it again). Returns how many went."""
    return await repository.delete_unused_tags(session, tag_ids, ignoring_account_id=account_id)


async def drop_tags_kept_by(session: AsyncSession, account_id: int, limit: int) -> int:
    """Account erasure: of the hashtags the account follows or features, those nobody else
    uses. Returns how many it looked at (0 once none is left to look at)."""
    tag_ids = await repository.tag_ids_followed_or_featured(session, account_id, limit)
    await repository.delete_unused_tags(session, tag_ids, ignoring_account_id=account_id)
    return 0


async def drop_mentions_of(session: AsyncSession, account_id: int, limit: int) -> int:
    """Account erasure: up to `limit` mentions of the account in others' statuses; those
    statuses' cached renderings (which show the mention) go with the commit. How many."""
    status_ids = await repository.drop_mentions_of(session, account_id, limit)
    entity_cache.drop_on_commit(session, STATUS, status_ids)
    return len(status_ids)


async def drop_interactions_by(session: AsyncSession, account_id: int, limit: int) -> int:
    """Account erasure: up to `limit` favourites and poll votes the account gave, counters
    kept right. Returns how many went."""
    return await repository.drop_interactions_by(session, account_id, limit)


# Reads for the endpoints (handlers call the service, never the repository).


async def readable_statuses(
    uow: UnitOfWork, viewer_id: int | None, status_ids: Sequence[int]
) -> list[Status]:
    """The statuses `viewer_id` may read, in the order asked for, each once; the rest are
    left out (as Mastodon's batch read)."""
    found = {
        s.id: s for s in await repository.readable_statuses(uow.session, viewer_id, status_ids)
    }
    return [found[i] for i in dict.fromkeys(status_ids) if i in found]


async def edits_of(uow: UnitOfWork, status: Status) -> list[StatusEdit]:
    return await repository.edits_of(uow.session, status.id)


async def thread(
    uow: UnitOfWork, viewer_id: int | None, status: Status
) -> tuple[list[Status], list[Status]]:
    """The readable ancestors and descendants of `status`."""
    above = await repository.ancestors(uow.session, viewer_id, status)
    below = await repository.descendants(uow.session, viewer_id, status)
    return above, below


async def favouriters(
    uow: UnitOfWork, viewer_id: int | None, status: Status, page: Page
) -> list[tuple[int, Account]]:
    """A page of (favourite id, account) of who favourited `status`."""
    return await repository.accounts_who(
        uow.session, repository.WHO_FAVOURITED, viewer_id, status.id, page
    )


async def boosters(
    uow: UnitOfWork, viewer_id: int | None, status: Status, page: Page
) -> list[tuple[int, Account]]:
    """A page of (boost id, account) of who boosted `status` (boosts the viewer may read)."""
    return await repository.accounts_who(
        uow.session, repository.WHO_BOOSTED, viewer_id, status.id, page
    )


async def marked_statuses(
    uow: UnitOfWork, viewer_id: int, model: type[Bookmark] | type[Favourite], page: Page
) -> list[tuple[int, Status]]:
    """A page of (mark id, status) of the viewer's bookmarks or favourites."""
    return await repository.marked_statuses(uow.session, viewer_id, model, page)


async def account_statuses(
    uow: UnitOfWork,
    viewer_id: int | None,
    account_id: int,
    page: Page,
    *,
    exclude_replies: bool,
    exclude_reblogs: bool,
    only_media: bool,
    pinned: bool,
    tagged: str | None,
) -> list[Status]:
    """A page of the account's statuses that `viewer_id` may read."""
    return await repository.account_statuses(
        uow.session,
        viewer_id,
        account_id,
        page,
        exclude_replies=exclude_replies,
        exclude_reblogs=exclude_reblogs,
        only_media=only_media,
        pinned=pinned,
        tagged=tagged,
    )


async def held_status(uow: UnitOfWork, status_id: int) -> Status | None:
    """A status held for review (locked for the decision on it), else None."""
    return await repository.held_status(uow.session, status_id)


async def held_statuses(uow: UnitOfWork, account_id: int | None, page: Page) -> list[Status]:
    """A page of the statuses held for review, newest first (`account_id`: one author's)."""
    return await repository.held_statuses(uow.session, account_id, page)
