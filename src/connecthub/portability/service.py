"""Data portability rules: asking for an archive (one per seven days, as Mastodon's
backups), reading one's own exports, opening an archive for download (its owner's token
or the export's signed link, until it expires), and importing Mastodon's CSV files.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.errors import Gone, NotFound, TooManyRequests, ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service as media_service
from connecthub.portability import csv_files, repository
from connecthub.portability.models import (
    PENDING,
    READY,
    DataExport,
    DataImport,
    DataImportRow,
)

BUILD_JOB = "portability.build_export"
PURGE_JOB = "portability.purge_exports"
IMPORT_JOB = "portability.run_import"

# Mastodon: one archive per 7 days (BackupPolicy), kept 7 days (the backups vacuum).
EXPORT_INTERVAL = timedelta(days=7)
ARCHIVE_LIFETIME = timedelta(days=7)
LISTED = 20
# Mastodon's import limits (Form::Import).
IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
MODES = ("merge", "overwrite")


def build_job_id(export_id: int) -> str:
    return f"export:{export_id}"


def import_job_id(import_id: int, round_number: int = 0) -> str:
    return f"import:{import_id}:{round_number}"


def archive_key(settings: Settings, export: DataExport) -> str:
    """The archive's object-store key: the same for every run of one export (a retried
    build overwrites, never orphans) and unguessable without SECRET_KEY."""
    secret = settings.secret_key.encode()
    digest = hmac.new(secret, f"export:{export.id}".encode(), hashlib.sha256).hexdigest()
    return f"exports/{digest[:2]}/{digest[2:34]}/archive-{export.id}.zip"


def archive_filename(export: DataExport) -> str:
    stamp = (export.completed_at or export.created_at).strftime("%Y%m%d%H%M%S")
    return f"archive-{stamp}-{export.id}.zip"


# --- exports ----------------------------------------------------------------------------------


async def request_export(uow: UnitOfWork, account_id: int) -> DataExport:
    """A new export, its build queued after commit; refused (429, Retry-After) while the
    last one is younger than seven days."""
    now = utcnow()
    previous = await repository.latest_export_since(uow.session, account_id, now - EXPORT_INTERVAL)
    if previous is not None:
        created = previous.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=now.tzinfo)
        next_at = created + EXPORT_INTERVAL
        wait = max(1, int((next_at - now).total_seconds()))
        raise TooManyRequests(
            "You can request an archive once every 7 days; the next one from "
            f"{next_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            headers={"Retry-After": str(wait)},
        )
    export = DataExport(account_id=account_id, state=PENDING, created_at=now)
    uow.session.add(export)
    await uow.session.flush()
    uow.enqueue(BUILD_JOB, {"export_id": export.id}, job_id=build_job_id(export.id))
    return export


async def exports_of(uow: UnitOfWork, account_id: int) -> list[DataExport]:
    return await repository.exports_of(uow.session, account_id, LISTED)


async def export_of(uow: UnitOfWork, account_id: int, export_id: int) -> DataExport:
    export = await repository.export_of(uow.session, account_id, export_id)
    if export is None:
        raise NotFound()
    return export


def _link_serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt="connecthub.export")


def download_token(settings: Settings, export: DataExport) -> str:
    """The signed part of an export's download link: it names the export and its owner;
    the export's own expiry ends it (and the archive)."""
    return str(_link_serializer(settings).dumps({"e": export.id, "a": export.account_id}))


def _token_owner(settings: Settings, token: str, export_id: int) -> int | None:
    try:
        data = _link_serializer(settings).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("e") != export_id:
        return None
    owner = data.get("a")
    return owner if isinstance(owner, int) else None


@dataclass(frozen=True)
class Download:
    key: str
    size: int
    filename: str


async def open_download(
    uow: UnitOfWork,
    settings: Settings,
    export_id: int,
    *,
    account_id: int | None,
    token: str | None,
) -> Download:
    """The archive to send, for its owner (bearer token) or the holder of its signed link.
    Anyone else: 404 (never saying the export exists); after expiry: 410."""
    owner = account_id
    if token:
        owner = _token_owner(settings, token, export_id)
    if owner is None:
        raise NotFound()
    export = await repository.export_of(uow.session, owner, export_id)
    if export is None:
        raise NotFound()
    expires_at = export.expires_at
    now = utcnow()
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=now.tzinfo)
    if export.state != READY or export.storage_key is None:
        if export.state == PENDING:
            raise NotFound("This archive is not ready yet")
        raise Gone("This archive has expired")
    if expires_at is not None and expires_at <= now:
        raise Gone("This archive has expired")
    size = await uow.engines.storage.size(export.storage_key)
    if size is None:
        raise Gone("This archive has expired")
    return Download(export.storage_key, size, archive_filename(export))


async def erase_exports(uow: UnitOfWork, account_id: int, limit: int) -> int:
    """Account erasure: up to `limit` of the account's exports go, their archives purged
    from the store after commit (through media's purge records); how many went."""
    rows = await repository.exports_of(uow.session, account_id, limit)
    keys = [row.storage_key for row in rows if row.storage_key]
    for row in rows:
        await uow.session.delete(row)
    await uow.session.flush()
    await media_service.purge_after_commit(uow, keys)
    return len(rows)


# --- imports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportFile:
    filename: str
    data: bytes


async def request_import(
    uow: UnitOfWork, account_id: int, *, kind: str, mode: str, file: ImportFile
) -> DataImport:
    """Parse and keep the file's rows (one per line), then queue the import job."""
    if kind == csv_files.DOMAIN_BLOCKING:
        raise ValidationFailed("type", "domain blocks are federation, which is not supported")
    if kind not in csv_files.TYPES:
        raise ValidationFailed("type", f"must be one of {', '.join(csv_files.TYPES)}")
    if mode not in MODES:
        raise ValidationFailed("mode", "must be merge or overwrite")
    if len(file.data) > IMPORT_MAX_BYTES:
        raise ValidationFailed("data", "is too large (at most 20 MB)")
    try:
        text = file.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("data", "must be UTF-8 text") from None
    try:
        rows = csv_files.parse(text, kind, IMPORT_MAX_ROWS)
    except csv_files.CsvRefused as refused:
        raise ValidationFailed("data", str(refused)) from None
    record = DataImport(
        account_id=account_id,
        type=kind,
        overwrite=mode == "overwrite",
        original_filename=file.filename[:255],
        likely_mismatched=csv_files.guessed_type(text.partition("\n")[0].split(","), file.filename)
        not in (None, kind),
        total_items=len(rows),
    )
    uow.session.add(record)
    await uow.session.flush()
    uow.session.add_all(
        [DataImportRow(import_id=record.id, line=row.line, data=row.data) for row in rows]
    )
    await uow.session.flush()
    uow.enqueue(IMPORT_JOB, {"import_id": record.id}, job_id=import_job_id(record.id))
    return record


async def import_of(uow: UnitOfWork, account_id: int, import_id: int) -> DataImport:
    record = await repository.import_of(uow.session, account_id, import_id)
    if record is None:
        raise NotFound()
    return record


async def imports_of(uow: UnitOfWork, account_id: int) -> list[DataImport]:
    return await repository.imports_of(uow.session, account_id, LISTED)


async def failed_rows(session: AsyncSession, import_id: int, limit: int) -> list[DataImportRow]:
    return await repository.failed_rows(session, import_id, limit)
