"""Building an account's archive: each section reads its rows in batches of `BATCH` (a
short read-only session per batch) and writes them straight into the archive, so memory
stays flat whatever the account's size.

Layout (Mastodon's archive, then ConnectHub's own files):

- `outbox.json` (OrderedCollection of Create/Announce), `actor.json` (Person), `likes.json`,
  `bookmarks.json`, `avatar.*`, `header.*`, `media_attachments/files/<key>` (originals);
- Mastodon's CSV exports: `following_accounts.csv`, `followers.csv` (ConnectHub's),
  `blocked_accounts.csv`, `muted_accounts.csv`, `lists.csv`, `bookmarks.csv`, and
  `filters.json` (Mastodon's `custom_filters` export);
- `connecthub/*.json`: profile and settings, status edits, poll votes, direct messages
  received, lists, markers, notifications, sessions and authorised apps, sign-in
  history, consent history, and (when moderation has them) strikes and appeals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from connecthub import entities
from connecthub.accounts.models import Account, User
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.core.pagination import Page
from connecthub.ids import MAX_ID
from connecthub.infra.engines import Engines
from connecthub.infra.storage import StorageError
from connecthub.infra.uow import UnitOfWork
from connecthub.portability import activitystreams as ap
from connecthub.portability import csv_files, repository
from connecthub.portability.archive import ArchiveWriter, dumps
from connecthub.statuses.models import Bookmark, Favourite, Status
from connecthub.strikes import service as strikes_service

log = structlog.get_logger(__name__)

BATCH = 500
# Where a newest-first read starts (above every id).
NEWEST = MAX_ID
FILE_CHUNK = 1024 * 1024


@dataclass
class Build:
    engines: Engines
    settings: Settings
    account: Account
    user: User
    writer: ArchiveWriter

    def acct(self, username: str) -> str:
        """An address as Mastodon's CSV files write a local account: user@domain."""
        return f"{username}@{self.settings.local_domain}"

    def status_uri(self, username: str, status_id: int) -> str:
        return ap.status_uri(self.settings, username, status_id)


Section = Callable[[Build], Awaitable[None]]


async def _parts(build: Build, statuses: list[Status]) -> ap.StatusParts:
    async with build.engines.db.session(readonly=True) as session:
        ids = [status.id for status in statuses]
        reblogged = await repository.statuses_by_id(
            session, [s.reblog_of_id for s in statuses if s.reblog_of_id]
        )
        account_ids = [s.account_id for s in statuses] + [s.account_id for s in reblogged.values()]
        account_ids += [s.in_reply_to_account_id for s in statuses if s.in_reply_to_account_id]
        attachments: dict[int, list[Any]] = {}
        for row in await repository.attachments_of(session, ids):
            attachments.setdefault(row.status_id or 0, []).append(row)
        polls = await repository.polls_of(session, ids)
        return ap.StatusParts(
            usernames=await repository.usernames(session, account_ids),
            attachments=attachments,
            polls=polls,
            poll_votes=await repository.poll_option_votes(
                session, [poll.id for poll in polls.values()]
            ),
            tags=await repository.tags_of(session, ids),
            mentions=await repository.mentions_of(session, ids),
            reblogged=reblogged,
        )


async def outbox(build: Build) -> None:
    async with build.engines.db.session(readonly=True) as session:
        total = await repository.count_statuses(session, build.account.id)
    async with build.writer.json_array(
        "outbox.json", ap.collection_head("outbox.json", total)
    ) as items:
        after = 0
        while True:
            async with build.engines.db.session(readonly=True) as session:
                batch = await repository.statuses_after(session, build.account.id, after, BATCH)
            if not batch:
                return
            parts = await _parts(build, batch)
            for status in batch:
                item = ap.activity(build.settings, status, parts)
                if item is not None:
                    await items.add(item)
            after = batch[-1].id


async def _copy_file(build: Build, key: str, name: str) -> None:
    storage = build.engines.storage
    try:
        size = await storage.size(key)
        if size is None:
            log.warning("portability.file_missing", key=key, account_id=build.account.id)
            return
        async with build.writer.entry(name, compress=False) as entry:
            start = 0
            while start < size:
                end = min(start + FILE_CHUNK, size) - 1
                async for chunk in storage.stream(key, start, end):
                    await entry.write_raw(chunk)
                start = end + 1
    except (StorageError, FileNotFoundError) as exc:
        # Mastodon's archive skips a file it cannot read rather than failing the export.
        log.warning("portability.file_unreadable", key=key, error=str(exc))


async def media(build: Build) -> None:
    after = ""
    while True:
        async with build.engines.db.session(readonly=True) as session:
            keys = await repository.own_media_after(session, build.account.id, after, BATCH)
        for key in keys:
            await _copy_file(build, key, ap.media_path(key))
        if len(keys) < BATCH:
            return
        after = keys[-1]


