"""Uploading, updating, attaching and releasing media: the rules.

An upload is accepted by its content (sniffing), checked against the size, pixel and quota
limits, decoded (images; audio and video by av.verified, which stores a re-muxed copy),
processed (images and audio now, video poster frames in a job), stored under
content-addressed keys, and only then recorded. A store that fails mid-way gets back what it
was given (no orphan file) and the request fails with 503/507 before any row exists.

Jobs (see tasks.py): `PROCESS_JOB` {"media_id"} finishes a video; `PURGE_JOB` {"keys"}
deletes stored objects no row names any more (each recorded in `media_purges` by the
transaction that dropped its last reference); `EXPIRE_JOB` {"media_id"} removes uploads
left unattached for `MEDIA_UNATTACHED_MAX_AGE_SECONDS`. The sweeper re-derives all three
from the database when their jobs are lost (tasks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.errors import (
    InsufficientStorage,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from connecthub.ids import new_id, parse_id
from connecthub.infra.storage import MediaStorage, StorageError, StorageFull
from connecthub.infra.uow import UnitOfWork
from connecthub.instance.limits import MAX_MEDIA_ATTACHMENTS, MEDIA_DESCRIPTION_LIMIT
from connecthub.media import av, repository
from connecthub.media.models import MediaAttachment, MediaKind, MediaState
from connecthub.media.processing import (
    ImageRefused,
    emoji_images,
    fitted_image,
    process_image,
)
from connecthub.media.sniffing import SNIFF_BYTES, FileType, sniff

PROCESS_JOB = "media.process"
PURGE_JOB = "media.purge"
EXPIRE_JOB = "media.expire_unattached"
PROFILE_BOXES = {"avatar": (400, 400), "header": (1500, 500)}
# Mastodon's limit for a custom emoji's file.
EMOJI_MAX_BYTES = 256 * 1024
ALLOWED = (
    "images (JPEG, PNG, GIF, WebP, AVIF), video (MP4, WebM, MOV), audio (MP3, OGG, WAV, FLAC, M4A)"
)

log = structlog.get_logger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# CPU-bound work runs in threads; bound how many files are decoded at once (memory).
_processing_slots = asyncio.Semaphore(max(1, min(os.cpu_count() or 1, 4)))


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    async with _processing_slots:
        return await asyncio.to_thread(function, *args, **kwargs)


@dataclass
class Incoming:
    """An uploaded file as the HTTP layer hands it over: its first bytes and size are known
    before the whole body is read."""

    field: str
    size: int
    head: bytes
    read: Callable[[], Awaitable[bytes]]


@dataclass
class StoredObject:
    key: str
    data: bytes
    content_type: str


def content_key(role: str, data: bytes, file_type: FileType) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{role}/{digest[:2]}/{digest[2:4]}/{digest}.{file_type.extension}"


def size_limit(settings: Settings, file_type: FileType) -> int:
    if file_type.is_image:
        return settings.media_image_max_bytes
    return settings.media_video_max_bytes


async def accept(
    settings: Settings, incoming: Incoming, *, images_only: bool = False
) -> tuple[FileType, bytes]:
    """The file's type, decided by its bytes, and its content within the size limit."""
    file_type = sniff(incoming.head)
    if file_type is None or (images_only and not file_type.is_image):
        allowed = "images (JPEG, PNG, GIF, WebP, AVIF)" if images_only else ALLOWED
        raise ValidationFailed(incoming.field, f"is not a supported file type; allowed: {allowed}")
    limit = size_limit(settings, file_type)
    if incoming.size > limit:
        raise ValidationFailed(incoming.field, f"is too large (maximum is {limit} bytes)")
    data = await incoming.read()
    if len(data) > limit:
        raise ValidationFailed(incoming.field, f"is too large (maximum is {limit} bytes)")
    return file_type, data


def description(value: str) -> str:
    if len(value) > MEDIA_DESCRIPTION_LIMIT:
        raise ValidationFailed(
            "description", f"is too long (maximum is {MEDIA_DESCRIPTION_LIMIT} characters)"
        )
    return value


def focus(value: str) -> tuple[float, float]:
    """Mastodon's focal point: "x,y", each between -1.0 and 1.0."""
    try:
        x_text, y_text = value.split(",")
        x, y = float(x_text), float(y_text)
    except ValueError:
        raise ValidationFailed("focus", "must be two numbers: x,y") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise ValidationFailed("focus", "must be between -1.0 and 1.0")
    return x, y


