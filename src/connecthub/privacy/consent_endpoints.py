"""ConnectHub's consent extension: accepting the terms in effect, and granting and
withdrawing each optional purpose, with the history kept. Handlers parse, call the
privacy service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.core.params import text
from connecthub.http.auth import Caller, require
from connecthub.http.deps import SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params
from connecthub.privacy import service
from connecthub.privacy.service import PresenceSwitch

router = APIRouter(tags=["connecthub"], route_class=EntityRoute)

ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
WriteAccounts = Annotated[Caller, Depends(require("write:accounts"))]

_PURPOSES = (
    "Purposes: `analytics` (privacy-preserving usage statistics; off until granted), "
    "`email_digests` (e-mail summaries; off until granted), `presence` (being shown online "
    "and typing to others; on until withdrawn, the same switch as "
    "/api/v1/connecthub/presence_settings). An unknown purpose answers 404."
)


def _presence(request: Request) -> PresenceSwitch:
    switch: PresenceSwitch = request.app.state.streaming.presence
    return switch


@router.get(
    "/api/v1/connecthub/terms_acceptance",
    summary="Whether I have accepted the terms of service in effect",
    description=(
        "`acceptance_required` is true when a version of the terms newer than the one I "
        "accepted has taken effect (read it at /api/v1/instance/terms_of_service); accept "
        "it with POST. Sign-in through the web asks for it too. See docs/privacy.md."
    ),
)
async def terms_acceptance(
    caller: ReadAccounts, uow: UowDep, settings: SettingsDep
) -> entities.TermsAcceptance:
    return await service.terms_acceptance(uow.session, settings, caller.account_id)


@router.post(
    "/api/v1/connecthub/terms_acceptance",
    summary="Accept the terms of service in effect: `version` (its effective date) required",
    description=(
        "`version` must be the `current_version` (the terms' effective date, as "
        "/api/v1/instance/terms_of_service shows it): a stale version answers 422. "
        "Accepting again records nothing new."
    ),
)
async def accept_terms(
    request: Request, caller: WriteAccounts, uow: UowDep, settings: SettingsDep
) -> entities.TermsAcceptance:
    version = text(await read_params(request), "version", required=True)
    return await service.accept_terms(uow, settings, caller.account_id, version, method="api")


@router.get(
    "/api/v1/connecthub/consents",
    summary="My consent to each optional purpose",
    description=_PURPOSES,
)
async def consents(
    request: Request, caller: ReadAccounts, uow: UowDep
) -> list[entities.ConsentState]:
    return await service.consent_states(uow, caller.account_id, _presence(request))


@router.get(
    "/api/v1/connecthub/consents/history",
    summary="Every consent I gave and withdrew (the terms included), newest first",
)
async def consent_history(caller: ReadAccounts, uow: UowDep) -> list[entities.ConsentRecord]:
    return await service.consent_history(uow.session, caller.account_id)


@router.get(
    "/api/v1/connecthub/consents/{purpose}",
    summary="My consent to one purpose",
    description=_PURPOSES,
)
async def consent(
    purpose: str, request: Request, caller: ReadAccounts, uow: UowDep
) -> entities.ConsentState:
    return await service.consent_to(uow, caller.account_id, purpose, _presence(request))


@router.post(
    "/api/v1/connecthub/consents/{purpose}",
    summary="Grant consent to a purpose (under the privacy policy in effect)",
    description=_PURPOSES,
)
async def grant(
    purpose: str, request: Request, caller: WriteAccounts, uow: UowDep, settings: SettingsDep
) -> entities.ConsentState:
    return await service.grant(uow, settings, caller.account_id, purpose, _presence(request))


@router.delete(
    "/api/v1/connecthub/consents/{purpose}",
    summary="Withdraw consent to a purpose, effective at once",
    description=_PURPOSES,
)
async def withdraw(
    purpose: str, request: Request, caller: WriteAccounts, uow: UowDep, settings: SettingsDep
) -> entities.ConsentState:
    return await service.withdraw(uow, settings, caller.account_id, purpose, _presence(request))


@router.get(
    "/api/v1/connecthub/privacy_settings",
    summary="My privacy settings beyond Mastodon's",
    description=(
        "`direct_messages_from`: who may send me direct messages (`everyone`, `followers`, "
        "`nobody`). Mastodon's `hide_collections` and `discoverable` are set through "
        "PATCH /api/v1/accounts/update_credentials; presence through "
        "/api/v1/connecthub/presence_settings or the `presence` consent."
    ),
)
async def privacy_settings(caller: ReadAccounts, uow: UowDep) -> entities.PrivacySettings:
    return await service.privacy_settings(uow, caller.account_id)


@router.patch(
    "/api/v1/connecthub/privacy_settings",
    summary="Change my privacy settings: `direct_messages_from` (everyone, followers, nobody)",
    description=(
        "A direct status mentioning someone who refuses it answers 422 naming them, and "
        "nobody receives it."
    ),
)
async def update_privacy_settings(
    request: Request, caller: WriteAccounts, uow: UowDep
) -> entities.PrivacySettings:
    params = await read_params(request)
    value = text(params, "direct_messages_from") if "direct_messages_from" in params else None
    return await service.update_privacy_settings(uow, caller.account_id, value)
