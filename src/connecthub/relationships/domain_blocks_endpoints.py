"""An account's domain blocks (Mastodon API): the list, paginated like Mastodon's (100 a
page, at most 200), and blocking or unblocking one domain (`domain`, as a form, JSON or
query parameter)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.core.pagination import Page
from connecthub.core.params import text
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import link_header, page_params_within
from connecthub.http.params import read_params
from connecthub.relationships import domain_blocks

router = APIRouter(tags=["accounts"], route_class=EntityRoute)

ReadBlocks = Annotated[Caller, Depends(require("read:blocks"))]
WriteBlocks = Annotated[Caller, Depends(require("write:blocks"))]
DomainBlockPage = Annotated[Page, Depends(page_params_within(100, 200))]


@router.get("/api/v1/domain_blocks", summary="Domains I block")
async def list_domain_blocks(
    request: Request, response: Response, page: DomainBlockPage, caller: ReadBlocks, uow: UowDep
) -> list[str]:
    blocks = await domain_blocks.domain_blocks_page(uow, caller.account_id, page)
    if blocks:
        link = link_header(request, blocks[0].id, blocks[-1].id)
        if link:
            response.headers["Link"] = link
    return [block.domain for block in blocks]


@router.post("/api/v1/domain_blocks", summary="Block a domain")
async def block_domain(request: Request, caller: WriteBlocks, uow: UowDep) -> entities.Empty:
    params = await read_params(request)
    await domain_blocks.block_domain(uow, caller.account_id, text(params, "domain"))
    return {}


@router.delete("/api/v1/domain_blocks", summary="Unblock a domain")
async def unblock_domain(request: Request, caller: WriteBlocks, uow: UowDep) -> entities.Empty:
    params = await read_params(request)
    await domain_blocks.unblock_domain(uow, caller.account_id, text(params, "domain"))
    return {}
