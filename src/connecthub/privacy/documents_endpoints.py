"""The privacy policy and the terms of service: Mastodon's instance routes (4.0 and 4.4)
and ConnectHub's admin extension `/api/v1/admin/legal_documents` (Mastodon edits them in
its web admin only). Handlers parse, call documents.py, serialize."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.accounts.roles import Permission, has_permission
from connecthub.core.params import iso_date
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params
from connecthub.privacy import documents

router = APIRouter(tags=["instance"], route_class=EntityRoute)
admin_router = APIRouter(tags=["admin"], route_class=EntityRoute)

AdminRead = Annotated[Caller, Depends(require("admin:read"))]
AdminWrite = Annotated[Caller, Depends(require("admin:write"))]
_WHO = " Admins only (the Manage Settings permission; 403 for others). ConnectHub extension."


def _manager(caller: Caller) -> None:
    if not has_permission(caller.token.role, Permission.MANAGE_SETTINGS):
        raise Forbidden("This action is not allowed")


@router.get(
    "/api/v1/instance/privacy_policy",
    summary="The privacy policy in effect (404 until an admin publishes one)",
)
async def privacy_policy(uow: UowDep, settings: SettingsDep) -> entities.PrivacyPolicy:
    row, _versions = await documents.shown(uow.session, documents.PRIVACY_POLICY)
    return documents.privacy_policy_entity(settings, row)


@router.get(
    "/api/v1/instance/terms_of_service",
    summary="The terms of service in effect (the newest published before any takes effect)",
)
async def terms_of_service(uow: UowDep, settings: SettingsDep) -> entities.TermsOfService:
    row, versions = await documents.shown(uow.session, documents.TERMS_OF_SERVICE)
    return documents.terms_entity(settings, row, versions)


@router.get(
    "/api/v1/instance/terms_of_service/{effective_date}",
    summary="The published terms of service that took (or take) effect on a date, YYYY-MM-DD",
)
async def terms_of_service_on(
    effective_date: str, uow: UowDep, settings: SettingsDep
) -> entities.TermsOfService:
    try:
        on = date.fromisoformat(effective_date)
    except ValueError:
        raise NotFound() from None
    row, versions = await documents.terms_on(uow.session, on)
    return documents.terms_entity(settings, row, versions)


def _draft(params: dict[str, Any]) -> documents.Draft:
    def optional_text(field: str) -> str | None:
        value = params.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationFailed(field, "must be a string")
        return value

    return documents.Draft(
        text=optional_text("text"),
        effective_date=iso_date(params, "effective_date"),
        changelog=optional_text("changelog"),
    )


@admin_router.get(
    "/api/v1/admin/legal_documents",
    summary="Every version of the privacy policy and terms of service, drafts included; "
    "`kind` narrows to one." + _WHO,
)
async def admin_list(
    caller: AdminRead, uow: UowDep, settings: SettingsDep, kind: str | None = None
) -> list[entities.LegalDocument]:
    _manager(caller)
    rows = await documents.every_document(uow.session, kind)
    return [documents.document_entity(settings, row) for row in rows]


@admin_router.post(
    "/api/v1/admin/legal_documents",
    summary="Write a draft: `kind` (privacy_policy or terms_of_service), `text` (Markdown; "
    "%{domain} names the server), `effective_date` (YYYY-MM-DD), `changelog`." + _WHO,
)
async def admin_create(
    request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.LegalDocument:
    _manager(caller)
    params = await read_params(request)
    kind = params.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ValidationFailed("kind", "is required")
    row = await documents.create(uow, kind, _draft(params))
    return documents.document_entity(settings, row)


@admin_router.get("/api/v1/admin/legal_documents/{document_id:id}", summary="One version." + _WHO)
async def admin_show(
    document_id: PathId, caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> entities.LegalDocument:
    _manager(caller)
    row = await documents.access_document(uow.session, document_id)
    return documents.document_entity(settings, row)


@admin_router.put(
    "/api/v1/admin/legal_documents/{document_id:id}",
    summary="Change a draft (a published version answers 422)." + _WHO,
)
async def admin_update(
    document_id: PathId, request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.LegalDocument:
    _manager(caller)
    row = await documents.update(uow, document_id, _draft(await read_params(request)))
    return documents.document_entity(settings, row)


@admin_router.post(
    "/api/v1/admin/legal_documents/{document_id:id}/publish",
    summary="Publish a draft. Terms effective today or earlier apply at once: everyone is "
    "asked to accept them again (GET /api/v1/connecthub/terms_acceptance)." + _WHO,
)
async def admin_publish(
    document_id: PathId, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.LegalDocument:
    _manager(caller)
    row = await documents.publish(uow, document_id, caller.account_id)
    return documents.document_entity(settings, row)


@admin_router.delete(
    "/api/v1/admin/legal_documents/{document_id:id}",
    summary="Delete a draft (a published version answers 422)." + _WHO,
)
async def admin_delete(document_id: PathId, caller: AdminWrite, uow: UowDep) -> entities.Empty:
    _manager(caller)
    await documents.delete(uow, document_id)
    return {}
