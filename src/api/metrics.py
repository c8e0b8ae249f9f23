"""The gateway's Prometheus metrics, served at `/metrics`.

Each app has its own registry, so that several apps in one process (tests) do not clash.
Routes are labelled by their template (`/v1/triggers/{name}/events`), never by the raw path,
which holds contact ids and would grow without bound. Beside ours, the page holds the client
library's own `process_*` and `python_*` collectors, as a Python exporter is expected to.

Several processes serving one port (`JOURNEYS_API_PROCESSES`) each count what they answer,
and a scrape reaches one of them: they then count into files of a shared directory
(prometheus_client's multiprocess mode, `shared_between_processes`), and every process's
page is the sum of those files. The `process_*` and `python_gc_*` figures of one process
would pass for the whole API's there, so they are left out.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from journeys.ingest.contracts import Accepted

UNMATCHED = "unmatched"
SHARED_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client as it is imported

# A `_created` series per counter and histogram doubles the series for a start time that
# Prometheus does not use (it detects counter resets itself).
disable_created_metrics()  # type: ignore[no-untyped-call]


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        if SHARED_DIRECTORY in os.environ:
            # Ours count into the shared files too: the page reads every process's there.
            self.page = CollectorRegistry()
            MultiProcessCollector(self.page)  # type: ignore[no-untyped-call]
        else:
            self.page = self.registry
            ProcessCollector(registry=self.page)
            GCCollector(registry=self.page)
        PlatformCollector(registry=self.page)
        self.requests = Counter(
            "journeys_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "journeys_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.events = Counter(
            "journeys_events",
            "Trigger events taken, by outcome: accepted, or a duplicate of one accepted.",
            ["outcome"],
            registry=self.registry,
        )
        self.runs = Counter(
            "journeys_runs_dispatched",
            "Runs reached by trigger events: started, or signalled while running.",
            ["action"],
            registry=self.registry,
        )
        self.signals_missed = Counter(
            "journeys_signals_not_found",
            "Signals for a run that was not there (ended, or never started).",
            registry=self.registry,
        )
        self.provider_events = Counter(
            "journeys_provider_events",
            "Events from channel providers, by channel and outcome (accepted or ignored).",
            ["channel", "outcome"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The page in Prometheus' text format."""
        return generate_latest(self.page)

    def accepted(self, accepted: Accepted) -> None:
        """Count one event that Ingestion accepted."""
        self.events.labels("duplicate" if accepted.duplicate else "accepted").inc()
        if accepted.started:
            self.runs.labels("started").inc(len(accepted.started))
        if accepted.signaled:
            self.runs.labels("signaled").inc(len(accepted.signaled))
        if accepted.missed:
            self.signals_missed.inc(len(accepted.missed))

    def signal_sent(self, reached: bool) -> None:
        """Count a signal raised outside Ingestion (opens, clicks, provider events)."""
        if reached:
            self.runs.labels("signaled").inc()
        else:
            self.signals_missed.inc()


@contextmanager
def shared_between_processes() -> Iterator[None]:
    """While it lasts, API processes started from here count into one fresh directory (it
    must start empty: counts left by an earlier run would be added)."""
    with tempfile.TemporaryDirectory(prefix="journeys-metrics-") as directory:
        os.environ[SHARED_DIRECTORY] = directory
        try:
            yield
        finally:
            del os.environ[SHARED_DIRECTORY]


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by route template and status."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED)
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
