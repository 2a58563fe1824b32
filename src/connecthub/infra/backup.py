"""Embedded-mode backups (docs/backups.md): an online, consistent snapshot of the SQLite
database, a copy of the local media directory and the settings a restore needs, described
by a manifest; and the restore that checks all of it into an empty data directory.

The snapshot is one step of SQLite's online backup API, which reads the database inside a
single read transaction: in WAL mode writers keep committing meanwhile (the server keeps
serving) and the copy is the database as of that transaction's start. PostgreSQL
(distributed mode) is backed up by pgBackRest instead.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import make_url

from connecthub import __version__
from connecthub.config import Settings

FORMAT = "connecthub-embedded-backup/1"
MANIFEST = "manifest.json"
DATABASE_FILE = "connecthub.db"
MEDIA_DIR = "media"
SETTINGS_FILE = "settings.env"
RESTORED_SETTINGS_FILE = "connecthub.env"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on: one line, naming what to fix."""


@dataclass(frozen=True)
class Summary:
    """What `create` wrote or `restore` verified."""

    path: Path
    tables: int
    rows: int
    database_bytes: int
    media_files: int
    media_bytes: int
    seconds: float


def sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError(
            "DATABASE_URL: not SQLite; PostgreSQL is backed up with pgBackRest "
            "(continuous archiving and point-in-time recovery: docs/backups.md)"
        )
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL: an in-memory database has nothing to back up")
    return Path(database)


def local_media_dir(settings: Settings) -> Path | None:
    """The media directory of `file://` storage; None for object storage (its own backup:
    bucket versioning or the copy job of docs/backups.md)."""
    parsed = urlparse(settings.media_storage_url)
    return Path(parsed.netloc + parsed.path) if parsed.scheme == "file" else None


def _empty_or_absent(path: Path, option: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{option}: {path} is not empty; give a new or empty directory")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _table_counts(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        # Names read from sqlite_master, not from input.
        name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in names
    }


def _integrity(connection: sqlite3.Connection) -> str:
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows[:5])


def _schema_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _snapshot(source: Path, target: Path, busy_timeout: float) -> None:
    """The database as of one read transaction, into a single self-contained file."""
    if not source.exists():
        raise BackupError(f"DATABASE_URL: {source} does not exist")
    reader = sqlite3.connect(source, timeout=busy_timeout)
    copy = sqlite3.connect(target)
    try:
        # pages=-1: the whole database in one step, so in one read transaction. Done in
        # several steps, a write between two of them would restart the copy.
        reader.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the copy
        copy.commit()
    finally:
        copy.close()
        reader.close()


def _copy_media(source: Path, target: Path) -> list[dict[str, object]]:
    """Media files are written once under a new key and never changed: a file-by-file
    copy taken after the snapshot holds every file the snapshot refers to (one deleted
    in between belonged to a row being deleted, and is reported missing)."""
    files: list[dict[str, object]] = []
    if not source.is_dir():
        return files
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, destination)
        except FileNotFoundError:
            continue  # deleted since the listing
        files.append(
            {
                "path": relative.as_posix(),
                "bytes": destination.stat().st_size,
                "sha256": _sha256(destination),
            }
        )
    return files


def _carried_settings(settings: Settings) -> dict[str, str]:
    """The settings the data depend on: SECRET_KEY (two-factor secrets, signed links),
    the absolute URLs (LOCAL_DOMAIN, BEHIND_TLS), the push key and where media live."""
    values = {
        "SECRET_KEY": settings.secret_key,
        "LOCAL_DOMAIN": settings.local_domain,
        "BEHIND_TLS": "true" if settings.behind_tls else "false",
        "MEDIA_STORAGE_URL": settings.media_storage_url,
    }
    if settings.vapid_private_key is not None:
        values["VAPID_PRIVATE_KEY"] = settings.vapid_private_key.get_secret_value()
    if settings.vapid_public_key:
        values["VAPID_PUBLIC_KEY"] = settings.vapid_public_key
    if settings.media_public_base_url:
        values["MEDIA_PUBLIC_BASE_URL"] = settings.media_public_base_url
    return values


