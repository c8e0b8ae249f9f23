"""Metrics and traces, as an operator's Prometheus and OpenTelemetry collector see them."""

from __future__ import annotations

import logging
import platform
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.contrib.opentelemetry import create_tracer_provider
from temporalio.testing import WorkflowEnvironment

from journeys.cli.dev.processes import free_port
from journeys.observability.logs import TraceIdFilter
from journeys.observability.tracing import temporal_plugins, tracing_active
from journeys.settings import Settings
from journeys.temporal.converter import data_converter
from tests.api.stack import Stack, api_stack
from tests.api.test_authoring import contact, publish
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of
from tests.worker.harness import running_worker
from tests.worker.test_workflow import WELCOME, new_contact
from worker.main import metrics_runtime

WAITING = """
kind: Journey
id: metered
name: Metered
start: {trigger: contact.created}
steps:
  - {id: visit, wait_for: {trigger: visit.made, within: P1D}}
"""


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def families(text: str) -> dict[str, Metric]:
    """The metric families of a Prometheus text page, by name, as Prometheus' parser reads
    them (a counter's family drops its `_total`)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in page.items() if n == name and wanted <= have)


async def test_the_gateway_counts_requests_events_runs_and_misses(stack: Stack) -> None:
    assert (await stack.api.put("/v1/triggers/visit.made", json={"name": "visit.made"})).is_success
    await publish(stack, WAITING)
    ada = await contact(stack)
    first = await stack.fire("contact.created", contact_id=ada, event_id="e-1")
    assert first.json()["started"] == ["metered"]
    again = await stack.fire("contact.created", contact_id=ada, event_id="e-1")
    assert again.json()["duplicate"] is True
    assert (await stack.fire("visit.made", contact_id=ada)).json()["signaled"] == ["metered"]
    assert (await stack.fire("visit.made", contact_id="nobody")).json()["signaled"] == []
    unknown = {"message_id": "not-ours", "event": "delivered"}
    assert (await stack.api.post("/v1/channels/email/events", json=unknown)).status_code == 202
    assert (await stack.api.get("/v1/journeys/nope")).status_code == 404

    page = await stack.api.get("/metrics", headers={"Authorization": ""})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    metrics = samples(page.text)
    events_route = "/v1/triggers/{name}/events"
    assert value(metrics, "journeys_http_requests_total", route=events_route, status="202") == 4
    journey_route = "/v1/journeys/{journey_id}"
    assert value(metrics, "journeys_http_requests_total", method="GET", route=journey_route) == 1
    assert value(metrics, "journeys_http_request_duration_seconds_count", route=events_route) == 4
    assert value(metrics, "journeys_events_total", outcome="accepted") == 3
    assert value(metrics, "journeys_events_total", outcome="duplicate") == 1
    assert value(metrics, "journeys_runs_dispatched_total", action="started") == 1
    assert value(metrics, "journeys_runs_dispatched_total", action="signaled") == 1
    assert value(metrics, "journeys_signals_not_found_total") == 1
    assert value(metrics, "journeys_provider_events_total", channel="email", outcome="ignored") == 1
    # Raw paths (with contact ids in them) never become labels.
    assert not any("nobody" in str(labels) or ada in str(labels) for _, labels in metrics)


async def test_the_gateway_serves_process_and_python_metrics_and_no_created_series(
    stack: Stack,
) -> None:
    ada = await contact(stack)
    assert (await stack.fire("contact.created", contact_id=ada)).status_code == 202

    page = families((await stack.api.get("/metrics", headers={"Authorization": ""})).text)
    assert page["process_cpu_seconds"].type == "counter"
    assert page["process_resident_memory_bytes"].samples[0].value > 0
    assert page["process_open_fds"].samples[0].value > 0
    [info] = page["python_info"].samples
    assert info.labels["implementation"] == platform.python_implementation()
    assert info.labels["version"] == platform.python_version()
    assert page["python_gc_objects_collected"].type == "counter"
    # Counters and histograms of ours are there, without a `_created` series beside them.
    assert page["journeys_events"].samples and page["journeys_http_request_duration_seconds"]
    created = [s.name for f in page.values() for s in f.samples if s.name.endswith("_created")]
    assert created == []


async def own_client(env: WorkflowEnvironment, **options: Any) -> Client:
    """A client of the session's server with its own runtime or plugins, as a process has."""
    return await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=data_converter,
        **options,
    )


