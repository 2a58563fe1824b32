"""`/.well-known/host-meta` and `/.well-known/webfinger`: public, cacheable, as Mastodon
serves them (XRD and JRD). Handlers only call the service and pick the media type."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from connecthub.http.deps import SettingsDep, UowDep
from connecthub.webfinger import service

router = APIRouter(tags=["instance"])

# Mastodon lets caches keep both documents for three days.
_CACHE = {"Cache-Control": "max-age=259200, public"}


class XrdResponse(Response):
    media_type = "application/xrd+xml"


class JrdResponse(Response):
    media_type = "application/jrd+json"


@router.get(
    "/.well-known/host-meta",
    response_class=XrdResponse,
    summary="Where WebFinger is (XRD with the lrdd template)",
    responses={200: {"content": {"application/xrd+xml": {}}}},
)
async def host_meta(settings: SettingsDep) -> XrdResponse:
    return XrdResponse(service.host_meta(settings), headers={**_CACHE, "Vary": "Accept"})


@router.get(
    service.WEBFINGER_PATH,
    response_class=JrdResponse,
    summary="A local account's WebFinger document (JRD)",
    description=(
        "`resource`: `acct:user@domain` or the account's profile URL. 400 for a malformed "
        "resource, 404 for an unknown or suspended account or another domain."
    ),
    responses={200: {"content": {"application/jrd+json": {}}}},
)
async def webfinger(settings: SettingsDep, uow: UowDep, resource: str | None = None) -> JrdResponse:
    document = await service.account_jrd(uow.session, settings, resource)
    return JrdResponse(orjson.dumps(document), headers=_CACHE)
