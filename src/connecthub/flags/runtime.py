"""One process's flags: the compiled rule set, the exposure recorder, ConnectHub's
OpenFeature provider and the client the application evaluates through. Built in the app's
lifespan (`app.state.flags`).

OpenFeature keeps providers in a process-wide registry, by domain. Each app binds its own
provider under a domain of its own, so several apps in one process (the test suite builds
many) never share rules."""

from __future__ import annotations

import itertools
from typing import Any

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.hook.opentelemetry import TracingHook
from openfeature.evaluation_context import EvaluationContext
from openfeature.provider.no_op_provider import NoOpProvider

from connecthub.flags.exposures import ExposureRecorder
from connecthub.flags.provider import ConnectHubProvider
from connecthub.flags.rules import CompiledFlag, FlagKind
from connecthub.flags.store import FlagStore
from connecthub.infra.engines import Engines
from connecthub.infra.events import InProcessEventBus

_domains = itertools.count(1)
_RETIRED = NoOpProvider()  # what a stopped app's domain is left bound to
# Embedded mode's bus stops at the process: a change made with `connecthub flags` (another
# process) reaches a running server by this periodic reload.
EMBEDDED_REFRESH_SECONDS = 5.0


class Features:
    """Flag evaluation for one caller: the OpenFeature client and the evaluation context
    built from the request (account id as targeting key, role, locale)."""

    __slots__ = ("client", "context")

    def __init__(self, client: OpenFeatureClient, context: EvaluationContext) -> None:
        self.client = client
        self.context = context

    def enabled(self, key: str, default: bool = False) -> bool:
        return self.client.get_boolean_value(key, default, self.context)

    def value(self, flag: CompiledFlag) -> Any:
        """`flag` evaluated through the client, by its kind (the web app's values)."""
        if flag.kind is FlagKind.BOOLEAN:
            return self.client.get_boolean_value(flag.key, flag.default_value, self.context)
        if flag.kind is FlagKind.STRING:
            return self.client.get_string_value(flag.key, flag.default_value, self.context)
        if flag.kind is FlagKind.NUMBER:
            return self.client.get_float_value(flag.key, float(flag.default_value), self.context)
        return self.client.get_object_value(flag.key, flag.default_value, self.context)


class Flags:
    def __init__(self, engines: Engines) -> None:
        embedded = isinstance(engines.events, InProcessEventBus)
        self.store = FlagStore(
            engines.db,
            engines.events,
            refresh_seconds=EMBEDDED_REFRESH_SECONDS if embedded else None,
        )
        self.exposures = ExposureRecorder(engines.db)
        self.provider = ConnectHubProvider(self.store, self.exposures)
        self.domain = f"connecthub-{next(_domains)}"
        api.set_provider_and_wait(self.provider, self.domain)
        self.client = api.get_client(self.domain)
        if engines.settings.otel_exporter_otlp_endpoint:
            # Each evaluation becomes an event on the request's span. Only when tracing is
            # on: without spans to record on, the hook still cost ~6 µs per evaluation (a
            # third of one; bench/flags.py).
            self.client.add_hooks([TracingHook()])

    async def start(self) -> None:
        await self.store.start()
        self.exposures.start()

    async def stop(self) -> None:
        await self.exposures.stop()
        await self.store.stop()
        api.set_provider(_RETIRED, self.domain)

    def features(self, account_id: int | None, role: str | None, locale: str | None) -> Features:
        attributes: dict[str, Any] = {}
        if role is not None:
            attributes["role"] = role
        if locale is not None:
            attributes["locale"] = locale
        key = str(account_id) if account_id is not None else None
        return Features(self.client, EvaluationContext(targeting_key=key, attributes=attributes))

    def readiness_note(self) -> str:
        """For /health/ready's detail: `ok`, or why the rules may be stale."""
        return self.store.stale_reason or "ok"