async def actor(build: Build) -> None:
    for role, key in (("avatar", build.account.avatar_key), ("header", build.account.header_key)):
        if key:
            await _copy_file(build, key, ap.profile_image_path(role, key))
    await build.writer.json("actor.json", ap.actor(build.settings, build.account))


def _marks(model: type[Favourite] | type[Bookmark], name: str) -> Section:
    async def section(build: Build) -> None:
        # The total is known only once the items are written: it closes the object.
        async with build.writer.entry(name) as entry:
            head = ap.collection_head(name, 0)
            del head["totalItems"]
            await entry.write(dumps(head)[:-1] + ',"orderedItems":[')
            before, count = NEWEST, 0
            while True:
                async with build.engines.db.session(readonly=True) as session:
                    rows = await repository.marked_status_uris_before(
                        session, model, build.account.id, before, BATCH
                    )
                for _mark, status_id, username in rows:
                    uri = build.status_uri(username, status_id)
                    await entry.write(("," if count else "") + dumps(uri))
                    count += 1
                if len(rows) < BATCH:
                    break
                before = rows[-1][0]
            await entry.write(f'],"totalItems":{count}}}')

    return section


async def following_csv(build: Build) -> None:
    async with build.writer.entry("following_accounts.csv") as entry:
        await entry.write(csv_files.line(csv_files.FOLLOWING_HEADERS))
        before = NEWEST
        while True:
            async with build.engines.db.session(readonly=True) as session:
                rows = await repository.follows_before(session, build.account.id, before, BATCH)
            for follow, username in rows:
                languages = ", ".join(follow.languages) if follow.languages else None
                await entry.write(
                    csv_files.line(
                        [build.acct(username), follow.show_reblogs, follow.notify, languages]
                    )
                )
            if len(rows) < BATCH:
                return
            before = rows[-1][0].id


def _address_csv(name: str, read: Any, header: list[str] | None) -> Section:
    async def section(build: Build) -> None:
        async with build.writer.entry(name) as entry:
            if header:
                await entry.write(csv_files.line(header))
            after = 0
            while True:
                async with build.engines.db.session(readonly=True) as session:
                    rows = await read(session, build.account.id, after, BATCH)
                for _id, username in rows:
                    await entry.write(csv_files.line([build.acct(username)]))
                if len(rows) < BATCH:
                    return
                after = rows[-1][0]

    return section


async def muted_csv(build: Build) -> None:
    async with build.writer.entry("muted_accounts.csv") as entry:
        await entry.write(csv_files.line(csv_files.MUTED_HEADERS))
        before = NEWEST
        while True:
            async with build.engines.db.session(readonly=True) as session:
                rows = await repository.mutes_before(session, build.account.id, before, BATCH)
            for mute, username in rows:
                await entry.write(csv_files.line([build.acct(username), mute.hide_notifications]))
            if len(rows) < BATCH:
                return
            before = rows[-1][0].id


async def lists(build: Build) -> None:
    """`lists.csv` (Mastodon: list title, member address; no header) and
    `connecthub/lists.json` (the lists' settings, empty lists included)."""
    async with build.engines.db.session(readonly=True) as session:
        owned = await repository.lists_of(session, build.account.id)
    async with build.writer.entry("lists.csv") as entry:
        for lst in owned:
            after = 0
            while True:
                async with build.engines.db.session(readonly=True) as session:
                    rows = await repository.list_members_after(session, lst.id, after, BATCH)
                for _id, username in rows:
                    await entry.write(csv_files.line([lst.title, build.acct(username)]))
                if len(rows) < BATCH:
                    break
                after = rows[-1][0]
    await build.writer.json(
        "connecthub/lists.json",
        [
            {
                "id": str(lst.id),
                "title": lst.title,
                "replies_policy": lst.replies_policy,
                "exclusive": lst.exclusive,
                "created_at": iso(lst.created_at),
            }
            for lst in owned
        ],
    )


async def bookmarks_csv(build: Build) -> None:
    async with build.writer.entry("bookmarks.csv") as entry:
        before = NEWEST
        while True:
            async with build.engines.db.session(readonly=True) as session:
                rows = await repository.marked_status_uris_before(
                    session, Bookmark, build.account.id, before, BATCH
                )
            for _mark, status_id, username in rows:
                await entry.write(csv_files.line([build.status_uri(username, status_id)]))
            if len(rows) < BATCH:
                return
            before = rows[-1][0]