async def store(
    session: AsyncSession, storage: MediaStorage, objects: Sequence[StoredObject]
) -> None:
    """Put every object, or none: on failure the ones already put are taken back (unless a
    row already names them) and the caller gets 507 (full) or 503 (store down)."""
    written: list[str] = []
    try:
        for item in objects:
            if item.key not in written:
                await storage.put(item.key, item.data, item.content_type)
                written.append(item.key)
    except StorageError as exc:
        in_use = await repository.keys_in_use(session, written)
        for key in written:
            if key not in in_use:
                with contextlib.suppress(Exception):
                    await storage.delete(key)
        if isinstance(exc, StorageFull):
            raise InsufficientStorage() from exc
        log.warning("media.store_failed", error=str(exc))
        raise ServiceUnavailable("Media storage is unavailable; try again later") from exc


def _distinct_bytes(objects: Sequence[StoredObject]) -> int:
    return sum(len(item.data) for item in {item.key: item for item in objects}.values())


async def _check_quota(uow: UnitOfWork, settings: Settings, account_id: int, adding: int) -> None:
    quota = settings.media_account_quota_bytes
    if quota and await repository.stored_bytes(uow.session, account_id) + adding > quota:
        raise ValidationFailed("file", f"exceeds your storage quota of {quota} bytes")


async def _image_objects(
    settings: Settings, row: MediaAttachment, file_type: FileType, data: bytes, field: str
) -> list[StoredObject]:
    try:
        processed = await in_thread(
            process_image, data, file_type, max_pixels=settings.media_image_max_pixels
        )
    except ImageRefused as exc:
        raise ValidationFailed(field, str(exc)) from None
    objects = []
    for variant in processed.variants:
        key = content_key(variant.role, variant.data, variant.file_type)
        objects.append(StoredObject(key, variant.data, variant.file_type.content_type))
        setattr(
            row,
            {"original": "file_key", "small": "small_key", "webp": "webp_key"}[variant.role],
            key,
        )
    row.blurhash = processed.blurhash
    row.meta = processed.meta
    row.state = MediaState.READY
    return objects


async def _verified(data: bytes, file_type: FileType) -> av.Verified:
    try:
        return await in_thread(av.verified, data, file_type)
    except av.MediaRefused as exc:
        raise ValidationFailed("file", str(exc)) from None


async def _audio_objects(
    row: MediaAttachment, file_type: FileType, data: bytes
) -> list[StoredObject]:
    checked = await _verified(data, file_type)
    found = checked.probe
    if found.has_video:
        row.kind = MediaKind.VIDEO  # an MP4 sniffed as audio may still carry video
    row.file_key = content_key("original", checked.data, file_type)
    row.meta = av.video_meta(found) if found.has_video else av.audio_meta(found)
    row.state = MediaState.READY
    return [StoredObject(row.file_key, checked.data, file_type.content_type)]


async def _video_objects(
    row: MediaAttachment, file_type: FileType, data: bytes
) -> list[StoredObject]:
    """A video is verified (decoded and re-muxed) now, before anything is stored;
    PROCESS_JOB then probes it and makes its poster frame."""
    checked = await _verified(data, file_type)
    # Not content-addressed: two uploads of the same bytes would share the object, and the
    # first one's job purges it when it finishes — maybe before the second row is committed,
    # when no row names it yet. An upload is temporary, so sharing it saves nothing.
    row.file_key = content_key(f"upload/{row.id}", checked.data, file_type)
    row.state = MediaState.PROCESSING
    return [StoredObject(row.file_key, checked.data, file_type.content_type)]


async def _thumbnail_objects(
    settings: Settings, row: MediaAttachment, thumbnail: Incoming
) -> list[StoredObject]:
    file_type, data = await accept(settings, thumbnail, images_only=True)
    try:
        processed = await in_thread(
            process_image, data, file_type, max_pixels=settings.media_image_max_pixels
        )
    except ImageRefused as exc:
        raise ValidationFailed("thumbnail", str(exc)) from None
    small = processed.variant("small")
    row.thumbnail_key = content_key("thumbnail", small.data, small.file_type)
    row.blurhash = processed.blurhash
    row.meta = {**(row.meta or {}), "small": processed.meta["small"]}
    return [StoredObject(row.thumbnail_key, small.data, small.file_type.content_type)]


