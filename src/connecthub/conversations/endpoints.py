"""Conversations API (Mastodon's `/api/v1/conversations`): direct-message threads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.conversations import service
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header

router = APIRouter(tags=["conversations"], route_class=EntityRoute)

ReadConversations = Annotated[Caller, Depends(require("read:statuses"))]
WriteConversations = Annotated[Caller, Depends(require("write:conversations"))]


@router.get("/api/v1/conversations", summary="The caller's direct-message conversations")
async def list_conversations(
    request: Request, response: Response, page: PageDep, caller: ReadConversations, uow: UowDep
) -> list[entities.Conversation]:
    rows, entities = await service.page(uow, caller.account_id, page)
    if rows:
        link = link_header(request, rows[0].last_status_id, rows[-1].last_status_id)
        if link:
            response.headers["Link"] = link
    return entities


@router.post("/api/v1/conversations/{conversation_id}/read", summary="Mark as read")
async def read_conversation(
    conversation_id: str, caller: WriteConversations, uow: UowDep
) -> entities.Conversation:
    return await service.mark_read(uow, caller.account_id, path_id(conversation_id))


@router.delete("/api/v1/conversations/{conversation_id}", summary="Remove for the caller")
async def remove_conversation(
    conversation_id: str, caller: WriteConversations, uow: UowDep
) -> entities.Empty:
    await service.remove(uow, caller.account_id, path_id(conversation_id))
    return {}
