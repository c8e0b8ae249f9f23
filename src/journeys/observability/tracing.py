"""Traces: one per trigger event, from the HTTP request through the workflow and its
activities to the SMTP or HTTP call that sends the message.

Tracing is on when OpenTelemetry's own `OTEL_EXPORTER_OTLP_ENDPOINT` (or its traces-only
variant) is set: spans then go out by OTLP over HTTP, configured by the standard `OTEL_*`
variables (headers, service name, sampler...). When it is not set, nothing is installed
and nothing is exported: no cost on the hot path.

Temporal's plugin needs its replay-safe tracer provider as the process's global one (a
workflow replaying its history must not emit its spans again), so everything here keys on
that: whoever installs one (this module, or a test with an in-memory exporter) turns
tracing on for the gateway and the worker alike.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from opentelemetry import propagate, trace
from temporalio.contrib.opentelemetry import (
    OpenTelemetryPlugin,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)
from temporalio.plugin import SimplePlugin

from journeys.observability.logs import redact

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Where OpenTelemetry's HTTP server instrumentation writes the request's URL, in the old and
# the stable semantic conventions (`OTEL_SEMCONV_STABILITY_OPT_IN` chooses).
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.path", "url.query")


def configure_tracing(service_name: str) -> bool:
    """Install the OTLP-exporting tracer provider if an endpoint is configured, once per
    process. Whether tracing is on."""
    if tracing_active():
        return True
    if not any(os.environ.get(name) for name in _ENDPOINTS):
        return False
    # Imported only when tracing is on: the exporter brings protobuf and requests along.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get(OTEL_SERVICE_NAME) or service_name
    provider = create_tracer_provider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def tracing_active() -> bool:
    return isinstance(trace.get_tracer_provider(), ReplaySafeTracerProvider)


def temporal_plugins() -> list[SimplePlugin]:
    """What a Temporal client needs to carry the trace into workflows and activities (its
    workers inherit the plugin)."""
    return [OpenTelemetryPlugin(add_temporal_spans=True)] if tracing_active() else []


def redact_request_span(span: trace.Span, scope: dict[str, Any]) -> None:
    """The HTTP server span's URL without its capability tokens and contact ids, masked as
    log lines are (a hook of OpenTelemetry's ASGI instrumentation, run as the span starts)."""
    attributes = getattr(span, "attributes", None) or {}
    for name in _URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, redact(value))


def propagate_trace(request: httpx.Request) -> None:
    """Give an outgoing call W3C `traceparent` (and `tracestate`) headers naming the current
    span, so that the provider's or the webhook's own traces join ours. Nothing is added
    outside a trace (tracing off)."""
    propagate.inject(request.headers)
