"""Mastodon's `POST /api/v1/reports` and admin report API (`/api/v1/admin/reports`), with
ConnectHub's extensions in the same style: report notes and actions on a reported status
(docs/reports.md). Handlers parse, call the reports service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.accounts.serializers import account_entity, admin_account_entity
from connecthub.admin.schemas import Moderator
from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.core.params import boolean, text
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep, param_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import link_header, page_params_within
from connecthub.http.params import read_params
from connecthub.reports import service
from connecthub.reports.deps import READ, WRITE, moderator
from connecthub.reports.schemas import ReportChange, ReportDraft, ReportFilter
from connecthub.reports.serializers import admin_report_entity, note_entity, report_entity
from connecthub.statuses.schemas import string_list

router = APIRouter(tags=["reports"], route_class=EntityRoute)

Reporter = Annotated[Caller, Depends(require("write:reports"))]
# Mastodon's admin report list: 100 a page by default, at most 200.
ReportPageDep = Annotated[Page, Depends(page_params_within(100, 200))]


ListCaller = Annotated[Moderator, Depends(moderator(READ, "list"))]
ShowCaller = Annotated[Moderator, Depends(moderator(READ, "show"))]
UpdateCaller = Annotated[Moderator, Depends(moderator(WRITE, "update"))]
AssignCaller = Annotated[Moderator, Depends(moderator(WRITE, "assign_to_self"))]
UnassignCaller = Annotated[Moderator, Depends(moderator(WRITE, "unassign"))]
ResolveCaller = Annotated[Moderator, Depends(moderator(WRITE, "resolve"))]
ReopenCaller = Annotated[Moderator, Depends(moderator(WRITE, "reopen"))]
NotesCaller = Annotated[Moderator, Depends(moderator(READ, "notes"))]
NoteCaller = Annotated[Moderator, Depends(moderator(WRITE, "add_note"))]
DeleteNoteCaller = Annotated[Moderator, Depends(moderator(WRITE, "delete_note"))]
StatusDeleteCaller = Annotated[Moderator, Depends(moderator(WRITE, "status_delete"))]
StatusSensitiveCaller = Annotated[Moderator, Depends(moderator(WRITE, "status_sensitive"))]

_WHO = (
    " Moderators and admins (the Manage Reports permission); anyone else gets 403, and so "
    "does a token without the scope."
)


def _ids(params: dict[str, Any], field: str) -> list[int]:
    return [param_id(field, value) for value in string_list(params, field)]


def _admin_entity(settings: Settings, view: service.ReportView) -> entities.AdminReport:
    accounts = {
        account_id: admin_account_entity(settings, found.account, found.user, found.ips)
        for account_id, found in view.accounts.items()
    }
    return admin_report_entity(settings, view.report, view.evidence, accounts)


@router.post(
    "/api/v1/reports",
    summary="Report an account, and optionally some of its statuses",
    description=(
        "`account_id` (required), `status_ids[]` (statuses of that account the caller may "
        "read; any other answers 404), `comment` (at most 1000 characters), `forward` "
        "(accepted; nothing is forwarded without federation), `category` (spam, legal, "
        "violation, other; `violation` when `rule_ids[]` are given, else `other`), "
        "`rule_ids[]` (ids of `/api/v1/instance/rules`; a violation names at least one). "
        "Needs `write:reports`."
    ),
)
async def file_report(
    request: Request, caller: Reporter, uow: UowDep, settings: SettingsDep
) -> entities.Report:
    params = await read_params(request)
    draft = ReportDraft(
        account_id=param_id("account_id", text(params, "account_id", required=True)),
        status_ids=_ids(params, "status_ids"),
        comment=text(params, "comment"),
        forward=bool(boolean(params, "forward", default=False)),
        category=text(params, "category") or None,
        rule_ids=_ids(params, "rule_ids") or None,
    )
    report, target, role = await service.file_report(uow, caller.account_id, draft)
    return report_entity(settings, report, target, role)


@router.get(
    "/api/v1/admin/reports",
    summary="The moderation queue (Admin::Report), newest first",
    description=(
        "Unresolved reports unless `resolved=true`; `account_id` (the reporter) and "
        "`target_account_id` filter. Paginated with `max_id`, `since_id`, `min_id`, `limit` "
        "(100 by default, at most 200) and the `Link` header. Needs `admin:read:reports`." + _WHO
    ),
)
async def list_reports(
    request: Request,
    response: Response,
    caller: ListCaller,
    uow: UowDep,
    settings: SettingsDep,
    page: ReportPageDep,
) -> list[entities.AdminReport]:
    params = await read_params(request)
    account_id, target_id = text(params, "account_id"), text(params, "target_account_id")
    filters = ReportFilter(
        resolved=bool(boolean(params, "resolved", default=False)),
        account_id=param_id("account_id", account_id) if account_id else None,
        target_account_id=param_id("target_account_id", target_id) if target_id else None,
    )
    found = await service.list_reports(uow, caller, filters, page)
    if found:
        link = link_header(request, found[0].report.id, found[-1].report.id)
        if link:
            response.headers["Link"] = link
    return [_admin_entity(settings, view) for view in found]


@router.get(
    "/api/v1/admin/reports/{report_id:id}",
    summary="One report (Admin::Report)",
    description="Needs `admin:read:reports`." + _WHO,
)
async def show_report(
    report_id: PathId, caller: ShowCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminReport:
    return _admin_entity(settings, await service.show(uow, caller, report_id))


@router.put(
    "/api/v1/admin/reports/{report_id:id}",
    summary="Change a report's category and rules",
    description=(
        "`category` (spam, legal, violation, other) and `rule_ids[]`: a violation names at "
        "least one rule of `/api/v1/instance/rules`; other categories keep none. Needs "
        "`admin:write:reports`." + _WHO
    ),
)
async def update_report(
    request: Request, report_id: PathId, caller: UpdateCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminReport:
    params = await read_params(request)
    has_rules = "rule_ids" in params or "rule_ids[]" in params
    change = ReportChange(
        category=text(params, "category") or None,
        rule_ids=_ids(params, "rule_ids") if has_rules else None,
    )
    return _admin_entity(settings, await service.update(uow, caller, report_id, change))


@router.post(
    "/api/v1/admin/reports/{report_id:id}/assign_to_self",
    summary="Assign a report to oneself",
    description="Needs `admin:write:reports`." + _WHO,
)
async def assign_to_self(
    report_id: PathId, caller: AssignCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminReport:
    return _admin_entity(settings, await service.assign_to_self(uow, caller, report_id))


@router.post(
    "/api/v1/admin/reports/{report_id:id}/unassign",
    summary="Unassign a report",
    description="Needs `admin:write:reports`." + _WHO,
)
async def unassign(
    report_id: PathId, caller: UnassignCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminReport:
    return _admin_entity(settings, await service.unassign(uow, caller, report_id))


@router.post(
    "/api/v1/admin/reports/{report_id:id}/resolve",
    summary="Resolve a report",
    description=(
        "The reporter gets a `report_resolved` notification (asked for with `types[]`); "
        "the held evidence media may be purged. Needs `admin:write:reports`." + _WHO
    ),
)
async def resolve(
    report_id: PathId, caller: ResolveCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminReport:
    return _admin_entity(settings, await service.resolve(uow, caller, report_id))


@router.post(
    "/api/v1/admin/reports/{report_id:id}/reopen",
    summary="Reopen a resolved report",
    description="Needs `admin:write:reports`." + _WHO,
)
async def reopen(
    report_id: PathId, caller: ReopenCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminReport:
    return _admin_entity(settings, await service.reopen(uow, caller, report_id))


@router.get(
    "/api/v1/admin/reports/{report_id:id}/notes",
    summary="A report's notes, oldest first (ConnectHub extension)",
    description="Needs `admin:read:reports`." + _WHO,
)
async def list_notes(
    report_id: PathId, caller: NotesCaller, uow: UowDep, settings: SettingsDep
) -> list[entities.ReportNote]:
    found = await service.notes(uow, caller, report_id)
    return [_note(settings, note, author) for note, author in found]


def _note(settings: Settings, note: Any, author: Any) -> entities.ReportNote:
    return note_entity(settings, note, account_entity(settings, author) if author else None)


@router.post(
    "/api/v1/admin/reports/{report_id:id}/notes",
    summary="Add a note to a report (ConnectHub extension)",
    description="`content` (1 to 500 characters). Needs `admin:write:reports`." + _WHO,
)
async def add_note(
    request: Request, report_id: PathId, caller: NoteCaller, uow: UowDep, settings: SettingsDep
) -> entities.ReportNote:
    content = text(await read_params(request), "content", required=True)
    note, author = await service.add_note(uow, caller, report_id, content)
    return _note(settings, note, author)


@router.delete(
    "/api/v1/admin/reports/{report_id:id}/notes/{note_id:id}",
    summary="Delete a report note (ConnectHub extension)",
    description=(
        "One's own note; an admin may delete anyone's. Answers `{}`. Needs "
        "`admin:write:reports`." + _WHO
    ),
)
async def delete_note(
    report_id: PathId, note_id: PathId, caller: DeleteNoteCaller, uow: UowDep
) -> entities.Empty:
    await service.delete_note(uow, caller, report_id, note_id)
    return {}


@router.post(
    "/api/v1/admin/reports/{report_id:id}/statuses/{status_id:id}/delete",
    summary="Delete a reported status (ConnectHub extension)",
    description=(
        "Only a status the report names; the report keeps its evidence. Answers the "
        "Admin::Report. Needs `admin:write:reports`." + _WHO
    ),
)
async def delete_status(
    report_id: PathId,
    status_id: PathId,
    caller: StatusDeleteCaller,
    uow: UowDep,
    settings: SettingsDep,
) -> entities.AdminReport:
    action = service.StatusAction.DELETE
    view = await service.act_on_status(uow, caller, report_id, status_id, action)
    return _admin_entity(settings, view)


@router.post(
    "/api/v1/admin/reports/{report_id:id}/statuses/{status_id:id}/sensitive",
    summary="Mark a reported status sensitive (ConnectHub extension)",
    description=(
        "Only a status the report names. Answers the Admin::Report. Needs "
        "`admin:write:reports`." + _WHO
    ),
)
async def mark_status_sensitive(
    report_id: PathId,
    status_id: PathId,
    caller: StatusSensitiveCaller,
    uow: UowDep,
    settings: SettingsDep,
) -> entities.AdminReport:
    action = service.StatusAction.SENSITIVE
    view = await service.act_on_status(uow, caller, report_id, status_id, action)
    return _admin_entity(settings, view)
