"""Every domain's router, in one list, so the app factory and the OpenAPI schema agree."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from connecthub.accounts.endpoints import credentials_at_once
from connecthub.accounts.endpoints import router as accounts_router
from connecthub.admin.endpoints import router as admin_router
from connecthub.announcements.endpoints import router as announcements_router
from connecthub.audit.endpoints import router as audit_router
from connecthub.conversations.endpoints import router as conversations_router
from connecthub.dashboard.endpoints import router as dashboard_router
from connecthub.denylists.endpoints import router as denylists_router
from connecthub.discovery.endpoints import router as discovery_router
from connecthub.emojis.endpoints import router as emojis_router
from connecthub.explore.endpoints import router as explore_router
from connecthub.filters.endpoints import router as filters_router
from connecthub.flags.endpoints import router as flags_router
from connecthub.http.route_index import compile_routes
from connecthub.instance.endpoints import PREBUILT_DOCUMENTS
from connecthub.instance.endpoints import router as instance_router
from connecthub.media.endpoints import router as media_router
from connecthub.notifications.endpoints import router as notifications_router
from connecthub.oauth.endpoints import router as oauth_router
from connecthub.oidc.endpoints import router as oidc_router
from connecthub.ops.endpoints import router as ops_router
from connecthub.portability.endpoints import router as portability_router
from connecthub.privacy.consent_endpoints import router as consent_router
from connecthub.privacy.documents_endpoints import admin_router as documents_admin_router
from connecthub.privacy.documents_endpoints import router as documents_router
from connecthub.privacy.endpoints import admin_router as privacy_admin_router
from connecthub.privacy.endpoints import router as privacy_router
from connecthub.public_pages.endpoints import router as public_pages_router
from connecthub.push.endpoints import router as push_router
from connecthub.relationships.domain_blocks_endpoints import router as domain_blocks_router
from connecthub.relationships.endpoints import router as relationships_router
from connecthub.reports.endpoints import router as reports_router
from connecthub.reports.held_endpoints import router as held_statuses_router
from connecthub.scheduled.endpoints import router as scheduled_router
from connecthub.statuses.endpoints import router as statuses_router
from connecthub.statuses.tags_endpoints import router as tags_router
from connecthub.streaming.endpoints import router as streaming_router
from connecthub.streaming.presence_endpoints import router as presence_router
from connecthub.strikes.endpoints import router as strikes_router
from connecthub.timelines.endpoints import HOME_PATH, home_at_once
from connecthub.timelines.endpoints import router as timelines_router
from connecthub.web.app_shell import fallback_router as web_app_fallback_router
from connecthub.web.app_shell import router as web_app_router
from connecthub.web.endpoints import router as web_router
from connecthub.web_auth.endpoints import router as accounts_web_router
from connecthub.web_auth.sessions import signed_in_locale
from connecthub.webfinger.endpoints import router as webfinger_router

# Routing tries every route of every router included before the match, in order (a good
# part of a timeline read's CPU), so the hottest reads come right after the tiny probe and
# instance routers. No two routers' paths overlap (but the web app's catch-all, which
# comes last and steps aside for the server's own paths), so the order changes nothing else.
_DOMAIN_ROUTERS = (
    ops_router,
    instance_router,
    timelines_router,
    statuses_router,
    notifications_router,
    oauth_router,
    accounts_router,
    web_router,
    web_app_router,
    oidc_router,
    accounts_web_router,
    relationships_router,
    domain_blocks_router,
    conversations_router,
    discovery_router,
    explore_router,
    filters_router,
    streaming_router,
    presence_router,
    media_router,
    tags_router,
    privacy_router,
    privacy_admin_router,
    portability_router,
    documents_router,
    documents_admin_router,
    consent_router,
    admin_router,
    strikes_router,
    dashboard_router,
    reports_router,
    held_statuses_router,
    flags_router,
    emojis_router,
    announcements_router,
    webfinger_router,
    scheduled_router,
    push_router,
    audit_router,
    denylists_router,
    public_pages_router,
    # Last: the web app's shell for every address no other route answers (web/app_shell.py).
    web_app_fallback_router,
)

# FastAPI compiles an included router's routes (parameter models, response fields) on its
# first request, once per inclusion. Including the domain routers once per process and
# handing every app the same included branches makes that happen once, not once per app:
# a process that builds many apps (the test suite builds one per test) paid ~0.3 s a test.
# The branches hold nothing of an app's (no dependency overrides are used).
_INCLUDED = APIRouter()
# The server's pages are shown in a signed-in browser's account locale (http/pages.py); the
# OAuth and public pages find the browser's user themselves.
_PAGE_ROUTERS = (web_router, accounts_web_router, oidc_router)
for _router in _DOMAIN_ROUTERS:
    _INCLUDED.include_router(
        _router,
        dependencies=[Depends(signed_in_locale)] if _router in _PAGE_ROUTERS else None,
    )


# Served ahead of FastAPI's router when their dependencies allow it (http/fast_routes.py):
# the reads clients make most often, by far.
HOT_ROUTES = (
    ("GET", "/api/v1/timelines/home"),
    ("GET", "/api/v1/accounts/verify_credentials"),
    ("GET", "/api/v1/instance"),
    ("GET", "/api/v1/instance/"),
    ("GET", "/api/v2/instance"),
    ("GET", "/api/v2/instance/"),
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/timelines/public"),
    ("GET", "/api/v1/markers"),
    ("GET", "/api/v1/filters"),
    ("GET", "/api/v2/filters"),
    ("POST", "/api/v1/statuses"),
)

# GET paths whose answer is one prebuilt document for every client (http/responses.
# PrebuiltJson): the edge layer answers a plain GET of them itself (http/edge.py), ahead of
# the body limit, the input check and the router; any other request for them goes the
# usual way (the routes above, the same document).
PREBUILT_ROUTES = PREBUILT_DOCUMENTS

# GET paths the server may answer as soon as a request's headers are read, when the answer
# is held in the process (http/edge.py, `EdgeMiddleware.answer_now`): path -> a function of
# the engines and the caller's token giving (head lines, body), or None (the usual way).
AT_ONCE_ROUTES = {
    **{path: document.at_once for path, document in PREBUILT_DOCUMENTS.items()},
    "/api/v1/accounts/verify_credentials": credentials_at_once,
    HOME_PATH: home_at_once,
}


def compile_included_routes() -> None:
    """The compilation above, done now rather than on the first request: a process that
    forks servers does it once for all of them (connecthub/preforked.py)."""
    compile_routes(_INCLUDED)


def include_routers(app: FastAPI) -> None:
    app.router.routes.extend(_INCLUDED.routes)
