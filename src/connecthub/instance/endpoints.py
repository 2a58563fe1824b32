"""What clients read first: `/api/v1/instance`, `/api/v2/instance`, rules and NodeInfo.

Handlers only call the service. Every route is public, as in Mastodon. The two instance
documents answer with and without a trailing slash (clients such as Mastodon.py ask for
`/api/v2/instance/`), without a redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from connecthub.http.deps import EnginesDep, SettingsDep, UowDep
from connecthub.http.responses import PrebuiltJson
from connecthub.infra.engines import Engines
from connecthub.instance import schemas, service

router = APIRouter(tags=["instance"])


def _get_with_slash(path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register GET on `path` (documented) and on `path/` (hidden, same handler)."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        router.get(f"{path}/", include_in_schema=False, **kwargs)(handler)
        return router.get(path, **kwargs)(handler)

    return register


@_get_with_slash(
    "/api/v1/instance",
    response_model=schemas.InstanceV1,
    summary="Server information (v1, deprecated but still read by clients)",
)
async def instance_v1(request: Request, engines: EnginesDep) -> Response:
    return (await prebuilt_document(engines, 1)).response(request.scope)


@_get_with_slash(
    "/api/v2/instance",
    response_model=schemas.Instance,
    summary="Server information",
)
async def instance_v2(request: Request, engines: EnginesDep) -> Response:
    return (await prebuilt_document(engines, 2)).response(request.scope)


# As Mastodon answers both documents (`expires_in 3.minutes, public: true`).
_CACHE_CONTROL = b"max-age=180, public"
# The answer for each API version, remade when the service renders a new body (once per
# INSTANCE_STATS_CACHE_SECONDS): its head and ETag are made once with it.
_answers: dict[int, PrebuiltJson] = {}


async def prebuilt_document(engines: Engines, api_version: int) -> PrebuiltJson:
    """The instance document of `api_version` as it is answered. Rendered by the service
    (the response models above document its shape); the edge layer answers a plain GET of
    these paths with it directly (http/edge.py, PREBUILT_ROUTES in routes.py)."""
    return _prebuilt(await service.instance_document(engines, api_version=api_version), api_version)


def held_prebuilt(engines: Engines, api_version: int) -> PrebuiltJson | None:
    """`prebuilt_document` when the process holds a fresh rendering (no await), else None."""
    body = service.held_document(engines, api_version)
    return None if body is None else _prebuilt(body, api_version)


def _prebuilt(body: bytes, api_version: int) -> PrebuiltJson:
    held = _answers.get(api_version)
    if held is None or held.body is not body:
        held = _answers[api_version] = PrebuiltJson(body, cache_control=_CACHE_CONTROL)
    return held


class _Document:
    """One instance document for the edge layer: awaited, or held (None: render first)."""

    def __init__(self, api_version: int) -> None:
        self.api_version = api_version

    async def __call__(self, engines: Engines) -> PrebuiltJson:
        return await prebuilt_document(engines, self.api_version)

    def held(self, engines: Engines) -> PrebuiltJson | None:
        return held_prebuilt(engines, self.api_version)

    def at_once(self, engines: Engines, _token: object, query: bytes) -> tuple[bytes, bytes] | None:
        """The answer (head lines, body) when held and asked for without a query:
        http/edge.py answers it at once."""
        held = None if query else self.held(engines)
        return None if held is None else (held.head_lines, held.body)


# The paths answered from prebuilt bytes by the edge layer (with and without the slash).
PREBUILT_DOCUMENTS = {
    "/api/v1/instance": _Document(1),
    "/api/v1/instance/": _Document(1),
    "/api/v2/instance": _Document(2),
    "/api/v2/instance/": _Document(2),
}


@router.get(
    "/api/v1/instance/rules",
    response_model=list[schemas.Rule],
    summary="The rules people on this server follow",
)
async def instance_rules(settings: SettingsDep) -> list[schemas.Rule]:
    return service.rules(settings)


@router.get(
    "/api/v1/instance/peers",
    response_model=list[str],
    summary="Domains this server knows (none: there is no federation yet)",
)
async def instance_peers() -> list[str]:
    return []


@router.get(
    "/api/v1/instance/activity",
    response_model=list[schemas.Activity],
    summary="Sign-ups and sign-ins per week over the last twelve weeks",
)
async def instance_activity(settings: SettingsDep, uow: UowDep) -> list[schemas.Activity]:
    return await service.activity(uow.session, uow.engines.cache, settings)


@router.get(
    "/api/v1/instance/extended_description",
    response_model=schemas.ExtendedDescription,
    summary="The longer description of this server, as HTML",
)
async def instance_extended_description(settings: SettingsDep) -> schemas.ExtendedDescription:
    return service.extended_description(settings)


@router.get(
    "/api/v1/instance/languages",
    response_model=list[schemas.Language],
    summary="Languages posts may be written in",
)
async def instance_languages(settings: SettingsDep) -> list[schemas.Language]:
    return service.languages(settings)


@router.get(
    "/api/v1/instance/translation_languages",
    response_model=dict[str, list[str]],
    summary="Translation language pairs (none: translation is not offered)",
)
async def instance_translation_languages() -> dict[str, list[str]]:
    return {}


@router.get(
    "/api/v1/instance/domain_blocks",
    response_model=list[schemas.DomainBlock],
    summary="Servers this one blocks (none: there is no federation yet)",
)
async def instance_domain_blocks() -> list[schemas.DomainBlock]:
    return []


class NodeInfoResponse(JSONResponse):
    media_type = f'application/json; profile="{service.NODEINFO_SCHEMA}#"'


@router.get(
    "/.well-known/nodeinfo",
    response_model=schemas.NodeInfoDiscovery,
    summary="Where the NodeInfo document is",
)
async def nodeinfo_discovery(settings: SettingsDep) -> schemas.NodeInfoDiscovery:
    return service.nodeinfo_discovery(settings)


@router.get(
    service.NODEINFO_PATH,
    response_model=schemas.NodeInfo,
    response_class=NodeInfoResponse,
    summary="NodeInfo 2.0: software, usage and registration state",
)
async def nodeinfo(settings: SettingsDep, uow: UowDep) -> schemas.NodeInfo:
    counts = await service.stats(uow.session, uow.engines.cache, settings)
    return service.nodeinfo(settings, counts)
