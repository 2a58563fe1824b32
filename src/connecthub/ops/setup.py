"""Logging, tracing and error reporting, configured once per process from settings."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI

from connecthub import __version__
from connecthub.config import Settings
from connecthub.ops.logging import configure_logging, scrub_text, scrub_value

log = structlog.get_logger(__name__)
_configured: set[str] = set()


def configure_observability(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    if settings.otel_exporter_otlp_endpoint and "otel" not in _configured:
        _configure_tracing(settings)
        _configured.add("otel")
    if settings.sentry_dsn and "sentry" not in _configured:
        _configure_sentry(settings)
        _configured.add("sentry")


def _configure_tracing(settings: Settings) -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.otel_service_name, "service.version": __version__}
        )
    )
    endpoint = settings.otel_exporter_otlp_endpoint or ""
    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    log.info("tracing.enabled", endpoint=endpoint)


# Probes and scrapes arrive every few seconds and would drown the real traffic.
_UNTRACED_PATHS = "/health$,/health/live$,/health/ready$,/metrics$"


def instrument_app(app: FastAPI, settings: Settings) -> None:
    """Traces every request when tracing is on. Added last, so it is the outermost
    middleware and a request's span covers all the others."""
    if not settings.otel_exporter_otlp_endpoint:
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware,
        excluded_urls=_UNTRACED_PATHS,
        server_request_hook=_redact_span_url,
        exclude_spans=["receive", "send"],
    )


def _redact_span_url(span: Any, _scope: dict[str, Any]) -> None:
    """Clients may send `?access_token=` (streaming does); keep it out of exported spans."""
    if span is None or not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for name in ("http.url", "http.target", "url.full", "url.query"):
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, scrub_text(value))


def report_exception(exc: BaseException) -> None:
    """Sends an error the server handled but did not expect to Sentry, when it is on."""
    if "sentry" in _configured:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)


def _scrub_event(event: Any, _hint: Any) -> Any:
    """The same redaction as the logs: tokens in query strings, e-mails in messages."""
    return scrub_value(event)


def _configure_sentry(settings: Settings) -> None:
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        release=f"connecthub@{__version__}",
        environment=settings.environment.value,
        send_default_pii=False,
        # Locals would carry passwords and the settings (SECRET_KEY) into the report.
        include_local_variables=False,
        before_send=_scrub_event,
        traces_sample_rate=0.0,
    )
    log.info("error_reporting.enabled")