async def upload(
    uow: UnitOfWork,
    settings: Settings,
    *,
    account_id: int,
    file: Incoming,
    thumbnail: Incoming | None = None,
    description_text: str = "",
    focus_text: str | None = None,
) -> MediaAttachment:
    """Images and audio are ready on return; a video comes back PROCESSING (a job runs)."""
    text = description(description_text)
    focus_x, focus_y = focus(focus_text) if focus_text else (0.0, 0.0)
    file_type, data = await accept(settings, file)
    now = utcnow()
    row = MediaAttachment(
        id=new_id(),
        account_id=account_id,
        kind=file_type.kind,
        content_type=file_type.content_type,
        description=text,
        focus_x=focus_x,
        focus_y=focus_y,
        created_at=now,
        updated_at=now,
        meta={},
    )
    if file_type.is_image:
        objects = await _image_objects(settings, row, file_type, data, file.field)
    elif file_type.kind is MediaKind.AUDIO:
        objects = await _audio_objects(row, file_type, data)
    else:
        objects = await _video_objects(row, file_type, data)
    if thumbnail is not None:
        objects += await _thumbnail_objects(settings, row, thumbnail)
    row.stored_bytes = _distinct_bytes(objects)
    await _check_quota(uow, settings, account_id, row.stored_bytes)
    await store(uow.session, uow.engines.storage, objects)
    uow.session.add(row)
    await uow.session.flush()
    _schedule_expiry(uow, settings, row.id)
    if row.state == MediaState.PROCESSING:
        uow.enqueue(PROCESS_JOB, {"media_id": row.id}, job_id=process_job_id(row.id))
    return row


def process_job_id(media_id: int) -> str:
    return f"media-process:{media_id}"


def _schedule_expiry(uow: UnitOfWork, settings: Settings, media_id: int) -> None:
    uow.enqueue(
        EXPIRE_JOB,
        {"media_id": media_id},
        job_id=f"media-expire:{media_id}",
        delay_seconds=settings.media_unattached_max_age_seconds + 60,
    )


async def update(
    uow: UnitOfWork,
    settings: Settings,
    row: MediaAttachment,
    *,
    description_text: str | None,
    focus_text: str | None,
    thumbnail: Incoming | None,
) -> MediaAttachment:
    """`PUT /api/v1/media/:id`: description, focus and the thumbnail of one's own upload."""
    if description_text is not None:
        row.description = description(description_text)
    if focus_text:
        row.focus_x, row.focus_y = focus(focus_text)
    if thumbnail is not None:
        previous = row.thumbnail_key
        objects = await _thumbnail_objects(settings, row, thumbnail)
        await store(uow.session, uow.engines.storage, objects)
        row.stored_bytes = (row.stored_bytes or 0) + _distinct_bytes(objects)
        if previous and previous != row.thumbnail_key:
            await purge_after_commit(uow, [previous])
    row.updated_at = utcnow()
    await uow.session.flush()
    return row


async def access_media(
    uow: UnitOfWork, account_id: int, media_id: int, *, for_update: bool = False
) -> MediaAttachment:
    """The caller's own upload; anyone else's is as good as missing (404)."""
    row = await repository.owned(uow.session, account_id, media_id, for_update=for_update)
    if row is None:
        raise NotFound()
    return row


async def delete_upload(uow: UnitOfWork, account_id: int, media_id: int) -> None:
    """One's own upload that no status holds (as Mastodon: an attached one answers 422):
    the row goes now, its files after commit (PURGE_JOB, unless another row names them)."""
    row = await access_media(uow, account_id, media_id, for_update=True)
    if row.status_id is not None:
        raise ValidationFailed("media", "is currently used by a status")
    await repository.delete_rows(uow.session, [row.id])
    await purge_after_commit(uow, row.stored_keys(), job_id=f"media-purge:media:{row.id}")


