"""Filters API: Mastodon's `/api/v2/filters` (with keyword and status sub-resources) and
the v1 view `/api/v1/filters`. Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.core.params import boolean
from connecthub.filters import schemas, service
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, UowDep, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params

router = APIRouter(tags=["filters"], route_class=EntityRoute)

ReadFilters = Annotated[Caller, Depends(require("read:filters"))]
WriteFilters = Annotated[Caller, Depends(require("write:filters"))]


# Keyword and status rows first: `/filters/keywords/{id}` must not read as a filter id.


@router.get("/api/v2/filters/keywords/{keyword_id}", summary="One keyword of my filters")
async def get_keyword(keyword_id: str, caller: ReadFilters, uow: UowDep) -> entities.FilterKeyword:
    return await service.get_keyword(uow, caller.account_id, path_id(keyword_id))


@router.put("/api/v2/filters/keywords/{keyword_id}", summary="Change a filter keyword")
async def update_keyword(
    keyword_id: str, request: Request, caller: WriteFilters, uow: UowDep
) -> entities.FilterKeyword:
    params = await read_params(request)
    return await service.update_keyword(
        uow,
        caller.account_id,
        path_id(keyword_id),
        schemas.keyword_text(params, "keyword", required=False),
        boolean(params, "whole_word"),
    )


@router.delete("/api/v2/filters/keywords/{keyword_id}", summary="Remove a filter keyword")
async def delete_keyword(keyword_id: str, caller: WriteFilters, uow: UowDep) -> entities.Empty:
    await service.delete_keyword(uow, caller.account_id, path_id(keyword_id))
    return {}


@router.get("/api/v2/filters/statuses/{row_id}", summary="One status of my filters")
async def get_status(row_id: str, caller: ReadFilters, uow: UowDep) -> entities.FilterStatus:
    return await service.get_status(uow, caller.account_id, path_id(row_id))


@router.delete("/api/v2/filters/statuses/{row_id}", summary="Remove a status from a filter")
async def delete_status(row_id: str, caller: WriteFilters, uow: UowDep) -> entities.Empty:
    await service.delete_status(uow, caller.account_id, path_id(row_id))
    return {}


@router.get("/api/v2/filters", summary="My content filters")
async def list_filters(caller: ReadFilters, uow: UowDep) -> list[entities.Filter]:
    return await service.list_filters(uow, caller.account_id)


@router.post("/api/v2/filters", summary="Create a content filter")
async def create_filter(request: Request, caller: WriteFilters, uow: UowDep) -> entities.Filter:
    draft = schemas.filter_draft(await read_params(request))
    return await service.create(uow, caller.account_id, draft)


@router.get("/api/v2/filters/{filter_id}", summary="One of my content filters")
async def get_filter(filter_id: str, caller: ReadFilters, uow: UowDep) -> entities.Filter:
    return await service.get_filter(uow, caller.account_id, path_id(filter_id))


@router.put("/api/v2/filters/{filter_id}", summary="Change a content filter")
async def update_filter(
    filter_id: str, request: Request, caller: WriteFilters, uow: UowDep
) -> entities.Filter:
    draft = schemas.filter_draft(await read_params(request), updating=True)
    return await service.update(uow, caller.account_id, path_id(filter_id), draft)


@router.delete("/api/v2/filters/{filter_id}", summary="Delete a content filter")
async def delete_filter(filter_id: str, caller: WriteFilters, uow: UowDep) -> entities.Empty:
    await service.delete(uow, caller.account_id, path_id(filter_id))
    return {}


@router.get("/api/v2/filters/{filter_id}/keywords", summary="A filter's keywords")
async def list_keywords(
    filter_id: str, caller: ReadFilters, uow: UowDep
) -> list[entities.FilterKeyword]:
    return await service.list_keywords(uow, caller.account_id, path_id(filter_id))


@router.post("/api/v2/filters/{filter_id}/keywords", summary="Add a keyword to a filter")
async def add_keyword(
    filter_id: PathId, request: Request, caller: WriteFilters, uow: UowDep
) -> entities.FilterKeyword:
    params = await read_params(request)
    keyword = schemas.keyword_text(params, "keyword", required=True)
    assert keyword is not None
    return await service.add_keyword(
        uow, caller.account_id, filter_id, keyword, boolean(params, "whole_word")
    )


@router.get("/api/v2/filters/{filter_id}/statuses", summary="A filter's statuses")
async def list_statuses(
    filter_id: str, caller: ReadFilters, uow: UowDep
) -> list[entities.FilterStatus]:
    return await service.list_statuses(uow, caller.account_id, path_id(filter_id))


@router.post("/api/v2/filters/{filter_id}/statuses", summary="Add a status to a filter")
async def add_status(
    filter_id: PathId, request: Request, caller: WriteFilters, uow: UowDep
) -> entities.FilterStatus:
    params = await read_params(request)
    status_id = schemas.row_id(params.get("status_id"), "status_id")
    return await service.add_status(uow, caller.account_id, filter_id, status_id)


# v1: one filter per keyword


@router.get("/api/v1/filters", summary="My filters, one per keyword (v1)")
async def list_v1(caller: ReadFilters, uow: UowDep) -> list[entities.V1Filter]:
    return await service.list_v1(uow, caller.account_id)


@router.post("/api/v1/filters", summary="Create a one-keyword filter (v1)")
async def create_v1(request: Request, caller: WriteFilters, uow: UowDep) -> entities.V1Filter:
    draft, whole_word = schemas.v1_draft(await read_params(request))
    return await service.create_v1(uow, caller.account_id, draft, whole_word)


@router.get("/api/v1/filters/{keyword_id}", summary="One filter keyword (v1)")
async def get_v1(keyword_id: str, caller: ReadFilters, uow: UowDep) -> entities.V1Filter:
    return await service.get_v1(uow, caller.account_id, path_id(keyword_id))


@router.put("/api/v1/filters/{keyword_id}", summary="Change a filter keyword (v1)")
async def update_v1(
    keyword_id: str, request: Request, caller: WriteFilters, uow: UowDep
) -> entities.V1Filter:
    draft, whole_word = schemas.v1_draft(await read_params(request), updating=True)
    return await service.update_v1(uow, caller.account_id, path_id(keyword_id), draft, whole_word)


@router.delete("/api/v1/filters/{keyword_id}", summary="Delete a filter keyword (v1)")
async def delete_v1(keyword_id: str, caller: WriteFilters, uow: UowDep) -> entities.Empty:
    await service.delete_v1(uow, caller.account_id, path_id(keyword_id))
    return {}