async def filters(build: Build) -> None:
    """Mastodon's `custom_filters` JSON export, which its importer reads back."""
    async with build.engines.db.session(readonly=True) as session:
        rows = await repository.filters_of(session, build.account.id)
        keywords, statuses = await repository.filter_parts(session, [row.id for row in rows])
    await build.writer.json(
        "filters.json",
        {
            "custom_filters": [
                {
                    "title": row.title,
                    "expire_at": iso(row.expires_at),
                    "context": row.context,
                    "action": row.filter_action,
                    "keywords_attributes": [
                        {"keyword": k.keyword, "whole_word": k.whole_word}
                        for k in keywords
                        if k.filter_id == row.id
                    ],
                    "statuses": [
                        build.status_uri(username, status_id)
                        for filter_id, status_id, username in statuses
                        if filter_id == row.id
                    ],
                }
                for row in rows
            ]
        },
    )


async def profile(build: Build) -> None:
    account, user = build.account, build.user
    await build.writer.json(
        "connecthub/profile.json",
        {
            "account": {
                "id": str(account.id),
                "username": account.username,
                "acct": build.acct(account.username),
                "display_name": account.display_name,
                "note": account.note,
                "fields": account.fields or [],
                "locked": account.locked,
                "bot": account.bot,
                "discoverable": account.discoverable,
                "created_at": iso(account.created_at),
                "followers_count": account.followers_count,
                "following_count": account.following_count,
                "statuses_count": account.statuses_count,
            },
            "user": {
                "email": user.email,
                "locale": user.locale,
                "role": user.role,
                "created_at": iso(user.created_at),
                "confirmed_at": iso(user.confirmed_at),
                "approved": user.approved,
                "sign_up_reason": user.sign_up_reason,
                "age_verified_on": user.age_verified_on.isoformat()
                if user.age_verified_on
                else None,
                "two_factor_enabled": user.otp_enabled,
                "password_changed_at": iso(user.password_changed_at),
                "last_sign_in_at": iso(user.last_sign_in_at),
                "default_privacy": user.default_privacy,
                "default_sensitive": user.default_sensitive,
                "default_language": user.default_language,
            },
        },
    )


async def edits(build: Build) -> None:
    """Every earlier version of the account's posts (`GET /api/v1/statuses/:id/history`)."""
    async with build.writer.json_array("connecthub/status_edits.json") as items:
        after = 0
        while True:
            async with build.engines.db.session(readonly=True) as session:
                rows = await repository.edits_after(session, build.account.id, after, BATCH)
            for edit in rows:
                await items.add(
                    {
                        "status": build.status_uri(build.account.username, edit.status_id),
                        "created_at": iso(edit.created_at),
                        "text": edit.text,
                        "content": edit.content,
                        "spoiler_text": edit.spoiler_text,
                        "sensitive": edit.sensitive,
                        "poll_options": edit.poll_options,
                    }
                )
            if len(rows) < BATCH:
                return
            after = rows[-1].id


async def poll_votes(build: Build) -> None:
    async with build.writer.json_array("connecthub/poll_votes.json") as items:
        after = 0
        while True:
            async with build.engines.db.session(readonly=True) as session:
                rows = await repository.poll_votes_after(session, build.account.id, after, BATCH)
                status_ids = await repository.poll_status_ids(session, [r.poll_id for r in rows])
                posts = await repository.statuses_by_id(session, list(status_ids.values()))
                names = await repository.usernames(session, [p.account_id for p in posts.values()])
            for vote in rows:
                post = posts.get(status_ids.get(vote.poll_id, 0))
                await items.add(
                    {
                        "status": build.status_uri(names.get(post.account_id, ""), post.id)
                        if post
                        else None,
                        "choice": vote.choice,
                        "created_at": iso(vote.created_at),
                    }
                )
            if len(rows) < BATCH:
                return
            after = rows[-1].id


async def direct_received(build: Build) -> None:
    """Direct messages others sent to the account, as Notes (their media linked, not
    copied: the files are the senders')."""
    async with build.writer.json_array("connecthub/direct_messages_received.json") as items:
        after = 0
        while True:
            async with build.engines.db.session(readonly=True) as session:
                batch = await repository.received_direct_after(
                    session, build.account.id, after, BATCH
                )
            if not batch:
                return
            parts = await _parts(build, batch)
            for status in batch:
                await items.add(ap.note(build.settings, status, parts, local_files=False))
            after = batch[-1].id


async def markers(build: Build) -> None:
    async with build.engines.db.session(readonly=True) as session:
        rows = await repository.markers_of(session, build.account.id)
    await build.writer.json(
        "connecthub/markers.json",
        {
            row.timeline: {
                "last_read_id": str(row.last_read_id),
                "version": row.version,
                "updated_at": iso(row.updated_at),
            }
            for row in rows
        },
    )