def parse_ids(values: Sequence[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        number = parse_id(value)
        if number is None:
            raise ValidationFailed("media_ids", "must be a list of media ids")
        if number not in ids:
            ids.append(number)
    if len(ids) > MAX_MEDIA_ATTACHMENTS:
        raise ValidationFailed("media_ids", f"can hold at most {MAX_MEDIA_ATTACHMENTS} attachments")
    return ids


def _check_free(
    rows: dict[int, MediaAttachment], media_ids: Sequence[int], status_id: int | None
) -> None:
    """Each of `media_ids` is the caller's own (`rows`), finished processing, held by no
    scheduled status and attached to no status other than `status_id`."""
    for media_id in media_ids:
        row = rows.get(media_id)
        if (
            row is None
            or row.status_id not in (None, status_id)
            or row.scheduled_status_id is not None
        ):
            raise ValidationFailed("media_ids", f"{media_id} is not an unattached upload of yours")
        if row.state != MediaState.READY:
            raise ValidationFailed(
                "media_ids", "cannot attach files that have not finished processing"
            )


async def attach(
    uow: UnitOfWork, *, account_id: int, status_id: int, media_ids: Sequence[int]
) -> bool:
    """Make `media_ids` (in order) the status's attachments: only the caller's own media,
    unattached or already on this status, and finished processing. Media taken off the
    status become unattached (and expire). Returns whether the status has media."""
    rows = await repository.owned_many(uow.session, account_id, media_ids)
    _check_free(rows, media_ids, status_id)
    for current in await repository.of_status(uow.session, status_id):
        if current.id not in rows:
            current.status_id = None
            current.created_at = utcnow()  # it expires a full day after being taken off
    for position, media_id in enumerate(media_ids):
        rows[media_id].status_id = status_id
        rows[media_id].position = position
    await uow.session.flush()
    return bool(media_ids)


async def hold(
    uow: UnitOfWork, *, account_id: int, scheduled_status_id: int, media_ids: Sequence[int]
) -> list[MediaAttachment]:
    """A scheduled status holds `media_ids` (in order) until it is posted: the same checks
    as `attach`; held media are attachable nowhere else and never expire. The rows."""
    rows = await repository.owned_many(uow.session, account_id, media_ids)
    _check_free(rows, media_ids, None)
    for position, media_id in enumerate(media_ids):
        rows[media_id].scheduled_status_id = scheduled_status_id
        rows[media_id].position = position
    await uow.session.flush()
    return [rows[media_id] for media_id in media_ids]


async def release_held(uow: UnitOfWork, settings: Settings, scheduled_status_id: int) -> None:
    """A scheduled status is cancelled: its media are unattached again, and expire a full
    day from now unless attached meanwhile."""
    for row in await repository.held_by(uow.session, [scheduled_status_id]):
        row.scheduled_status_id = None
        row.created_at = utcnow()
        _schedule_expiry(uow, settings, row.id)
    await uow.session.flush()


async def held_media(
    session: AsyncSession, scheduled_status_ids: Iterable[int]
) -> dict[int, list[MediaAttachment]]:
    """The media each of these scheduled statuses holds, in order, in one query."""
    found: dict[int, list[MediaAttachment]] = {}
    for row in await repository.held_by(session, scheduled_status_ids):
        if row.scheduled_status_id is not None:
            found.setdefault(row.scheduled_status_id, []).append(row)
    return found


async def purge_after_commit(
    uow: UnitOfWork, keys: Sequence[str], job_id: str | None = None
) -> None:
    """These stored objects lose their last reference in this transaction: recorded as
    pending purges with it (media_purges), and purged by PURGE_JOB after commit; the
    sweeper queues a purge again from the records a lost job left."""
    if keys:
        await repository.add_purges(uow.session, keys)
        uow.enqueue(PURGE_JOB, {"keys": sorted(set(keys))}, job_id=job_id)


async def release_status_media(uow: UnitOfWork, status_id: int) -> None:
    """A status is being deleted: its media rows go now, their files through the queue."""
    rows = await repository.of_status(uow.session, status_id)
    if not rows:
        return
    keys = [key for row in rows for key in row.stored_keys()]
    await repository.delete_rows(uow.session, [row.id for row in rows])
    await purge_after_commit(uow, keys, job_id=f"media-purge:status:{status_id}")


async def hold_keys(uow: UnitOfWork, holder: str, keys: Sequence[str]) -> None:
    """Keep these stored objects whatever rows name them, until `holder` releases them: a
    report's evidence outlives the status (and its media rows) it was taken from. A holder
    holds its keys once: call it once per holder (or after `release_keys`)."""
    await repository.add_holds(uow.session, holder, keys)


async def release_keys(uow: UnitOfWork, holder: str) -> None:
    """`holder` no longer needs its keys: each goes from the store after commit unless a
    row (or another holder) still names it."""
    keys = await repository.drop_holds(uow.session, holder)
    await purge_after_commit(uow, keys)


async def release_account_media(uow: UnitOfWork, account_id: int) -> None:
    """An account is being deleted: call before its row goes (privacy/deletion)."""
    rows = await repository.of_account(uow.session, account_id)
    keys = [key for row in rows for key in row.stored_keys()]
    account = await uow.session.get(Account, account_id)
    if account is not None:
        keys += [key for key in (account.avatar_key, account.header_key) if key]
        account.avatar_key = account.header_key = None
    await repository.delete_rows(uow.session, [row.id for row in rows])
    await purge_after_commit(uow, keys, job_id=f"media-purge:account:{account_id}")


async def set_profile_image(
    uow: UnitOfWork, settings: Settings, account: Account, incoming: Incoming
) -> None:
    """`avatar` or `header` on update_credentials: cropped, re-encoded, stored."""
    file_type, data = await accept(settings, incoming, images_only=True)
    try:
        variant = await in_thread(
            fitted_image,
            data,
            file_type,
            max_pixels=settings.media_image_max_pixels,
            box=PROFILE_BOXES[incoming.field],
        )
    except ImageRefused as exc:
        raise ValidationFailed(incoming.field, str(exc)) from None
    key = content_key(incoming.field, variant.data, variant.file_type)
    await store(
        uow.session,
        uow.engines.storage,
        [StoredObject(key, variant.data, variant.file_type.content_type)],
    )
    column = f"{incoming.field}_key"
    previous = getattr(account, column)
    setattr(account, column, key)
    if previous and previous != key:
        await purge_after_commit(uow, [previous])


async def remove_profile_image(uow: UnitOfWork, account: Account, field: str) -> None:
    """`DELETE /api/v1/profile/avatar|header`: back to the default image; the stored file
    is purged after commit unless another row still names it."""
    column = f"{field}_key"
    previous = getattr(account, column)
    if previous:
        setattr(account, column, None)
        await purge_after_commit(uow, [previous])


async def store_emoji(uow: UnitOfWork, settings: Settings, incoming: Incoming) -> tuple[str, str]:
    """A custom emoji's image (PNG, GIF or WebP, at most `EMOJI_MAX_BYTES`): re-encoded,
    with a static PNG rendition, both stored. Returns their keys (image, static)."""
    file_type = sniff(incoming.head)
    if file_type is None or file_type.extension not in ("png", "gif", "webp"):
        raise ValidationFailed(incoming.field, "must be a PNG, GIF or WebP image")
    if incoming.size > EMOJI_MAX_BYTES:
        raise ValidationFailed(incoming.field, f"is too large (maximum is {EMOJI_MAX_BYTES} bytes)")
    data = await incoming.read()
    if len(data) > EMOJI_MAX_BYTES:
        raise ValidationFailed(incoming.field, f"is too large (maximum is {EMOJI_MAX_BYTES} bytes)")
    try:
        image, static = await in_thread(
            emoji_images, data, file_type, max_pixels=settings.media_image_max_pixels
        )
    except ImageRefused as exc:
        raise ValidationFailed(incoming.field, str(exc)) from None
    objects = [
        StoredObject(content_key(role, v.data, v.file_type), v.data, v.file_type.content_type)
        for role, v in (("emoji", image), ("emoji_static", static))
    ]
    await store(uow.session, uow.engines.storage, objects)
    return objects[0].key, objects[1].key


@dataclass
class RemoteImage:
    """An image fetched from elsewhere (a preview card's), processed, ready to store."""

    stored: StoredObject
    width: int
    height: int
    blurhash: str


async def process_remote_image(settings: Settings, data: bytes, role: str) -> RemoteImage | None:
    """`data` decoded and re-encoded as uploads are (metadata dropped, fitted within the
    small variant's side, a blurhash), under a `role` content key; None when it is not an
    image we process. Store it with `store`."""
    file_type = sniff(data[:SNIFF_BYTES])
    if file_type is None or not file_type.is_image or len(data) > settings.media_image_max_bytes:
        return None
    try:
        processed = await in_thread(
            process_image, data, file_type, max_pixels=settings.media_image_max_pixels
        )
    except ImageRefused:
        return None
    small = processed.variant("small")
    key = content_key(role, small.data, small.file_type)
    stored = StoredObject(key, small.data, small.file_type.content_type)
    return RemoteImage(stored, small.width, small.height, processed.blurhash)


async def own_upload(
    session: AsyncSession, account_id: int, media_id: int
) -> MediaAttachment | None:
    """The caller's own upload; someone else's is as absent as a missing one."""
    return await repository.owned(session, account_id, media_id)


async def attachments_of_statuses(
    session: AsyncSession, status_ids: Iterable[int]
) -> dict[int, list[MediaAttachment]]:
    """The media attached to each of these statuses, in one query (entity rendering)."""
    return await repository.of_statuses(session, status_ids)
