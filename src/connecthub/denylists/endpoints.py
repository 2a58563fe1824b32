"""Mastodon's admin denylist routes: /api/v1/admin/ip_blocks, /email_domain_blocks and
/canonical_email_blocks. Admins (Manage Blocks); scopes admin:read / admin:write or their
per-list sub-scopes. Lists are newest first, `limit` 100 by default (200 at most), paged
with `max_id` / `since_id` / `min_id` and the `Link` header, as Mastodon's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.core.pagination import Page
from connecthub.core.params import text
from connecthub.denylists import service
from connecthub.denylists.models import CanonicalEmailBlock, EmailDomainBlock, IpBlock
from connecthub.denylists.serializers import (
    canonical_email_block_entity,
    email_domain_block_entity,
    ip_block_entity,
)
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import link_header, page_params_within
from connecthub.http.params import read_params
from connecthub.ids import parse_id

router = APIRouter(tags=["admin"], route_class=EntityRoute)

BlocksPage = Annotated[Page, Depends(page_params_within(100, 200))]
IpRead = Annotated[Caller, Depends(require("admin:read:ip_blocks"))]
IpWrite = Annotated[Caller, Depends(require("admin:write:ip_blocks"))]
DomainRead = Annotated[Caller, Depends(require("admin:read:email_domain_blocks"))]
DomainWrite = Annotated[Caller, Depends(require("admin:write:email_domain_blocks"))]
CanonicalRead = Annotated[Caller, Depends(require("admin:read:canonical_email_blocks"))]
CanonicalWrite = Annotated[Caller, Depends(require("admin:write:canonical_email_blocks"))]

_WHO = " Admins only (the Manage Blocks permission; 403 otherwise, audited)."
_AUDITED = " Written to the audit log with its before and after."
_PAGED = (
    " Newest first; `limit` (default 100, at most 200), `max_id`, `since_id`, `min_id`, "
    "and the `Link` header."
)


def _manager(caller: Caller, action: str, target: str) -> int:
    service.require_manager(caller.account_id, caller.token.role, action, target)
    return caller.account_id


def _link(request: Request, response: Response, rows: list[Any]) -> None:
    if rows and (link := link_header(request, rows[0].id, rows[-1].id)):
        response.headers["Link"] = link


def _expires_in(params: dict[str, Any]) -> tuple[int | None, bool]:
    """(seconds, whether given): an empty value clears the expiry."""
    if "expires_in" not in params:
        return None, False
    raw = params["expires_in"]
    if raw is None or raw == "":
        return None, True
    seconds = parse_id(str(raw)) if not isinstance(raw, bool) else None
    if seconds is None:
        raise ValidationFailed("expires_in", "must be a positive number of seconds")
    return seconds, True


def _comment(params: dict[str, Any]) -> str | None:
    if "comment" not in params:
        return None
    comment = text(params, "comment")
    if len(comment) > service.MAX_COMMENT:
        raise ValidationFailed("comment", f"is too long (maximum is {service.MAX_COMMENT})")
    return comment


# --- IP blocks ------------------------------------------------------------------------------


@router.get(
    "/api/v1/admin/ip_blocks",
    summary="List IP blocks (admins)",
    description="Needs `admin:read:ip_blocks`." + _PAGED + _WHO,
)
async def list_ip_blocks(
    request: Request, response: Response, caller: IpRead, uow: UowDep, page: BlocksPage
) -> list[entities.AdminIpBlock]:
    _manager(caller, "list_ip_blocks", "IpBlock")
    rows = await service.page_of(uow.session, IpBlock, page)
    _link(request, response, rows)
    return [ip_block_entity(row) for row in rows]


@router.get(
    "/api/v1/admin/ip_blocks/{block_id:id}",
    summary="One IP block (admins)",
    description="Needs `admin:read:ip_blocks`." + _WHO,
)
async def show_ip_block(block_id: PathId, caller: IpRead, uow: UowDep) -> entities.AdminIpBlock:
    _manager(caller, "show_ip_block", "IpBlock")
    return ip_block_entity(await service.show(uow.session, IpBlock, block_id))


@router.post(
    "/api/v1/admin/ip_blocks",
    summary="Block an IP address or range (admins)",
    description=(
        "`ip` (an address or a CIDR range, IPv4 or IPv6; required), `severity` (required: "
        "`sign_up_requires_approval`, `sign_up_block` or `no_access`, which also refuses "
        "sign-in), `comment`, `expires_in` (seconds). 422 when the range is blocked "
        "already. Needs `admin:write:ip_blocks`." + _WHO + _AUDITED
    ),
)
async def create_ip_block(request: Request, caller: IpWrite, uow: UowDep) -> entities.AdminIpBlock:
    actor = _manager(caller, "create_ip_block", "IpBlock")
    params = await read_params(request)
    ip = text(params, "ip")
    if not ip.strip():
        raise ValidationFailed("ip", "is required")
    severity = service.severity_of(text(params, "severity"), required=True)
    assert severity is not None
    block = await service.create_ip_block(
        uow,
        actor,
        ip=ip,
        severity=severity,
        comment=_comment(params) or "",
        expires_in=_expires_in(params)[0],
    )
    return ip_block_entity(block)


@router.put(
    "/api/v1/admin/ip_blocks/{block_id:id}",
    summary="Change an IP block (admins)",
    description=(
        "Any of `ip`, `severity`, `comment`, `expires_in` (empty: never expires). Needs "
        "`admin:write:ip_blocks`." + _WHO + _AUDITED
    ),
)
async def update_ip_block(
    request: Request, block_id: PathId, caller: IpWrite, uow: UowDep
) -> entities.AdminIpBlock:
    actor = _manager(caller, "update_ip_block", "IpBlock")
    params = await read_params(request)
    seconds, expires_given = _expires_in(params)
    block = await service.update_ip_block(
        uow,
        actor,
        block_id,
        ip=text(params, "ip") or None,
        severity=service.severity_of(text(params, "severity"), required=False),
        comment=_comment(params),
        expires_in=seconds,
        expires_given=expires_given,
    )
    return ip_block_entity(block)


@router.delete(
    "/api/v1/admin/ip_blocks/{block_id:id}",
    summary="Lift an IP block (admins)",
    description="Answers `{}`. Needs `admin:write:ip_blocks`." + _WHO + _AUDITED,
)
async def delete_ip_block(block_id: PathId, caller: IpWrite, uow: UowDep) -> entities.Empty:
    actor = _manager(caller, "delete_ip_block", "IpBlock")
    await service.delete_block(uow, actor, IpBlock, block_id)
    return {}


# --- e-mail domain blocks -------------------------------------------------------------------


@router.get(
    "/api/v1/admin/email_domain_blocks",
    summary="List blocked e-mail domains (admins)",
    description="Needs `admin:read:email_domain_blocks`." + _PAGED + _WHO,
)
async def list_email_domain_blocks(
    request: Request, response: Response, caller: DomainRead, uow: UowDep, page: BlocksPage
) -> list[entities.AdminEmailDomainBlock]:
    _manager(caller, "list_email_domain_blocks", "EmailDomainBlock")
    rows = await service.page_of(uow.session, EmailDomainBlock, page)
    _link(request, response, rows)
    return [email_domain_block_entity(row) for row in rows]


@router.get(
    "/api/v1/admin/email_domain_blocks/{block_id:id}",
    summary="One blocked e-mail domain (admins)",
    description="Needs `admin:read:email_domain_blocks`." + _WHO,
)
async def show_email_domain_block(
    block_id: PathId, caller: DomainRead, uow: UowDep
) -> entities.AdminEmailDomainBlock:
    _manager(caller, "show_email_domain_block", "EmailDomainBlock")
    return email_domain_block_entity(await service.show(uow.session, EmailDomainBlock, block_id))


@router.post(
    "/api/v1/admin/email_domain_blocks",
    summary="Block an e-mail domain at sign-up (admins)",
    description=(
        "`domain` (required; its subdomains are blocked too). Sign-ups with an address "
        "there are refused (422 naming `email`); with EMAIL_DOMAIN_MX_CHECK, so are "
        "addresses whose domain's mail exchangers are blocked. 422 when blocked already. "
        "Needs `admin:write:email_domain_blocks`." + _WHO + _AUDITED
    ),
)
async def create_email_domain_block(
    request: Request, caller: DomainWrite, uow: UowDep
) -> entities.AdminEmailDomainBlock:
    actor = _manager(caller, "create_email_domain_block", "EmailDomainBlock")
    params = await read_params(request)
    block = await service.create_email_domain_block(uow, actor, text(params, "domain"))
    return email_domain_block_entity(block)


@router.delete(
    "/api/v1/admin/email_domain_blocks/{block_id:id}",
    summary="Lift an e-mail domain block (admins)",
    description="Answers `{}`. Needs `admin:write:email_domain_blocks`." + _WHO + _AUDITED,
)
async def delete_email_domain_block(
    block_id: PathId, caller: DomainWrite, uow: UowDep
) -> entities.Empty:
    actor = _manager(caller, "delete_email_domain_block", "EmailDomainBlock")
    await service.delete_block(uow, actor, EmailDomainBlock, block_id)
    return {}


# --- canonical e-mail blocks ----------------------------------------------------------------


@router.get(
    "/api/v1/admin/canonical_email_blocks",
    summary="List canonical e-mail blocks (admins)",
    description="Needs `admin:read:canonical_email_blocks`." + _PAGED + _WHO,
)
async def list_canonical_email_blocks(
    request: Request, response: Response, caller: CanonicalRead, uow: UowDep, page: BlocksPage
) -> list[entities.AdminCanonicalEmailBlock]:
    _manager(caller, "list_canonical_email_blocks", "CanonicalEmailBlock")
    rows = await service.page_of(uow.session, CanonicalEmailBlock, page)
    _link(request, response, rows)
    return [canonical_email_block_entity(row) for row in rows]


@router.get(
    "/api/v1/admin/canonical_email_blocks/{block_id:id}",
    summary="One canonical e-mail block (admins)",
    description="Needs `admin:read:canonical_email_blocks`." + _WHO,
)
async def show_canonical_email_block(
    block_id: PathId, caller: CanonicalRead, uow: UowDep
) -> entities.AdminCanonicalEmailBlock:
    _manager(caller, "show_canonical_email_block", "CanonicalEmailBlock")
    block = await service.show(uow.session, CanonicalEmailBlock, block_id)
    return canonical_email_block_entity(block)


@router.post(
    "/api/v1/admin/canonical_email_blocks/test",
    summary="Which canonical e-mail blocks match an address (admins)",
    description=(
        "`email` (required): the blocks whose hash is the address' canonical form's "
        "(lowercased; dots and anything from `+` removed from the local part), as a list. "
        "Needs `admin:read:canonical_email_blocks`." + _WHO
    ),
)
async def test_canonical_email_blocks(
    request: Request, caller: CanonicalRead, uow: UowDep
) -> list[entities.AdminCanonicalEmailBlock]:
    _manager(caller, "test_canonical_email_blocks", "CanonicalEmailBlock")
    params = await read_params(request)
    found = await service.canonical_blocks_matching(uow.session, text(params, "email"))
    return [canonical_email_block_entity(block) for block in found]


@router.post(
    "/api/v1/admin/canonical_email_blocks",
    summary="Block an e-mail address in its canonical form (admins)",
    description=(
        "`email` (its canonical form is hashed; the address is not kept) or "
        "`canonical_email_hash` (a SHA-256 hex digest). Sign-ups with a matching address "
        "are refused (422 naming `email`). Needs `admin:write:canonical_email_blocks`."
        + _WHO
        + _AUDITED
    ),
)
async def create_canonical_email_block(
    request: Request, caller: CanonicalWrite, uow: UowDep
) -> entities.AdminCanonicalEmailBlock:
    actor = _manager(caller, "create_canonical_email_block", "CanonicalEmailBlock")
    params = await read_params(request)
    block = await service.create_canonical_email_block(
        uow,
        actor,
        email=text(params, "email") or None,
        digest=text(params, "canonical_email_hash") or None,
    )
    return canonical_email_block_entity(block)


@router.delete(
    "/api/v1/admin/canonical_email_blocks/{block_id:id}",
    summary="Lift a canonical e-mail block (admins)",
    description="Answers `{}`. Needs `admin:write:canonical_email_blocks`." + _WHO + _AUDITED,
)
async def delete_canonical_email_block(
    block_id: PathId, caller: CanonicalWrite, uow: UowDep
) -> entities.Empty:
    actor = _manager(caller, "delete_canonical_email_block", "CanonicalEmailBlock")
    await service.delete_block(uow, actor, CanonicalEmailBlock, block_id)
    return {}
