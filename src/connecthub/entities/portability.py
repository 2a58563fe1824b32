"""ConnectHub's data-portability entities (exports and imports), in Mastodon's JSON style."""

from __future__ import annotations

from typing_extensions import TypedDict


class DataExport(TypedDict):
    id: str
    state: str  # pending, ready, failed or expired
    created_at: str
    completed_at: str | None
    expires_at: str | None
    size: int | None
    # The signed download link (ready exports only); it works until `expires_at`.
    url: str | None


class DataImportError(TypedDict):
    line: int
    data: dict[str, object]
    error: str


class DataImport(TypedDict):
    id: str
    type: str
    mode: str
    state: str  # processing or finished
    original_filename: str
    likely_mismatched: bool
    total_items: int
    processed_items: int
    imported_items: int
    failed_items: int
    created_at: str
    finished_at: str | None
    errors: list[DataImportError]
