"""Statuses API (Mastodon's `/api/v1/statuses`, bookmarks, favourites, polls and an
account's statuses). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.accounts import service as accounts_service
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.core.params import boolean, text
from connecthub.emojis import service as emojis
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import PathId, SettingsDep, UowDep, param_id, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header, paged_json
from connecthub.http.params import read_params
from connecthub.ids import parse_id
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth.scopes import covers_any
from connecthub.scheduled import service as scheduled_service
from connecthub.scheduled.schemas import scheduled_at
from connecthub.scheduled.serializers import scheduled_status_entity
from connecthub.statuses import featured_tags, interactions, service
from connecthub.statuses.entity_bytes import status_page
from connecthub.statuses.models import Bookmark, Favourite, Poll, Status
from connecthub.statuses.schemas import status_draft, string_list, visibility
from connecthub.statuses.serializers import (
    oembed_entity,
    status_edit_entities,
    status_entities,
    status_entity,
)

MAX_BATCH = 40

router = APIRouter(tags=["statuses"], route_class=EntityRoute)

WriteStatuses = Annotated[Caller, Depends(require("write:statuses"))]
ReadStatuses = Annotated[Caller, Depends(require("read:statuses"))]
WriteFavourites = Annotated[Caller, Depends(require("write:favourites"))]
WriteBookmarks = Annotated[Caller, Depends(require("write:bookmarks"))]
ReadBookmarks = Annotated[Caller, Depends(require("read:bookmarks"))]
ReadFavourites = Annotated[Caller, Depends(require("read:favourites"))]
WriteAccounts = Annotated[Caller, Depends(require("write:accounts"))]
ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
WriteMutes = Annotated[Caller, Depends(require("write:mutes"))]


def viewer(token: OptionalToken, *scopes: str) -> int | None:
    """The reading account (None: anonymous). A token that is present must carry a read
    scope, as Mastodon's `authorize_if_got_token!`."""
    if token is None:
        return None
    if not covers_any(token.scopes, scopes or ("read:statuses",)):
        raise Forbidden("This action is outside the authorized scopes")
    return token.account_id


