"""The one converter from export and import records to their entities."""

from __future__ import annotations

from collections.abc import Sequence

from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.entities.portability import DataExport as DataExportEntity
from connecthub.entities.portability import DataImport as DataImportEntity
from connecthub.portability.models import READY, DataExport, DataImport, DataImportRow
from connecthub.portability.service import download_token


def export_entity(settings: Settings, export: DataExport) -> DataExportEntity:
    ready = export.state == READY
    url = None
    if ready:
        token = download_token(settings, export)
        url = f"{settings.base_url}/api/v1/exports/{export.id}/download?token={token}"
    return {
        "id": str(export.id),
        "state": export.state,
        "created_at": iso(export.created_at),
        "completed_at": iso(export.completed_at),
        "expires_at": iso(export.expires_at),
        "size": export.size_bytes if ready else None,
        "url": url,
    }


def import_entity(record: DataImport, failed: Sequence[DataImportRow]) -> DataImportEntity:
    return {
        "id": str(record.id),
        "type": record.type,
        "mode": "overwrite" if record.overwrite else "merge",
        "state": record.state,
        "original_filename": record.original_filename,
        "likely_mismatched": record.likely_mismatched,
        "total_items": record.total_items,
        "processed_items": record.processed_items,
        "imported_items": record.imported_items,
        "failed_items": record.processed_items - record.imported_items,
        "created_at": iso(record.created_at),
        "finished_at": iso(record.finished_at),
        "errors": [
            {"line": row.line, "data": dict(row.data), "error": row.error or ""} for row in failed
        ],
    }
