"""With tracing on, each flag evaluation is an event on the request's span (the
OpenTelemetry hook), exported with it."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import running_app, start_server, stop_process
from tests.flags.support import admin_token, create_flag
from tests.ops.test_observability import Collector, Received, collector
from tests.social_factories import auth, user_with_token
from tests.support import probe

__all__ = ["collector"]  # the fixture


def evaluation_events(item: Received) -> list[dict[str, str]]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(item.body)
    found = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for event in span.events:
                    if event.name == "feature_flag.evaluation":
                        found.append({a.key: a.value.string_value for a in event.attributes})
    return found


@pytest.mark.processes
@pytest.mark.timeout(300)
async def test_evaluations_are_events_on_the_request_span(
    test_env: Any, collector: Collector
) -> None:
    async with running_app(test_env) as (app, client):
        admin = await admin_token(app)
        await create_flag(
            client, admin, key="search_hashtags", kind="boolean", default_value=False,
            rules=[{"name": "everyone", "conditions": [], "value": True}],
        )  # fmt: skip
        _alice, token = await user_with_token(app, "alice")
    server = start_server(
        test_env, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="200"
    )
    try:
        # A generous timeout: the server's first request builds FastAPI's route state, and
        # at load ~10 it took more than httpx's default 5 s (ReadTimeout, 2026-12-05).
        response = probe.get(f"{server.url}/api/v2/search?q=cat", headers=auth(token), timeout=60)
        assert response.status_code == 200, response.text
        item = collector.wait_for(lambda item: bool(evaluation_events(item)))
    finally:
        stop_process(server.process)
    event = evaluation_events(item)[0]
    assert event["feature_flag.key"] == "search_hashtags"
    assert event["feature_flag.result.value"] == "true"
    assert event["feature_flag.result.variant"] == "everyone"
    assert event["feature_flag.provider.name"] == "connecthub"
