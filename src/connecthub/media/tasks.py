"""Background jobs of the media domain. Each is idempotent: run twice, it does nothing more.

- `media.process`: probe a video, strip its metadata, make a poster frame (ffmpeg), mark it
  ready. Slow work happens outside any transaction; the row is re-read before writing.
- `media.purge`: delete stored objects that no row names any more.
- `media.expire_unattached`: delete uploads left unattached too long. One is scheduled per
  upload (delayed by the maximum age); each run sweeps every expired upload, so uploads
  whose own job was lost (an embedded server restarted) are still removed.

When a queue loses these jobs, the sweeper (infra/sweeper.py) re-derives them from the
database: uploads still processing, purges recorded in `media_purges` and not done, and
uploads unattached past the maximum age.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import structlog

from connecthub.clock import utcnow
from connecthub.infra.engines import Engines
from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.sweeper import Sweep, sweep
from connecthub.media import av, repository
from connecthub.media.models import MediaAttachment, MediaState
from connecthub.media.processing import ImageRefused, process_image
from connecthub.media.service import (
    EXPIRE_JOB,
    PROCESS_JOB,
    PURGE_JOB,
    StoredObject,
    content_key,
    in_thread,
    process_job_id,
    store,
)
from connecthub.media.sniffing import BY_EXTENSION, PNG, FileType

log = structlog.get_logger(__name__)
SWEEP_BATCH = 500


async def purge_keys(engines: Engines, keys: list[str]) -> None:
    """Delete the objects no row names, then the purge records of `keys` that were there
    before the check: a reference dropped (and recorded) after it is purged by its own
    job, or by the sweeper from its record."""
    async with engines.db.session() as session:
        recorded = await repository.purge_ids(session, keys)
        in_use = await repository.keys_in_use(session, keys)
    for key in keys:
        if key not in in_use:
            await engines.storage.delete(key)
    if recorded:
        async with engines.db.transaction() as session:
            await repository.forget_purges(session, recorded)


@job(PURGE_JOB)
async def purge(ctx: JobContext, payload: Payload) -> None:
    await purge_keys(ctx.engines, [str(key) for key in payload.get("keys", [])])


async def sweep_unattached(engines: Engines) -> int:
    """Delete unattached uploads older than the maximum age (rows, then files)."""
    cutoff = utcnow() - timedelta(seconds=engines.settings.media_unattached_max_age_seconds)
    removed = 0
    while True:
        async with engines.db.transaction() as session:
            rows = await repository.unattached_before(session, cutoff, SWEEP_BATCH)
            keys = [key for row in rows for key in row.stored_keys()]
            await repository.delete_rows(session, [row.id for row in rows])
            await repository.add_purges(session, keys)
        await purge_keys(engines, keys)
        removed += len(rows)
        if len(rows) < SWEEP_BATCH:
            return removed


@job(EXPIRE_JOB)
async def expire_unattached(ctx: JobContext, payload: Payload) -> None:
    removed = await sweep_unattached(ctx.engines)
    if removed:
        log.info("media.unattached_removed", count=removed)


def _file_type(row: MediaAttachment) -> FileType:
    return BY_EXTENSION[row.file_key.rsplit(".", 1)[-1]]


def _video_work(data: bytes, file_type: FileType, max_pixels: int, ffmpeg: bool) -> dict[str, Any]:
    """Everything slow, on the worker's thread: probe and poster frame. The upload was
    verified and re-muxed without metadata before it was stored (av.verified)."""
    result: dict[str, Any] = {"probe": av.probe(data, file_type), "file": data}
    poster = av.poster_frame(data, file_type, ffmpeg=ffmpeg)
    if poster:
        with contextlib.suppress(ImageRefused):  # no poster rather than no video
            result["poster"] = process_image(poster, PNG, max_pixels=max_pixels)
    return result


@job(PROCESS_JOB)
async def process_video(ctx: JobContext, payload: Payload) -> None:
    engines = ctx.engines
    media_id = int(payload["media_id"])
    async with engines.db.session() as session:
        row = await repository.by_id(session, media_id)
        if row is None or row.state != MediaState.PROCESSING:
            return
        upload_key, file_type = row.file_key, _file_type(row)
    data = await engines.storage.get(upload_key)
    try:
        result = await in_thread(
            _video_work,
            data,
            file_type,
            engines.settings.media_image_max_pixels,
            av.ffmpeg_available(engines.settings.media_ffmpeg),
        )
    except (av.MediaRefused, OSError) as exc:
        log.info("media.video_refused", media_id=media_id, reason=str(exc))
        async with engines.db.transaction() as session:
            row = await repository.by_id(session, media_id)
            if row is not None and row.state == MediaState.PROCESSING:
                row.state = MediaState.FAILED
        return
    await _finish_video(engines, media_id, (upload_key, len(data)), file_type, result)


async def _finish_video(
    engines: Engines,
    media_id: int,
    upload: tuple[str, int],
    file_type: FileType,
    result: dict[str, Any],
) -> None:
    upload_key, upload_size = upload
    stripped: bytes = result["file"]
    objects = [
        StoredObject(content_key("original", stripped, file_type), stripped, file_type.content_type)
    ]
    poster = result.get("poster")
    if poster is not None:
        small = poster.variant("small")
        objects.append(
            StoredObject(
                content_key("small", small.data, small.file_type),
                small.data,
                small.file_type.content_type,
            )
        )
    async with engines.db.transaction() as session:
        row = await repository.by_id(session, media_id)
        if row is None or row.state != MediaState.PROCESSING:
            return
        await store(session, engines.storage, objects)
        row.file_key = objects[0].key
        meta = av.video_meta(result["probe"])
        if poster is not None:
            row.small_key = objects[1].key
            meta["small"] = poster.meta["small"]
            row.blurhash = row.blurhash or poster.blurhash
        elif row.meta.get("small"):
            meta["small"] = row.meta["small"]  # from a thumbnail the client sent
        row.meta = meta
        # The upload's bytes are replaced by the stripped file and the poster.
        added = sum(len(item.data) for item in objects)
        row.stored_bytes = max(0, (row.stored_bytes or 0) - upload_size) + added
        row.state = MediaState.READY
        row.updated_at = utcnow()
        if upload_key != objects[0].key:
            await repository.add_purges(session, [upload_key])
    if upload_key != objects[0].key:
        await purge_keys(engines, [upload_key])


# --- the sweeper's re-derivations --------------------------------------------------------


@sweep("media_processing")
async def requeue_processing(run: Sweep) -> None:
    """Uploads still processing past the grace period: their job was lost (one running,
    queued or dead-lettered under the same id is left as it is)."""
    async with run.engines.db.session(readonly=True) as session:
        media_ids = await repository.processing_before(session, run.cutoff, run.limit)
    for media_id in media_ids:
        await run.enqueue(PROCESS_JOB, {"media_id": media_id}, job_id=process_job_id(media_id))


@sweep("media_purges")
async def requeue_purges(run: Sweep) -> None:
    """Purges recorded before the grace period and not done: one job per batch, named by
    its first and last record, so the same lost batch is queued once."""
    async with run.engines.db.session(readonly=True) as session:
        pending = await repository.purges_before(session, run.cutoff, run.limit)
    for start in range(0, len(pending), SWEEP_BATCH):
        batch = pending[start : start + SWEEP_BATCH]
        keys = sorted({key for _, key in batch})
        job_id = f"media-purge:pending:{batch[0][0]}-{batch[-1][0]}"
        await run.enqueue(PURGE_JOB, {"keys": keys}, job_id=job_id)


@sweep("media_unattached")
async def requeue_expiry(run: Sweep) -> None:
    """Uploads unattached for longer than the maximum age: one sweep of them all."""
    max_age = timedelta(seconds=run.engines.settings.media_unattached_max_age_seconds)
    async with run.engines.db.session(readonly=True) as session:
        expired = await repository.any_unattached_before(session, utcnow() - max_age)
    if expired:
        await run.enqueue(EXPIRE_JOB, {}, job_id="media-expire:sweep")
