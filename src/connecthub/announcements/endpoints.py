"""Announcements API: Mastodon's `/api/v1/announcements` (list, dismiss, reactions), and
ConnectHub's admin extension `/api/v1/admin/announcements` (Mastodon writes announcements
in its web admin only). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.announcements import service
from connecthub.core.params import boolean, text
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params

router = APIRouter(tags=["announcements"], route_class=EntityRoute)

Reader = Annotated[Caller, Depends(require("read"))]
Dismisser = Annotated[Caller, Depends(require("write:accounts"))]
Reacter = Annotated[Caller, Depends(require("write:favourites"))]
AdminRead = Annotated[Caller, Depends(require("admin:read"))]
AdminWrite = Annotated[Caller, Depends(require("admin:write"))]
_WHO = " Admins only (the Manage Announcements permission; 403 for others)."


@router.get("/api/v1/announcements", summary="The server's published announcements")
async def announcements(
    caller: Reader, uow: UowDep, settings: SettingsDep, with_dismissed: str | None = None
) -> list[entities.Announcement]:
    flag = boolean({"with_dismissed": with_dismissed}, "with_dismissed", default=False)
    return await service.for_reader(
        uow.session, settings, caller.account_id, with_dismissed=bool(flag)
    )


@router.post(
    "/api/v1/announcements/{announcement_id:id}/dismiss", summary="Mark an announcement read"
)
async def dismiss(announcement_id: PathId, caller: Dismisser, uow: UowDep) -> entities.Empty:
    await service.dismiss(uow, caller.account_id, announcement_id)
    return {}


@router.put(
    "/api/v1/announcements/{announcement_id:id}/reactions/{name}",
    summary="React to an announcement with a unicode emoji or a custom emoji's shortcode",
)
async def add_reaction(
    announcement_id: PathId, name: str, caller: Reacter, uow: UowDep, settings: SettingsDep
) -> entities.Empty:
    await service.react(uow, settings, caller.account_id, announcement_id, name)
    return {}


@router.delete(
    "/api/v1/announcements/{announcement_id:id}/reactions/{name}",
    summary="Take back a reaction to an announcement",
)
async def remove_reaction(
    announcement_id: PathId, name: str, caller: Reacter, uow: UowDep
) -> entities.Empty:
    await service.unreact(uow, caller.account_id, announcement_id, name)
    return {}


def _draft(params: dict[str, Any]) -> service.Draft:
    return service.Draft(
        text=text(params, "text") if "text" in params else None,
        starts_at=service.parse_time("starts_at", params.get("starts_at")),
        ends_at=service.parse_time("ends_at", params.get("ends_at")),
        all_day=boolean(params, "all_day"),
        published=boolean(params, "published"),
        clear_starts_at="starts_at" in params and not params["starts_at"],
        clear_ends_at="ends_at" in params and not params["ends_at"],
    )


@router.get(
    "/api/v1/admin/announcements",
    summary="Every announcement, drafts included (ConnectHub extension)." + _WHO,
)
async def admin_list(
    caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> list[entities.Announcement]:
    return await service.every_announcement(uow.session, settings, caller.token.role)


@router.post(
    "/api/v1/admin/announcements",
    summary="Write an announcement: `text`, `starts_at`, `ends_at`, `all_day`, `published` "
    "(default true: shown at once) (ConnectHub extension)." + _WHO,
)
async def admin_create(
    request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.Announcement:
    service.require_manager(caller.token.role)
    draft = _draft(await read_params(request))
    return await service.create(uow, settings, caller.token.role, draft)


@router.put(
    "/api/v1/admin/announcements/{announcement_id:id}",
    summary="Change an announcement; `published` false takes it back (ConnectHub extension)."
    + _WHO,
)
async def admin_update(
    announcement_id: PathId,
    request: Request,
    caller: AdminWrite,
    uow: UowDep,
    settings: SettingsDep,
) -> entities.Announcement:
    service.require_manager(caller.token.role)
    draft = _draft(await read_params(request))
    return await service.update(uow, settings, caller.token.role, announcement_id, draft)


@router.delete(
    "/api/v1/admin/announcements/{announcement_id:id}",
    summary="Delete an announcement (ConnectHub extension)." + _WHO,
)
async def admin_delete(announcement_id: PathId, caller: AdminWrite, uow: UowDep) -> entities.Empty:
    await service.delete(uow, caller.token.role, announcement_id)
    return {}
