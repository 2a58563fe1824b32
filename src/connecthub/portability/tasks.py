"""Background jobs of data portability.

- `portability.build_export` {"export_id"}: write the archive onto a temporary file
  (exporting.py), store it (a multipart upload on S3), mark the export ready, mail its
  owner. Idempotent: a ready or expired export is left alone, and every run of one export
  writes the same object key.
- `portability.purge_exports`: delete archives past their expiry (one is queued per export,
  delayed to its expiry; the sweep also runs it, so a lost job only delays a purge).
- `portability.run_import` {"import_id", "round"?}: handle up to `ROWS_PER_RUN` rows, then
  queue the next round under its own job id until the import is finished.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import structlog

from connecthub.accounts.mail import Mail, send_mail
from connecthub.clock import utcnow
from connecthub.core import i18n
from connecthub.core.i18n import gettext as _
from connecthub.infra.engines import Engines
from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.sweeper import Sweep, sweep
from connecthub.portability import exporting, importing, repository
from connecthub.portability.archive import ArchiveWriter
from connecthub.portability.models import EXPIRED, FAILED, PENDING, READY, DataExport
from connecthub.portability.service import (
    ARCHIVE_LIFETIME,
    BUILD_JOB,
    IMPORT_JOB,
    PURGE_JOB,
    archive_key,
    build_job_id,
    download_token,
    import_job_id,
)

log = structlog.get_logger(__name__)
PURGE_BATCH = 100


async def _claim(engines: Engines, export_id: int) -> DataExport | None:
    async with engines.db.transaction() as session:
        export = await session.get(DataExport, export_id, with_for_update=True)
        if export is None or export.state != PENDING:
            return None
        export.started_at = utcnow()
        return export


async def build(engines: Engines, export_id: int) -> None:
    export = await _claim(engines, export_id)
    if export is None:
        return
    key = archive_key(engines.settings, export)
    with tempfile.TemporaryDirectory(prefix="connecthub-export-") as directory:
        path = Path(directory) / "archive.zip"
        writer = ArchiveWriter(path)
        try:
            found = await exporting.write_archive(engines, export.account_id, writer)
        finally:
            await writer.close()
        size = path.stat().st_size
        if found:
            await engines.storage.put_file(key, path, "application/zip")
    async with engines.db.transaction() as session:
        export = await session.get(DataExport, export_id, with_for_update=True)
        if export is None or export.state != PENDING:
            return
        if not found:
            export.state = FAILED
            return
        now = utcnow()
        export.state, export.storage_key, export.size_bytes = READY, key, size
        export.completed_at, export.expires_at = now, now + ARCHIVE_LIFETIME
        user = await repository.account_and_user(session, export.account_id)
    await engines.jobs.enqueue(
        PURGE_JOB,
        {},
        job_id=f"export-purge:{export_id}",
        delay_seconds=ARCHIVE_LIFETIME.total_seconds() + 1,
    )
    log.info("portability.export_ready", export_id=export_id, bytes=size)
    if user is not None:
        await _mail_ready(engines, export, user[1].email, user[1].locale)


async def _mail_ready(engines: Engines, export: DataExport, email: str, locale: str) -> None:
    """Mastodon mails the owner when a backup is ready; so does ConnectHub."""
    settings = engines.settings
    link = (
        f"{settings.base_url}/api/v1/exports/{export.id}/download"
        f"?token={download_token(settings, export)}"
    )
    expires = export.expires_at.strftime("%Y-%m-%d %H:%M UTC") if export.expires_at else ""
    with i18n.using(locale):
        text = _(
            "Your archive is ready for download.\n\n"
            "Download it before %(expires)s: %(link)s\n\n"
            "The link works only for this archive and ends when the archive is deleted."
        ) % {"expires": expires, "link": link}
        subject = _("Your archive is ready")
    try:
        await send_mail(settings, Mail(to=email, subject=subject, text=text))
    except Exception:  # the archive is ready either way; the API shows it
        log.warning("portability.mail_failed", export_id=export.id, exc_info=True)


@job(BUILD_JOB)
async def build_export(ctx: JobContext, payload: Payload) -> None:
    await build(ctx.engines, int(payload["export_id"]))


async def purge_expired(engines: Engines) -> int:
    """Delete every archive past its expiry; the export rows stay (the 7-day rule)."""
    purged = 0
    while True:
        async with engines.db.session(readonly=True) as session:
            rows = await repository.expired_exports(session, utcnow(), PURGE_BATCH)
        for row in rows:
            if row.storage_key:
                await engines.storage.delete(row.storage_key)
            async with engines.db.transaction() as session:
                export = await session.get(DataExport, row.id, with_for_update=True)
                if export is not None and export.state == READY:
                    export.state, export.storage_key = EXPIRED, None
            purged += 1
        if len(rows) < PURGE_BATCH:
            return purged


@job(PURGE_JOB)
async def purge_exports(ctx: JobContext, payload: Payload) -> None:
    await purge_expired(ctx.engines)


@job(IMPORT_JOB)
async def run_import(ctx: JobContext, payload: Payload) -> None:
    import_id = int(payload["import_id"])
    round_number = int(payload.get("round", 0))
    if await importing.run(ctx.engines, import_id):
        return
    await ctx.engines.jobs.enqueue(
        IMPORT_JOB,
        {"import_id": import_id, "round": round_number + 1},
        job_id=import_job_id(import_id, round_number + 1),
    )


@sweep("data_exports")
async def requeue_exports(run: Sweep) -> None:
    """Builds a queue lost start again; expired archives are purged at every sweep."""
    async with run.engines.db.session(readonly=True) as session:
        export_ids = await repository.stalled_exports(session, run.cutoff, run.limit)
    for export_id in export_ids:
        await run.enqueue(BUILD_JOB, {"export_id": export_id}, job_id=build_job_id(export_id))
    await purge_expired(run.engines)


@sweep("data_imports")
async def requeue_imports(run: Sweep) -> None:
    async with run.engines.db.session(readonly=True) as session:
        import_ids = await repository.unfinished_imports(session, run.cutoff, run.limit)
    for import_id in import_ids:
        if run.has_dead_under(f"import:{import_id}:"):
            continue
        await run.enqueue(IMPORT_JOB, {"import_id": import_id}, job_id=import_job_id(import_id))
