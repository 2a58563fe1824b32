"""Media API (Mastodon shapes) and the route that serves stored files in embedded mode.
Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from connecthub import entities
from connecthub.core.params import text
from connecthub.errors import NotFound, ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import EnginesDep, SettingsDep, UowDep, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.inputs import check_fields
from connecthub.http.params import read_params
from connecthub.media import service, serving
from connecthub.media.models import MediaState
from connecthub.media.serializers import media_entity
from connecthub.media.sniffing import SNIFF_BYTES

router = APIRouter(tags=["media"], route_class=EntityRoute)

WriteMedia = Annotated[Caller, Depends(require("write:media"))]


async def read_form(request: Request) -> FormData:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ValidationFailed("file", "must be sent as multipart/form-data")
    return await request.form()


def incoming(form: FormData, field: str) -> service.Incoming | None:
    """An uploaded file of the form as the service takes it (None: the field is absent)."""
    value = form.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, UploadFile):
        raise ValidationFailed(field, "must be a file")
    upload = value

    async def read() -> bytes:
        await upload.seek(0)
        return await upload.read()

    head = upload.file.read(SNIFF_BYTES)
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(0)
    return service.Incoming(field=field, size=size, head=head, read=read)


def _fields(form: FormData) -> dict[str, Any]:
    fields = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    check_fields(fields)  # multipart text is not checked on the way in (uploads)
    return dict(fields)


async def _upload(request: Request, caller: Caller, uow: UowDep, settings: SettingsDep) -> Any:
    form = await read_form(request)
    file = incoming(form, "file")
    if file is None:
        raise ValidationFailed("file", "is required")
    params = _fields(form)
    return await service.upload(
        uow,
        settings,
        account_id=caller.account_id,
        file=file,
        thumbnail=incoming(form, "thumbnail"),
        description_text=text(params, "description"),
        focus_text=text(params, "focus") or None,
    )


@router.post(
    "/api/v2/media",
    summary="Upload media: 200 when processed, 202 while a video is still processing",
    responses={202: {"description": "Accepted; poll GET /api/v1/media/:id"}},
    response_model=entities.MediaAttachment,
)
async def upload_v2(
    request: Request, caller: WriteMedia, uow: UowDep, settings: SettingsDep
) -> JSONResponse:
    row = await _upload(request, caller, uow, settings)
    status = 202 if row.state == MediaState.PROCESSING else 200
    return JSONResponse(media_entity(settings, row), status_code=status)


@router.post("/api/v1/media", summary="Upload media (deprecated v1: always 200)")
async def upload_v1(
    request: Request, caller: WriteMedia, uow: UowDep, settings: SettingsDep
) -> entities.MediaAttachment:
    return media_entity(settings, await _upload(request, caller, uow, settings))


@router.get(
    "/api/v1/media/{media_id}",
    summary="One's own upload: 206 while processing, 200 when ready",
    responses={206: {"description": "Still processing"}},
    response_model=entities.MediaAttachment,
)
async def get_media(
    media_id: str, caller: WriteMedia, uow: UowDep, settings: SettingsDep
) -> JSONResponse:
    row = await service.access_media(uow, caller.account_id, path_id(media_id))
    if row.state == MediaState.FAILED:
        raise ValidationFailed("file", "could not be processed")
    status = 206 if row.state == MediaState.PROCESSING else 200
    return JSONResponse(media_entity(settings, row), status_code=status)


@router.put("/api/v1/media/{media_id}", summary="Change description, focus or thumbnail")
async def update_media(
    media_id: str, request: Request, caller: WriteMedia, uow: UowDep, settings: SettingsDep
) -> entities.MediaAttachment:
    row = await service.access_media(uow, caller.account_id, path_id(media_id))
    if row.status_id is not None:  # attached media change through the status
        raise NotFound()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        params: dict[str, Any] = _fields(form)
        thumbnail = incoming(form, "thumbnail")
    else:
        params, thumbnail = await read_params(request), None
    row = await service.update(
        uow,
        settings,
        row,
        description_text=text(params, "description") if "description" in params else None,
        focus_text=text(params, "focus") or None,
        thumbnail=thumbnail,
    )
    return media_entity(settings, row)


@router.delete("/api/v1/media/{media_id}", summary="Delete an upload no status holds")
async def delete_media(media_id: str, caller: WriteMedia, uow: UowDep) -> entities.Empty:
    await service.delete_upload(uow, caller.account_id, path_id(media_id))
    return {}


@router.api_route("/system/media/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def serve_media(key: str, request: Request, engines: EnginesDep) -> Response:
    located = serving.locate(key)
    size = await engines.storage.size(key) if located is not None else None
    if located is None or size is None:
        return Response(status_code=404, headers=serving.safe_headers())
    headers = serving.file_headers(located)
    if serving.etag_matches(request.headers.get("if-none-match"), located.etag):
        return Response(status_code=304, headers=headers)
    try:
        wanted = serving.parse_range(request.headers.get("range"), size)
    except serving.RangeNotSatisfiable:
        return Response(
            status_code=416, headers={**serving.safe_headers(), "Content-Range": f"bytes */{size}"}
        )
    start, end = wanted if wanted is not None else (0, size - 1)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1 if size else 0)
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(
        serving.body(engines.storage, key, start, end),
        status_code=status,
        headers=headers,
        media_type=located.content_type,
    )