@router.post(
    "/api/v1/statuses",
    summary="Post a status, or schedule it with `scheduled_at` (honours Idempotency-Key)",
)
async def post_status(
    request: Request, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.Status | entities.ScheduledStatus:
    params = await read_params(request)
    draft = status_draft(params)
    key = request.headers.get("idempotency-key", "").strip() or None
    when = scheduled_service.for_later(settings, scheduled_at(params))
    if when is not None:
        row = await scheduled_service.schedule(
            uow,
            settings,
            account_id=caller.account_id,
            draft=draft,
            when=when,
            application_id=caller.token.application_id,
            idempotency_key=key[:512] if key else None,
        )
        held = await scheduled_service.held_media(uow, [row])
        return scheduled_status_entity(settings, row, held.get(row.id, []))
    posted = await service.create_status(
        uow,
        settings,
        account_id=caller.account_id,
        draft=draft,
        application_id=caller.token.application_id,
        idempotency_key=key[:512] if key else None,
    )
    return await status_entity(
        uow.session, posted.status, caller.account_id, settings, unseen=posted.created
    )


async def _one(
    uow: UowDep, settings: SettingsDep, status: Status, viewer_id: int | None
) -> entities.Status:
    return await status_entity(uow.session, status, viewer_id, settings)


@router.get("/api/v1/statuses", summary="Several statuses by id (unreadable ones omitted)")
async def get_statuses(
    request: Request, token: OptionalToken, uow: UowDep, settings: SettingsDep
) -> list[entities.Status]:
    viewer_id = viewer(token)
    raw = string_list(await read_params(request), "id")
    if len(raw) > MAX_BATCH:
        raise ValidationFailed("id", f"at most {MAX_BATCH} ids")
    ids = [param_id("id", value) for value in raw]
    ordered = await service.readable_statuses(uow, viewer_id, ids)
    return await status_entities(uow.session, ordered, viewer_id, settings)


@router.get("/api/v1/statuses/{status_id}", summary="One status")
async def get_status(
    status_id: str, token: OptionalToken, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    viewer_id = viewer(token)
    status = await service.access_status(uow, viewer_id, path_id(status_id))
    return await _one(uow, settings, status, viewer_id)


@router.get(
    "/api/v1/statuses/{status_id}/card",
    summary="A status' preview card, or {} (deprecated by Mastodon: the status carries it)",
)
async def status_card(
    status_id: str, token: OptionalToken, uow: UowDep, settings: SettingsDep
) -> entities.PreviewCard | entities.Empty:
    viewer_id = viewer(token)
    status = await service.access_status(uow, viewer_id, path_id(status_id))
    card = (await _one(uow, settings, status, viewer_id))["card"]
    return card if card is not None else {}


@router.delete("/api/v1/statuses/{status_id}", summary="Delete a status (returns its source)")
async def delete_status(
    status_id: str, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.DeletedStatus:
    status = await service.access_own_status(
        uow, caller.account_id, path_id(status_id), for_update=True
    )
    entity = await _one(uow, settings, status, caller.account_id)
    await service.delete_status(uow, settings, status)
    return {**entity, "text": status.text}


@router.put("/api/v1/statuses/{status_id}", summary="Edit a status")
async def edit_status(
    status_id: str, request: Request, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    status = await service.access_own_status(
        uow, caller.account_id, path_id(status_id), for_update=True
    )
    draft = status_draft(await read_params(request), editing=True)
    status = await service.edit_status(uow, settings, status, draft)
    return await _one(uow, settings, status, caller.account_id)


@router.get("/api/v1/statuses/{status_id}/source", summary="A status' source text")
async def status_source(status_id: str, caller: ReadStatuses, uow: UowDep) -> entities.StatusSource:
    status = await service.access_own_status(uow, caller.account_id, path_id(status_id))
    return {"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text}


@router.get("/api/v1/statuses/{status_id}/history", summary="Every version of a status")
async def status_history(
    status_id: str, token: OptionalToken, uow: UowDep, settings: SettingsDep
) -> list[entities.StatusEdit]:
    viewer_id = viewer(token)
    status = await service.access_status(uow, viewer_id, path_id(status_id))
    edits = await service.edits_of(uow, status)
    author = await uow.session.get(Account, status.account_id)
    assert author is not None
    return status_edit_entities(settings, author, status, edits)


@router.post(
    "/api/v1/statuses/{status_id}/translate",
    summary="Translate a status (no translation service: 404, as Mastodon answers)",
    response_class=Response,
    responses={403: {"description": "Not public or unlisted"}, 404: {"description": "No service"}},
)
async def translate_status(status_id: str, caller: ReadStatuses, uow: UowDep) -> Response:
    await service.translate_status(uow, caller.account_id, path_id(status_id))


@router.get("/api/v1/statuses/{status_id}/context", summary="Ancestors and descendants")
async def status_context(
    status_id: str, token: OptionalToken, uow: UowDep, settings: SettingsDep
) -> entities.Context:
    viewer_id = viewer(token)
    status = await service.access_status(uow, viewer_id, path_id(status_id))
    above, below = await service.thread(uow, viewer_id, status)
    entities = await status_entities(
        uow.session, [*above, *below], viewer_id, settings, context="thread"
    )
    return {"ancestors": entities[: len(above)], "descendants": entities[len(above) :]}


async def _act(
    uow: UowDep, settings: SettingsDep, caller: Caller, action: Any, status_id: str
) -> entities.Status:
    status = await action(uow, caller.account_id, path_id(status_id))
    return await _one(uow, settings, status, caller.account_id)


@router.post("/api/v1/statuses/{status_id}/favourite", summary="Favourite a status")
async def favourite(
    status_id: str, caller: WriteFavourites, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.favourite, status_id)


@router.post("/api/v1/statuses/{status_id}/unfavourite", summary="Undo a favourite")
async def unfavourite(
    status_id: str, caller: WriteFavourites, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.unfavourite, status_id)


@router.post("/api/v1/statuses/{status_id}/reblog", summary="Boost a status")
async def reblog(
    status_id: str, request: Request, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    chosen = visibility(await read_params(request))
    boost = await interactions.reblog(uow, caller.account_id, path_id(status_id), chosen)
    return await _one(uow, settings, boost, caller.account_id)


@router.post("/api/v1/statuses/{status_id}/unreblog", summary="Undo a boost")
async def unreblog(
    status_id: str, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.unreblog, status_id)


@router.post("/api/v1/statuses/{status_id}/mute", summary="No more notifications from a thread")
async def mute_thread(
    status_id: str, caller: WriteMutes, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.mute_thread, status_id)


@router.post("/api/v1/statuses/{status_id}/unmute", summary="Notifications from a thread again")
async def unmute_thread(
    status_id: str, caller: WriteMutes, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.unmute_thread, status_id)


@router.post("/api/v1/statuses/{status_id}/bookmark", summary="Bookmark a status")
async def bookmark(
    status_id: str, caller: WriteBookmarks, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.bookmark, status_id)


@router.post("/api/v1/statuses/{status_id}/unbookmark", summary="Remove a bookmark")
async def unbookmark(
    status_id: str, caller: WriteBookmarks, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.unbookmark, status_id)


@router.post("/api/v1/statuses/{status_id}/pin", summary="Pin a status to the profile")
async def pin(
    status_id: str, caller: WriteAccounts, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.pin, status_id)


@router.post("/api/v1/statuses/{status_id}/unpin", summary="Unpin a status")
async def unpin(
    status_id: str, caller: WriteAccounts, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    return await _act(uow, settings, caller, interactions.unpin, status_id)


async def _accounts_page(
    request: Request,
    response: Response,
    uow: UowDep,
    settings: SettingsDep,
    rows: list[tuple[int, Account]],
) -> list[entities.Account]:
    if rows:
        link = link_header(request, rows[0][0], rows[-1][0])
        if link:
            response.headers["Link"] = link
    used = await emojis.of_profiles(uow.session, settings, [account for _, account in rows])
    return [account_entity(settings, account, None, used) for _, account in rows]


@router.get("/api/v1/statuses/{status_id}/favourited_by", summary="Who favourited a status")
async def favourited_by(
    status_id: str,
    request: Request,
    response: Response,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.Account]:
    viewer_id = viewer(token)
    status = await service.access_status(uow, viewer_id, path_id(status_id))
    rows = await service.favouriters(uow, viewer_id, status, page)
    return await _accounts_page(request, response, uow, settings, rows)


@router.get("/api/v1/statuses/{status_id}/reblogged_by", summary="Who boosted a status")
async def reblogged_by(
    status_id: str,
    request: Request,
    response: Response,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.Account]:
    viewer_id = viewer(token)
    status = await service.access_status(uow, viewer_id, path_id(status_id))
    rows = await service.boosters(uow, viewer_id, status, page)
    return await _accounts_page(request, response, uow, settings, rows)


async def _marked(
    request: Request,
    page: PageDep,
    caller: Caller,
    uow: UowDep,
    settings: SettingsDep,
    model: type[Bookmark] | type[Favourite],
) -> Response:
    rows = await service.marked_statuses(uow, caller.account_id, model, page)
    statuses = [status for _, status in rows]
    # No filter context, as Mastodon's lists of one's marks: filters mark, none hides.
    body = await status_page(uow.session, statuses, caller.account_id, settings, context=None)
    # The cursor is the bookmark's or favourite's own id, as Mastodon pages them.
    return paged_json(request, body, [mark_id for mark_id, _ in rows])


@router.get(
    "/api/v1/bookmarks",
    response_model=list[entities.Status],
    summary="The caller's bookmarked statuses",
)
async def bookmarks(
    request: Request, page: PageDep, caller: ReadBookmarks, uow: UowDep, settings: SettingsDep
) -> Response:
    return await _marked(request, page, caller, uow, settings, Bookmark)


@router.get(
    "/api/v1/favourites",
    response_model=list[entities.Status],
    summary="The caller's favourited statuses",
)
async def favourites(
    request: Request, page: PageDep, caller: ReadFavourites, uow: UowDep, settings: SettingsDep
) -> Response:
    return await _marked(request, page, caller, uow, settings, Favourite)


async def _poll(
    uow: UowDep, settings: SettingsDep, poll: Poll, viewer_id: int | None
) -> entities.Poll | None:
    entity = await status_entity(
        uow.session, await uow.session.get_one(Status, poll.status_id), viewer_id, settings
    )
    return entity["poll"]


def _present(poll: entities.Poll | None) -> entities.Poll:
    assert poll is not None  # the status of a poll shows it
    return poll


@router.get("/api/v1/polls/{poll_id}", summary="A poll")
async def get_poll(
    poll_id: str, token: OptionalToken, uow: UowDep, settings: SettingsDep
) -> entities.Poll:
    viewer_id = viewer(token)
    poll = await service.access_poll(uow, viewer_id, path_id(poll_id))
    return _present(await _poll(uow, settings, poll, viewer_id))


@router.post("/api/v1/polls/{poll_id}/votes", summary="Vote in a poll")
async def vote(
    poll_id: str, request: Request, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.Poll:
    choices = [parse_id(choice) for choice in string_list(await read_params(request), "choices")]
    if None in choices:
        raise ValidationFailed("choices", "must be option indexes")
    chosen = [choice for choice in choices if choice is not None]
    poll = await interactions.vote(uow, caller.account_id, path_id(poll_id), chosen)
    return _present(await _poll(uow, settings, poll, caller.account_id))


@router.get(
    "/api/v1/accounts/{account_id:id}/statuses",
    response_model=list[entities.Status],
    summary="An account's statuses",
)
async def account_statuses(
    account_id: PathId,
    request: Request,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> Response:
    viewer_id = viewer(token)
    await accounts_service.check_visible(uow, settings, account_id)
    params = await read_params(request)
    tagged = text(params, "tagged").lstrip("#").strip() or None
    statuses = await service.account_statuses(
        uow,
        viewer_id,
        account_id,
        page,
        exclude_replies=bool(boolean(params, "exclude_replies", default=False)),
        exclude_reblogs=bool(boolean(params, "exclude_reblogs", default=False)),
        only_media=bool(boolean(params, "only_media", default=False)),
        pinned=bool(boolean(params, "pinned", default=False)),
        tagged=tagged,
    )
    body = await status_page(uow.session, statuses, viewer_id, settings, context="account")
    return paged_json(request, body, [status.id for status in statuses])


# --- featured tags ---------------------------------------------------------------------------


async def _username(uow: UnitOfWork, account_id: int) -> str:
    account = await accounts_service.account_by_id(uow.session, account_id)
    if account is None:
        raise NotFound()
    return account.username


@router.get("/api/v1/featured_tags", summary="The hashtags I feature on my profile")
async def my_featured_tags(
    caller: ReadAccounts, uow: UowDep, settings: SettingsDep
) -> list[entities.FeaturedTag]:
    username = await _username(uow, caller.account_id)
    return await featured_tags.featured(uow, settings, caller.account_id, username)


@router.post(
    "/api/v1/featured_tags",
    summary=f"Feature a hashtag on my profile (at most {featured_tags.MAX_FEATURED})",
)
async def feature_tag(
    request: Request, caller: WriteAccounts, uow: UowDep, settings: SettingsDep
) -> entities.FeaturedTag:
    name = text(await read_params(request), "name", required=True)
    username = await _username(uow, caller.account_id)
    return await featured_tags.feature(uow, settings, caller.account_id, username, name)


@router.delete("/api/v1/featured_tags/{row_id:id}", summary="Stop featuring a hashtag")
async def unfeature_tag(row_id: PathId, caller: WriteAccounts, uow: UowDep) -> entities.Empty:
    await featured_tags.unfeature(uow, caller.account_id, row_id)
    return {}


@router.get(
    "/api/v1/featured_tags/suggestions",
    summary="The hashtags I use most (of my latest statuses) and do not feature yet",
)
async def featured_tag_suggestions(
    caller: ReadAccounts, uow: UowDep, settings: SettingsDep
) -> list[entities.TagDetails]:
    return await featured_tags.suggestions(uow, settings, caller.account_id)


@router.get(
    "/api/v1/accounts/{account_id:id}/featured_tags",
    summary="The hashtags an account features (empty for a suspended one)",
)
async def account_featured_tags(
    account_id: PathId, uow: UowDep, settings: SettingsDep
) -> list[entities.FeaturedTag]:
    account = await accounts_service.account_by_id(uow.session, account_id)
    if account is None:
        raise NotFound()
    if account.suspended_at is not None:
        return []
    return await featured_tags.featured(uow, settings, account.id, account.username)


__all__ = ["router"]


def _size(field: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    number = parse_id(value)
    if number is None or not 0 < number <= 10_000:
        raise ValidationFailed(field, "must be a whole number of pixels (1 to 10000)")
    return number


@router.get("/api/oembed", summary="oEmbed of a public status, by its URL (404 otherwise)")
async def oembed(
    uow: UowDep,
    settings: SettingsDep,
    url: str | None = None,
    maxwidth: str | None = None,
    maxheight: str | None = None,
) -> entities.OEmbed:
    if not url:
        raise ValidationFailed("url", "is required")
    width, height = _size("maxwidth", maxwidth), _size("maxheight", maxheight)
    status, author = await service.status_at_url(uow, settings, url)
    return oembed_entity(settings, status, author, width, height)
