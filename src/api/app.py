"""The application factory and its lifespan, which owns the store engine and the Temporal client."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client
from temporalio.service import RetryConfig

from api.auth import Authenticator, RateLimiter
from api.docs import serve_docs
from api.errors import install_error_handlers
from api.limits import BodyLimits
from api.metrics import ApiMetrics, RequestMetrics
from api.openapi import document
from api.routes import ROUTERS, dev_outbox
from api.services import Services
from api.ui.editor.routes import router as editor_router
from api.ui.routes import router as dashboard_router
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.dispatch import Dispatcher
from journeys.ingest.ingestion import Ingestion
from journeys.ingest.interactions import Interactions
from journeys.ingest.ledger import EventLedger
from journeys.ingest.provider_events import ProviderEvents
from journeys.ingest.record_changes import RecordChanges
from journeys.kit.isolated import Isolated
from journeys.lifecycle.contacts import ContactLifecycle
from journeys.lifecycle.journeys import JourneyLifecycle
from journeys.lifecycle.triggers import TriggerLifecycle
from journeys.messaging.tracking import Tokens
from journeys.observability.tracing import redact_request_span, tracing_active
from journeys.settings import Settings
from journeys.store.db import create_db_engine
from journeys.temporal.client import connect

log = logging.getLogger("journeys.api")

# Fail over to a 503 within a few seconds when Temporal is away, instead of the SDK's default.
API_RETRY = RetryConfig(max_elapsed_time_millis=3000, max_retries=4)


async def _purge_event_ids(ledger: EventLedger, every_seconds: float = 3600) -> None:
    """Forget event ids older than the window, hourly; runs until cancelled."""
    while True:
        try:
            await ledger.purge()
        except SQLAlchemyError as error:
            log.warning("could not purge old event ids: %s", error)
        await asyncio.sleep(every_seconds)


def create_app(settings: Settings | None = None, *, temporal: Client | None = None) -> FastAPI:
    """The gateway. `temporal` replaces the client the lifespan would connect (tests)."""
    settings = settings or Settings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings.resolved_database_url)
        # Lazy: the API starts (and /readyz says why it is not ready) while Temporal is away.
        client = temporal or await connect(settings, lazy=True, retry_config=API_RETRY)
        catalog = CatalogCache(engine)
        await asyncio.to_thread(catalog.reload)
        ledger = EventLedger(engine, timedelta(hours=settings.event_id_window_hours))
        ingestion = Ingestion(
            catalog,
            Dispatcher(client, settings.task_queue),
            ledger,
            observe=metrics.accepted,
        )
        interactions = Interactions(engine, client, observe=metrics.signal_sent)
        secret = settings.signing_secret.get_secret_value()
        isolated = Isolated(workers=settings.render_processes)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            temporal=client,
            catalog=catalog,
            auth=Authenticator(
                engine,
                settings.api_key.get_secret_value() if settings.api_key else None,
                secret,
            ),
            rate_limiter=RateLimiter(settings.rate_limit_per_key),
            tokens=Tokens(secret),
            metrics=metrics,
            ingestion=ingestion,
            records=RecordChanges(engine, ingestion),
            interactions=interactions,
            provider_events=ProviderEvents(engine, interactions),
            journeys=JourneyLifecycle(engine, catalog, client, settings.task_queue),
            triggers=TriggerLifecycle(engine, catalog),
            contacts=ContactLifecycle(engine, client, settings.task_queue),
            isolated=isolated,
        )
        background = [
            asyncio.create_task(catalog.watch(settings.catalog_refresh_seconds)),
            asyncio.create_task(_purge_event_ids(ledger)),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await asyncio.to_thread(isolated.close)
            engine.dispose()

    app = FastAPI(
        title="Journeys",
        summary="Trigger-based customer journeys, made durable by Temporal.",
        version="0.1.0",
        lifespan=lifespan,
        # Metrics are Prometheus' (api.metrics); FastAPI's own OpenTelemetry is asked only
        # for traces, and only when they are exported: otherwise it would look for a
        # configured provider on every request.
        telemetry={"tracing": tracing_active(), "metrics": False, "logs": False},
        docs_url=None,  # served by api.docs, with no CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    serve_docs(app)
    document(app)
    app.add_middleware(
        BodyLimits, max_bytes=settings.max_body_bytes, max_seconds=settings.body_timeout_seconds
    )
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: counts 413s too
    if tracing_active():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="healthz,readyz,metrics", server_request_hook=redact_request_span
        )
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(editor_router)  # before the dashboard's /ui/journeys/{id}
    app.include_router(dashboard_router)
    if settings.dev_outbox:
        app.include_router(dev_outbox.router)
    return app
