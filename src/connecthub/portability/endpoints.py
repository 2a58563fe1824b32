"""Data portability API (ConnectHub extensions in Mastodon's style; Mastodon has these
only as web pages): exports (`/api/v1/exports`) and CSV imports (`/api/v1/imports`).
Handlers parse, call the service, serialize."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from connecthub.entities.portability import DataExport, DataImport
from connecthub.errors import Forbidden, Unauthorized, ValidationFailed
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.inputs import check_fields
from connecthub.infra.storage import CHUNK_SIZE
from connecthub.oauth.scopes import covers
from connecthub.portability import csv_files, service
from connecthub.portability.serializers import export_entity, import_entity

router = APIRouter(tags=["connecthub"], route_class=EntityRoute)

# An archive holds everything the account can read: only a token with all of `read`.
ReadAll = Annotated[Caller, Depends(require("read"))]
IMPORT_SCOPES = {
    csv_files.FOLLOWING: "write:follows",
    csv_files.BLOCKING: "write:blocks",
    csv_files.MUTING: "write:mutes",
    csv_files.BOOKMARKS: "write:bookmarks",
    csv_files.LISTS: "write:lists",
}
Importer = Annotated[Caller, Depends(require("write", *IMPORT_SCOPES.values()))]
# Reading one's imports: any scope that reads or writes what they import.
ImportReader = Annotated[
    Caller,
    Depends(
        require(
            "read",
            "write",
            *IMPORT_SCOPES.values(),
            *(scope.replace("write:", "read:") for scope in IMPORT_SCOPES.values()),
        )
    ),
]
ERRORS_SHOWN = 100

EXPORT_DESCRIPTION = """\
Asks for an archive of everything the account holds (the GDPR right of access and
portability): Mastodon's archive layout (`outbox.json`, `actor.json`, `likes.json`,
`bookmarks.json`, `media_attachments/files/…`), Mastodon's CSV exports and ConnectHub's own
JSON files (docs/exports-and-imports.md). Built by a background job; the owner gets an
e-mail when it is ready. One archive per 7 days: a second request answers 429 with
`Retry-After`. Needs the whole `read` scope. Answers 202 with the DataExport."""


@router.post(
    "/api/v1/exports",
    status_code=202,
    summary="Request an archive of my data (one per 7 days)",
    description=EXPORT_DESCRIPTION,
    response_model=DataExport,
)
async def request_export(caller: ReadAll, uow: UowDep, settings: SettingsDep) -> JSONResponse:
    export = await service.request_export(uow, caller.account_id)
    return JSONResponse(export_entity(settings, export), status_code=202)


@router.get("/api/v1/exports", summary="My archives, newest first (the last 20)")
async def list_exports(caller: ReadAll, uow: UowDep, settings: SettingsDep) -> list[DataExport]:
    return [
        export_entity(settings, row) for row in await service.exports_of(uow, caller.account_id)
    ]


@router.get("/api/v1/exports/{export_id:id}", summary="One of my archives: its state and link")
async def get_export(
    export_id: PathId, caller: ReadAll, uow: UowDep, settings: SettingsDep
) -> DataExport:
    return export_entity(settings, await service.export_of(uow, caller.account_id, export_id))


@router.get(
    "/api/v1/exports/{export_id:id}/download",
    summary="Download an archive (its owner's token, or the signed `token` of its link)",
    description=(
        "Streams the ZIP archive. Authorised by the owner's bearer token (whole `read` "
        "scope) or by the `token` query parameter of the export's `url`. Another account's "
        "export answers 404; an expired archive 410."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_export(
    export_id: PathId,
    uow: UowDep,
    settings: SettingsDep,
    bearer: OptionalToken,
    token: Annotated[str | None, Query(max_length=512)] = None,
) -> StreamingResponse:
    account_id = None
    if not token:
        if bearer is None or bearer.account_id is None:
            raise Unauthorized()
        if not covers(bearer.scopes, "read"):
            raise Forbidden()
        account_id = bearer.account_id
    found = await service.open_download(
        uow, settings, export_id, account_id=account_id, token=token
    )
    storage = uow.engines.storage

    async def body() -> AsyncIterator[bytes]:
        start = 0
        while start < found.size:
            end = min(start + 16 * CHUNK_SIZE, found.size) - 1
            async for chunk in storage.stream(found.key, start, end):
                yield chunk
            start = end + 1

    return StreamingResponse(
        body(),
        media_type="application/zip",
        headers={
            "Content-Length": str(found.size),
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


IMPORT_DESCRIPTION = """\
Imports one of Mastodon's CSV exports into the account, as Mastodon's import page does.
Multipart fields: `data` (the file; `file` is accepted too), `type` (`following`,
`blocking`, `muting`, `bookmarks` or `lists`; `domain_blocking` is refused: federation) and
`mode` (`merge`, the default, or `overwrite`: what the file does not list is removed). At
most 20 MB and 20,000 rows. Rows are applied by a background job; read the progress and
each failed row's error with `GET /api/v1/imports/:id`. Needs `write` or the type's scope
(`write:follows`, `write:blocks`, `write:mutes`, `write:bookmarks`, `write:lists`)."""


def _file(form: FormData) -> service.ImportFile:
    for field in ("data", "file"):
        value = form.get(field)
        if isinstance(value, UploadFile):
            if (value.size or 0) > service.IMPORT_MAX_BYTES:  # refused before reading it
                raise ValidationFailed(field, "is too large (at most 20 MB)")
            return service.ImportFile(value.filename or "", value.file.read())
        if value not in (None, ""):
            raise ValidationFailed(field, "must be a file")
    raise ValidationFailed("data", "is required")


@router.post(
    "/api/v1/imports",
    status_code=202,
    summary="Import a Mastodon CSV file (follows, blocks, mutes, bookmarks, lists)",
    description=IMPORT_DESCRIPTION,
    response_model=DataImport,
)
async def request_import(request: Request, caller: Importer, uow: UowDep) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise ValidationFailed("data", "must be sent as multipart/form-data")
    form = await request.form(max_part_size=service.IMPORT_MAX_BYTES + 1)
    fields = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    check_fields(fields)
    values = dict(fields)
    kind = values.get("type", "").strip()
    if not kind:
        raise ValidationFailed("type", "is required")
    scope = IMPORT_SCOPES.get(kind)
    if scope is not None and not covers(caller.token.scopes, scope):
        raise Forbidden("This action is outside the authorized scopes")
    record = await service.request_import(
        uow,
        caller.account_id,
        kind=kind,
        mode=values.get("mode", "merge").strip() or "merge",
        file=_file(form),
    )
    return JSONResponse(import_entity(record, []), status_code=202)


@router.get("/api/v1/imports", summary="My imports, newest first (the last 20)")
async def list_imports(caller: ImportReader, uow: UowDep) -> list[DataImport]:
    return [import_entity(row, []) for row in await service.imports_of(uow, caller.account_id)]


@router.get(
    "/api/v1/imports/{import_id:id}",
    summary="One import: its progress and the rows that failed (the first 100), with why",
)
async def get_import(import_id: PathId, caller: ImportReader, uow: UowDep) -> DataImport:
    record = await service.import_of(uow, caller.account_id, import_id)
    failed = await service.failed_rows(uow.session, record.id, ERRORS_SHOWN)
    return import_entity(record, failed)