async def test_the_worker_serves_sdk_metrics_and_sends_by_channel_and_outcome(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> None:
    address = f"127.0.0.1:{free_port()}"
    runtime = metrics_runtime(Settings(worker_metrics_address=address))
    client = await own_client(temporal_env, runtime=runtime)
    async with running_worker(temporal_env, tmp_path, smtp_sink, http_sink, client) as h:
        ada, _ = new_contact(h)
        _, handle = await h.start(WELCOME, ada)
        await outcome_of(handle)  # welcome, three days unopened (skipped), then the reminder
        async with httpx.AsyncClient() as scraper:
            text = (await scraper.get(f"http://{address}/metrics")).text
    # Prometheus' parser reads a counter exposed as `temporal_workflow_completed` (Temporal's
    # name) as the family `temporal_workflow_completed` of `..._total` samples.
    metrics, page = samples(text), families(text)
    queue = h.task_queue
    sent = value(metrics, "journeys_messages_total", task_queue=queue, channel="email")
    assert sent == 2
    assert value(metrics, "journeys_messages_total", task_queue=queue, outcome="sent") == 2
    assert value(metrics, "temporal_workflow_completed_total", task_queue=queue) == 1
    # The sends ran as local activities: their latencies are histograms of their own.
    latency = "temporal_local_activity_execution_latency_seconds_count"
    assert value(metrics, latency, task_queue=queue) > 0
    # Temporal's counter `local_activity_total` is not suffixed a second time.
    assert page["temporal_local_activity"].type == "counter"
    assert value(metrics, "temporal_local_activity_total", task_queue=queue) > 0
    assert [name for name, _ in metrics if name.endswith("_total_total")] == []


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, as `OTEL_EXPORTER_OTLP_ENDPOINT` turns it on, but into memory.

    OpenTelemetry allows one global provider per process: it stays for the session, which
    is harmless (only clients built with the plugin, and apps built after, trace)."""
    exporter = InMemorySpanExporter()
    if not tracing_active():
        trace.set_tracer_provider(create_tracer_provider())
    provider = trace.get_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    yield exporter
    exporter.shutdown()  # keeps nothing more for the rest of the session


RunTraced = Callable[..., Awaitable[None]]


@pytest.fixture
def run_traced(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> RunTraced:
    """Publish a journey (started by contact.created) on a gateway and a worker that trace,
    and run it to its end for a new contact with the given fields."""

    async def run(journey: str, **contact_fields: Any) -> None:
        client = await own_client(temporal_env, plugins=temporal_plugins())
        async with api_stack(temporal_env, tmp_path, smtp_sink, http_sink, client) as stack:
            await publish(stack, journey)
            ada = await contact(stack, **contact_fields)
            fired = await stack.fire("contact.created", contact_id=ada)
            [journey_id] = fired.json()["started"]
            await outcome_of(client.get_workflow_handle(f"journey/{journey_id}/{ada}"))

    return run


async def test_one_trace_from_the_request_through_the_workflow_to_the_smtp_call(
    spans: InMemorySpanExporter, run_traced: RunTraced
) -> None:
    journey = """
kind: Journey
id: traced
name: Traced
start: {trigger: contact.created}
steps:
  - {id: hello, email: {subject: Traced hello, text: Hi}}
"""
    await run_traced(journey)
    await eventually(lambda: _named(spans.get_finished_spans(), "send email"))

    finished = spans.get_finished_spans()
    [request] = [s for s in _named(finished, "POST /v1/triggers/{name}/events") if s.parent is None]
    [send] = _named(finished, "send email")
    assert send.context is not None and request.context is not None
    assert send.context.trace_id == request.context.trace_id
    # The send descends from the request, through the workflow and its activity.
    by_id = {s.context.span_id: s for s in finished if s.context is not None}
    chain, span = [], send
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span.name)
    assert span is request
    assert any("send_email" in name for name in chain), chain
    assert any("JourneyWorkflow" in name for name in chain), chain


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def test_log_lines_carry_the_trace_id(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(TraceIdFilter())
    caplog.handler.setFormatter(logging.Formatter("%(message)s%(trace)s"))
    log = logging.getLogger("journeys.test")
    with trace.get_tracer("test").start_as_current_span("work") as span:
        log.warning("inside")
    log.warning("outside")
    trace_id = f"{span.get_span_context().trace_id:032x}"
    assert caplog.text.splitlines() == [f"inside trace={trace_id}", "outside"]


async def test_request_spans_mask_capability_tokens_and_contact_ids(
    spans: InMemorySpanExporter, stack: Stack
) -> None:
    ada = await contact(stack)
    secret = "s3cr3t-token-value"
    await stack.api.get(f"/t/o/{secret}")
    await stack.api.get(f"/t/c/{secret}")
    await stack.api.get(f"/u/{secret}")
    await stack.api.get(f"/ui/login/link?token={secret}&next=1")
    await stack.api.get(f"/v1/contacts/{ada}")
    await stack.api.get(f"/v1/journeys/welcome/instances/{ada}")

    servers = [s.attributes or {} for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    targets = {attributes.get("http.target") for attributes in servers}
    assert {
        "/t/o/<token>",
        "/t/c/<token>",
        "/u/<token>",
        "/v1/contacts/<contact>",
        "/v1/journeys/welcome/instances/<contact>",
    } <= targets
    urls = {attributes.get("http.url") for attributes in servers}
    assert {
        "http://journeys.test/t/o/<token>",
        "http://journeys.test/ui/login/link?token=<token>&next=1",
    } <= urls
    # Nowhere in any span: names, attributes and events alike.
    for span in spans.get_finished_spans():
        assert secret not in span.to_json() and ada not in span.to_json(), span.name


async def test_outgoing_calls_carry_the_w3c_traceparent_of_their_span(
    spans: InMemorySpanExporter, run_traced: RunTraced, http_sink: HttpSink
) -> None:
    journey = f"""
kind: Journey
id: propagated
name: Propagated
start: {{trigger: contact.created}}
steps:
  - {{id: text, sms: {{text: Hi}}}}
  - {{id: score, webhook: {{url: "{http_sink.url}/score"}}}}
"""
    await run_traced(journey, phone="+33612345678", consent={"sms": True})

    calls = {call.path: call for call in http_sink.requests}
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished if s.context is not None}
    parents = {}
    for path in ("/sms", "/score"):
        extracted = TraceContextTextMapPropagator().extract(calls[path].headers)
        parent = trace.get_current_span(extracted).get_span_context()
        assert parent.is_valid and parent.is_remote, path
        parents[path] = by_id[parent.span_id]  # a span of ours, in this run's trace
    assert parents["/sms"].name == "send sms"
    assert "call_webhook" in parents["/score"].name
    # Both calls belong to the trace of the event that started the run.
    roots = {
        s.context.trace_id
        for s in _named(finished, "POST /v1/triggers/{name}/events")
        if s.parent is None and s.context is not None
    }
    [trace_id] = {p.context.trace_id for p in parents.values() if p.context is not None}
    assert trace_id in roots