async def notifications(build: Build) -> None:
    async with build.writer.json_array("connecthub/notifications.json") as items:
        after = 0
        while True:
            async with build.engines.db.session(readonly=True) as session:
                rows = await repository.notifications_after(session, build.account.id, after, BATCH)
                statuses = await repository.statuses_by_id(
                    session, [n.status_id for n, _ in rows if n.status_id]
                )
                names = await repository.usernames(
                    session, [s.account_id for s in statuses.values()]
                )
            for notification, username in rows:
                status = statuses.get(notification.status_id or 0)
                await items.add(
                    {
                        "id": str(notification.id),
                        "type": notification.type,
                        "created_at": iso(notification.created_at),
                        "account": build.acct(username),
                        "status": build.status_uri(names.get(status.account_id, ""), status.id)
                        if status
                        else None,
                    }
                )
            if len(rows) < BATCH:
                return
            after = rows[-1][0].id


async def sessions_and_sign_ins(build: Build) -> None:
    """Sessions and authorised apps (every token and browser session, live or ended), and
    the sign-in history they make: when and from which IP address."""
    async with build.engines.db.session(readonly=True) as session:
        tokens = await repository.tokens_of(session, build.account.id)
        web = await repository.web_sessions_of(session, build.user.id)
    apps = [
        {
            "application": name,
            "scopes": token.scopes.split(),
            "created_at": iso(token.created_at),
            "expires_at": iso(token.expires_at),
            "revoked_at": iso(token.revoked_at),
            "last_used_ip": token.last_used_ip,
            "user_agent": token.user_agent,
        }
        for token, name in tokens
    ]
    browsers = [
        {
            "created_at": iso(row.created_at),
            "last_seen_at": iso(row.last_seen_at),
            "revoked_at": iso(row.revoked_at),
            "ip": row.ip,
            "user_agent": row.user_agent,
        }
        for row in web
    ]
    await build.writer.json(
        "connecthub/sessions.json", {"authorized_apps": apps, "browser_sessions": browsers}
    )
    sign_ins = [
        {"at": item["created_at"], "ip": item["ip"], "method": "web"} for item in browsers
    ] + [{"at": item["created_at"], "ip": item["last_used_ip"], "method": "oauth"} for item in apps]
    sign_ins.sort(key=lambda item: item["at"] or "")
    await build.writer.json("connecthub/sign_ins.json", sign_ins)


async def consents(build: Build) -> None:
    async with build.engines.db.session(readonly=True) as session:
        rows = await repository.consents_of(session, build.account.id)
    await build.writer.json(
        "connecthub/consents.json",
        [
            {
                "purpose": row.purpose,
                "policy_version": row.policy_version,
                "method": row.method,
                "granted_at": iso(row.granted_at),
                "withdrawn_at": iso(row.withdrawn_at),
            }
            for row in rows
        ],
    )


async def strikes(build: Build) -> None:
    """The moderators' strikes on the account, each with its appeal (AccountWarning)."""
    found: list[entities.AccountWarning] = []
    page = Page(limit=STRIKES_PAGE)
    while True:
        async with build.engines.db.session(readonly=True) as session:
            uow = UnitOfWork(build.engines, session)
            rows, ids = await strikes_service.own_strikes(uow, build.account.id, page)
        found.extend(rows)
        if len(ids) < STRIKES_PAGE:
            break
        page = Page(max_id=ids[-1], limit=STRIKES_PAGE)
    await build.writer.json("connecthub/strikes.json", found)


STRIKES_PAGE = 200
MODERATION_SECTIONS: list[Section] = [strikes]

SECTIONS: list[Section] = [
    media,
    outbox,
    _marks(Favourite, "likes.json"),
    _marks(Bookmark, "bookmarks.json"),
    actor,
    following_csv,
    _address_csv("followers.csv", repository.followers_after, csv_files.FOLLOWERS_HEADERS),
    _address_csv("blocked_accounts.csv", repository.blocks_after, None),
    muted_csv,
    lists,
    bookmarks_csv,
    filters,
    profile,
    edits,
    poll_votes,
    direct_received,
    markers,
    notifications,
    sessions_and_sign_ins,
    consents,
    *MODERATION_SECTIONS,
]


async def write_archive(engines: Engines, account_id: int, writer: ArchiveWriter) -> bool:
    """Every section of the account's archive into `writer`; False when the account (or its
    user) no longer exists or is suspended."""
    async with engines.db.session(readonly=True) as session:
        found = await repository.account_and_user(session, account_id)
    if found is None or found[0].suspended_at is not None:
        return False  # gone, or suspended (a deletion under way): nothing to hand out
    build = Build(engines, engines.settings, found[0], found[1], writer)
    for section in SECTIONS:
        await section(build)
    return True
