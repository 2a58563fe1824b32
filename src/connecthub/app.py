"""The ASGI app factory: engines in the lifespan, middleware, error handlers and routers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.applications import Starlette
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from connecthub import __version__
from connecthub.accounts import passwords, sign_in, signup_hooks
from connecthub.config import Settings, get_settings
from connecthub.core import collector
from connecthub.core.tasks import cancel_and_wait
from connecthub.denylists import service as denylists
from connecthub.denylists.gate import IpGateLoader
from connecthub.detection.service import on_sign_up as count_sign_up
from connecthub.flags.runtime import Flags
from connecthub.http.admission import Admission, AdmissionMiddleware
from connecthub.http.client_ip import ClientIpResolver
from connecthub.http.edge import EdgeMiddleware
from connecthub.http.entity_route import document_entities
from connecthub.http.errors import install_error_handlers
from connecthub.http.fast_routes import FastRoutes, first_match, flattened, plans_by_route
from connecthub.http.ip_gate import IpGate
from connecthub.http.route_index import install_route_index
from connecthub.http.trailing_slash import install_trailing_slash_redirect
from connecthub.infra.engines import Engines
from connecthub.infra.sweeper import run_sweeper
from connecthub.oauth import tokens
from connecthub.ops import metrics
from connecthub.ops.setup import configure_observability, instrument_app
from connecthub.privacy.service import record_terms_consent
from connecthub.push import service as push
from connecthub.routes import AT_ONCE_ROUTES, HOT_ROUTES, PREBUILT_ROUTES, include_routers
from connecthub.streaming.endpoints import WebSocketShortcut
from connecthub.streaming.hub import StreamingHub
from connecthub.tasks import register_all
from connecthub.web.api_docs import install_api_docs

log = structlog.get_logger(__name__)

OPENAPI_TAGS = [
    {"name": "instance", "description": "What clients read first about this server."},
    {"name": "oauth", "description": "OAuth 2.0 apps, authorization and tokens."},
    {"name": "accounts", "description": "Sign-up, credentials and profiles."},
    {"name": "operations", "description": "Health probes and metrics."},
    {"name": "connecthub", "description": "ConnectHub extensions beyond the Mastodon API."},
    {"name": "web", "description": "Server-rendered pages: the front door and about page."},
]


class _ConnectHubApp(FastAPI):
    """FastAPI with the streaming WebSocket served ahead of the middleware stack (see
    `WebSocketShortcut`), and without the layers FastAPI puts around the app's own:
    Starlette's last-resort 500 page (http/edge.py answers every error inside), FastAPI's
    exception telemetry (off) and its body limit (unset: http/body_limit.py is ours). What
    is left: the app's middleware (admission, tracing when on, the edge layer), the hot
    routes (http/fast_routes.py), then FastAPI's exception handlers, its exit stack and
    its router."""

    traced = False  # set when tracing is on (ops/setup.instrument_app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # FastAPI's own telemetry asks the OpenTelemetry providers whether it is on, three
        # environment reads per request; it is off unless ConnectHub's tracing is.
        if self.traced or self.root_path or scope["type"] == "lifespan":
            await super().__call__(scope, receive, send)
        else:
            await Starlette.__call__(self, scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = _shared_document(self, self._make_openapi)
        return self.openapi_schema

    def _make_openapi(self) -> dict[str, Any]:
        document = super().openapi()
        document_entities(document, self.routes)  # the entity types (http/entity_route.py)
        return document

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router
        app = AsyncExitStackMiddleware(app)
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        app = ExceptionMiddleware(app, handlers=handlers, debug=self.debug)
        app = FastRoutes(app, self, HOT_ROUTES)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return WebSocketShortcut(app, self.state.client_ips, self.state.ip_gate)


# Documents already made in this process, by what they are made of: the routers are
# module-level, so every app of a process (the tests make one per test) lists the same route
# objects, and making the document took ~0.4 s of CPU. The routes are kept with it, so no
# route's id() is reused while its entry stands.
_DOCUMENTS: dict[tuple[Any, ...], tuple[list[Any], dict[str, Any]]] = {}


def _shared_document(app: FastAPI, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    listed = [r for r in flattened(app.routes) if getattr(r, "include_in_schema", False)]
    key = (app.title, app.version, app.description, *(id(route) for route in listed))
    if key not in _DOCUMENTS:
        _DOCUMENTS[key] = (listed, make())
    return _DOCUMENTS[key][1]


def create_app(settings: Settings | None = None, engines: Engines | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_observability(settings)
    passwords.configure(settings)
    # Cross-domain reactions to a sign-up, run inside its transaction (accounts cannot
    # import privacy).
    signup_hooks.on_sign_up(signup_hooks.CONSENT, record_terms_consent)
    # Automated detection counts sign-ups per address range (detection/spam.py).
    signup_hooks.on_sign_up("spam_detection", count_sign_up)
    # The operator's blocks: IP ranges and e-mail domains at sign-up, no_access at sign-in.
    signup_hooks.on_sign_up("denylists", denylists.sign_up_hook)
    sign_in.on_sign_in("denylists", denylists.check_sign_in)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        register_all(settings.task_modules)  # job handlers, for the embedded worker
        app.state.engines = engines or Engines.from_settings(settings)
        await app.state.engines.start()
        # The VAPID key pair, made on the instance's first start: requests then read it
        # from memory (an application's or the instance's `vapid_key`). A database that is
        # down does not stop the start (requests answer 503 until it is back); the first
        # request that needs the key reads it then.
        try:
            await push.vapid_keys(app.state.engines)
        except Exception as exc:
            log.warning("push.vapid_key_deferred", error=f"{type(exc).__name__}: {exc}")
        app.state.streaming = StreamingHub(app.state.engines)
        await app.state.streaming.start()
        app.state.flags = Flags(app.state.engines)
        await app.state.flags.start()
        ip_gate_loader = app.state.ip_gate_loader = IpGateLoader(
            app.state.engines, app.state.ip_gate
        )
        await ip_gate_loader.start()
        app.state.readiness_notes = {"flags": app.state.flags.readiness_note}
        # Embedded mode: a `connecthub admin` command's writes reach this process's memory.
        await app.state.engines.watch_outside_writes(
            functools.partial(tokens.forget_all_cached, app.state.engines),
            app.state.streaming.close_dead_tokens,
            app.state.flags.store.reload,
        )
        background: list[asyncio.Task[None]] = []
        if settings.runs_jobs_in_server:
            background.append(
                asyncio.create_task(
                    app.state.engines.run_jobs(concurrency=2),
                    name="in-server-job-worker",
                )
            )
            # Must-run work a queue lost is queued again from the database (in embedded
            # mode the queue lives in memory: a restart loses it).
            background.append(
                asyncio.create_task(run_sweeper(app.state.engines), name="in-server-sweeper")
            )
        log.info("server.started", embedded=settings.is_embedded, version=__version__)
        # What exists now (modules, routes, compiled statements) lives as long as the
        # app: the collector need not scan it again on every full collection. Unfrozen at
        # shutdown, so an app that stops (tests start many) can be collected.
        gc.freeze()
        previous_thresholds = collector.use_long_lived_thresholds()
        try:
            yield
        finally:
            metrics.flush_requests()  # the last second's requests, before the process ends
            gc.unfreeze()
            gc.set_threshold(*previous_thresholds)
            await app.state.streaming.stop()
            await app.state.flags.stop()
            await ip_gate_loader.stop()
            await cancel_and_wait(*background)
            await app.state.engines.stop()

    app = _ConnectHubApp(
        title=f"{settings.instance_title} API",
        version=__version__,
        description=(
            "The Mastodon client API as ConnectHub serves it, plus ConnectHub's extensions "
            "(tagged `connecthub`)."
        ),
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        # The documentation pages are ours (web/api_docs.py): no scripts from a CDN.
        openapi_url="/openapi.json" if settings.serves_api_docs else None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.client_ips = ClientIpResolver(settings.trusted_proxies)
    # `no_access` IP blocks, refused on every request; kept current by the lifespan's loader.
    app.state.ip_gate = IpGate()
    app.state.admission = Admission(settings.requests_in_flight_limit)
    install_error_handlers(app)
    include_routers(app)
    if settings.serves_api_docs:
        install_api_docs(app)
    install_trailing_slash_redirect(app)
    # A request tries the few routes its path can match, and a planned route is served
    # without FastAPI's dependency solving (http/fast_routes.py).
    routes = list(flattened(app.routes))
    install_route_index(app.router).plans = plans_by_route(routes)

    # Added inner to outer: the last one added sees the request first. Request context,
    # CORS, body limit, rate limits, unhandled errors and the input check are one layer.
    routed = {
        path: route
        for path in {*PREBUILT_ROUTES, *AT_ONCE_ROUTES}
        if (route := first_match(routes, "GET", path)) is not None
    }
    prebuilt = {path: (routed[path], source) for path, source in PREBUILT_ROUTES.items()}
    at_once = {path: (routed[path], source) for path, source in AT_ONCE_ROUTES.items()}
    app.add_middleware(
        EdgeMiddleware,
        settings=settings,
        resolver=app.state.client_ips,
        state=app.state,
        prebuilt=prebuilt,
        at_once=at_once,
        overrides=app.dependency_overrides,
    )
    instrument_app(app, settings)  # when tracing is on
    app.traced = bool(settings.otel_exporter_otlp_endpoint)
    # Outermost: past the admission limit a request is refused before anything else runs
    # (no access line, span or engine: what shedding spends on the excess is what decides
    # how much excess a process survives), and it counts only requests that do work.
    app.add_middleware(AdmissionMiddleware, admission=app.state.admission)
    return app
