"""Custom emoji API: Mastodon's public `GET /api/v1/custom_emojis`, and ConnectHub's admin
extension `/api/v1/admin/custom_emojis` (Mastodon manages emojis in its web admin only).
Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.core.params import boolean, text
from connecthub.emojis import service
from connecthub.emojis.serializers import admin_emoji_entity, emoji_entity
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.inputs import check_fields
from connecthub.http.params import read_params
from connecthub.media.endpoints import incoming, read_form
from connecthub.media.service import Incoming

router = APIRouter(tags=["custom_emojis"], route_class=EntityRoute)

AdminRead = Annotated[Caller, Depends(require("admin:read"))]
AdminWrite = Annotated[Caller, Depends(require("admin:write"))]
_WHO = " Admins only (the Manage Custom Emojis permission; 403 for others)."


@router.get("/api/v1/custom_emojis", summary="The custom emojis shown in pickers")
async def custom_emojis(uow: UowDep, settings: SettingsDep) -> list[entities.CustomEmoji]:
    return [emoji_entity(settings, row) for row in await service.listed(uow.session)]


async def _form(request: Request) -> tuple[dict[str, Any], Incoming | None]:
    """The fields and the `image` file: multipart (with or without a file), or JSON / a
    plain form when no image is sent (PATCH)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return await read_params(request), None
    form = await read_form(request)
    pairs = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    check_fields(pairs)  # multipart text is not checked on the way in (uploads)
    return dict(pairs), incoming(form, "image")


@router.get(
    "/api/v1/admin/custom_emojis",
    summary="Every custom emoji (ConnectHub extension)." + _WHO,
)
async def admin_list(
    caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> list[entities.AdminCustomEmoji]:
    rows = await service.every_emoji(uow.session, caller.token.role)
    return [admin_emoji_entity(settings, row) for row in rows]


@router.post(
    "/api/v1/admin/custom_emojis",
    summary="Add a custom emoji: multipart `shortcode`, `image` (PNG, GIF or WebP, at most "
    "256 KiB), `category`, `visible_in_picker` (ConnectHub extension)." + _WHO,
)
async def admin_create(
    request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.AdminCustomEmoji:
    service.require_manager(caller.token.role)
    fields, image = await _form(request)
    if image is None:
        raise ValidationFailed("image", "is required (a multipart file)")
    emoji = await service.create(
        uow,
        settings,
        caller.account_id,
        caller.token.role,
        code=text(fields, "shortcode", required=True),
        image=image,
        category_name=text(fields, "category") or None,
        visible_in_picker=boolean(fields, "visible_in_picker", default=True) is not False,
    )
    return admin_emoji_entity(settings, emoji)


@router.get(
    "/api/v1/admin/custom_emojis/{emoji_id:id}",
    summary="One custom emoji (ConnectHub extension)." + _WHO,
)
async def admin_show(
    emoji_id: PathId, caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> entities.AdminCustomEmoji:
    emoji = await service.access_emoji(uow.session, caller.token.role, emoji_id)
    return admin_emoji_entity(settings, emoji)


@router.patch(
    "/api/v1/admin/custom_emojis/{emoji_id:id}",
    summary="Change a custom emoji's `image`, `category` or `visible_in_picker` "
    "(ConnectHub extension)." + _WHO,
)
async def admin_update(
    emoji_id: PathId, request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.AdminCustomEmoji:
    service.require_manager(caller.token.role)
    fields, image = await _form(request)
    category = text(fields, "category") if "category" in fields else None
    emoji = await service.update(
        uow,
        settings,
        caller.account_id,
        caller.token.role,
        emoji_id,
        image=image,
        category_name=category,
        visible_in_picker=boolean(fields, "visible_in_picker"),
    )
    return admin_emoji_entity(settings, emoji)


@router.delete(
    "/api/v1/admin/custom_emojis/{emoji_id:id}",
    summary="Delete a custom emoji; texts keep its shortcode as text (ConnectHub extension)."
    + _WHO,
)
async def admin_delete(emoji_id: PathId, caller: AdminWrite, uow: UowDep) -> entities.Empty:
    await service.delete(uow, caller.account_id, caller.token.role, emoji_id)
    return {}