def _write_env(path: Path, values: dict[str, str]) -> None:
    """KEY=value lines, readable by the owner only (SECRET_KEY is among them)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        for name, value in values.items():
            stream.write(f"{name}={value}\n")


def _read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, separator, value = line.partition("=")
        if separator and name.strip() and not name.startswith("#"):
            values[name.strip()] = value
    return values


def create(settings: Settings, destination: Path) -> Summary:
    """Writes a backup into `destination` (new or empty); the manifest is written last, so
    a directory without one is an unfinished backup."""
    started = time.perf_counter()
    source = sqlite_path(settings)
    _empty_or_absent(destination, "PATH")
    existed = destination.exists()
    destination.mkdir(parents=True, exist_ok=True)
    try:
        return _create_into(settings, source, destination, started)
    except BaseException:
        _remove_contents(destination, keep=existed)
        raise


def _remove_contents(directory: Path, *, keep: bool) -> None:
    """Undoes a failed backup or restore: what it wrote goes, so a retry starts clean."""
    for child in directory.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    if not keep:
        directory.rmdir()


def _create_into(settings: Settings, source: Path, destination: Path, started: float) -> Summary:
    database = destination / DATABASE_FILE
    taken_at = datetime.datetime.now(datetime.UTC)
    _snapshot(source, database, settings.sqlite_busy_timeout_seconds)
    copy = sqlite3.connect(database)
    try:
        integrity = _integrity(copy)
        counts = _table_counts(copy)
        revision = _schema_revision(copy)
    finally:
        copy.close()
    if integrity != "ok":
        raise BackupError(f"DATABASE_URL: the snapshot fails PRAGMA integrity_check: {integrity}")
    media_source = local_media_dir(settings)
    files = _copy_media(media_source, destination / MEDIA_DIR) if media_source else []
    carried = _carried_settings(settings)
    _write_env(destination / SETTINGS_FILE, carried)
    manifest = {
        "format": FORMAT,
        "connecthub_version": __version__,
        "taken_at": taken_at.isoformat(),
        "schema_revision": revision,
        "database": {
            "file": DATABASE_FILE,
            "bytes": database.stat().st_size,
            "sha256": _sha256(database),
            "integrity_check": integrity,
            "row_counts": counts,
        },
        "media": {
            "storage": "local" if media_source else "object storage (not copied)",
            "files": files,
        },
        "settings": {"file": SETTINGS_FILE, "names": sorted(carried)},
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return Summary(
        path=destination,
        tables=len(counts),
        rows=sum(counts.values()),
        database_bytes=database.stat().st_size,
        media_files=len(files),
        media_bytes=sum(int(str(entry["bytes"])) for entry in files),
        seconds=time.perf_counter() - started,
    )


def _manifest(backup: Path) -> dict[str, object]:
    path = backup / MANIFEST
    if not path.is_file():
        raise BackupError(f"PATH: {backup} has no {MANIFEST} (not a backup, or an unfinished one)")
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        raise BackupError(f"PATH: {path} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"PATH: {path} is not a {FORMAT} manifest")
    return manifest


def restore(backup: Path, data_dir: Path) -> Summary:
    """Restores `backup` into `data_dir` (new or empty): the database, checked against the
    manifest (its digest, `PRAGMA integrity_check`, every table's row count), the media
    files (sizes and digests), and `connecthub.env`, the settings to start a server on it.
    On any failure the data directory is removed again, so a retry starts clean."""
    started = time.perf_counter()
    manifest = _manifest(backup)
    _empty_or_absent(data_dir, "--data-dir")
    existed = data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        summary = _restore_into(backup, manifest, data_dir.resolve())
    except BaseException:
        _remove_contents(data_dir, keep=existed)
        raise
    return dataclasses.replace(summary, seconds=time.perf_counter() - started)


def _restore_into(backup: Path, manifest: dict[str, object], data_dir: Path) -> Summary:
    described = manifest["database"]
    assert isinstance(described, dict)
    source = backup / str(described["file"])
    if not source.is_file():
        raise BackupError(f"PATH: {source} is missing")
    if _sha256(source) != described["sha256"]:
        raise BackupError(f"PATH: {source} differs from the manifest (sha256): damaged")
    database = data_dir / DATABASE_FILE
    shutil.copyfile(source, database)
    connection = sqlite3.connect(database)
    try:
        integrity = _integrity(connection)
        if integrity != "ok":
            raise BackupError(f"PATH: PRAGMA integrity_check failed: {integrity}")
        counts = _table_counts(connection)
        connection.execute("PRAGMA journal_mode=WAL")  # as the server runs it
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"PATH: PRAGMA integrity_check failed: {exc}") from None
    finally:
        connection.close()
    expected = described["row_counts"]
    assert isinstance(expected, dict)
    wrong = [
        f"{table} has {counts.get(table)} rows, the manifest says {expected.get(table)}"
        for table in sorted(set(counts) | set(expected))
        if counts.get(table) != expected.get(table)
    ]
    if wrong:
        raise BackupError("PATH: row counts differ from the manifest: " + "; ".join(wrong))
    media = manifest["media"]
    assert isinstance(media, dict)
    files = media["files"]
    assert isinstance(files, list)
    media_dir = data_dir / MEDIA_DIR
    media_dir.mkdir()
    for entry in files:
        relative = Path(str(entry["path"]))
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"PATH: the manifest names a media file outside media/: {relative}")
        copied = media_dir / relative
        copied.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup / MEDIA_DIR / relative, copied)
        if copied.stat().st_size != entry["bytes"] or _sha256(copied) != entry["sha256"]:
            raise BackupError(f"PATH: media file {relative} differs from the manifest: damaged")
    carried = _read_env(backup / SETTINGS_FILE)
    restored = {
        **carried,
        "DATABASE_URL": f"sqlite:///{database}",
        "OUTBOX_DIR": str(data_dir / "outbox"),
    }
    if str(media["storage"]) == "local":
        restored["MEDIA_STORAGE_URL"] = f"file://{media_dir}"
    _write_env(data_dir / RESTORED_SETTINGS_FILE, restored)
    return Summary(
        path=data_dir,
        tables=len(counts),
        rows=sum(counts.values()),
        database_bytes=database.stat().st_size,
        media_files=len(files),
        media_bytes=sum(int(entry["bytes"]) for entry in files),
        seconds=0.0,
    )
