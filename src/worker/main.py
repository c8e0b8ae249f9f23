"""Worker bootstrap: the client, the store, the providers, and the Temporal worker."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from journeys.definitions.templating import InIsolation
from journeys.ingest.catalog_cache import CatalogCache
from journeys.ingest.dispatch import Dispatcher
from journeys.ingest.ingestion import Ingestion
from journeys.ingest.ledger import EventLedger
from journeys.kit.isolated import Isolated
from journeys.messaging.tracking import Links, Tokens
from journeys.observability.tracing import propagate_trace
from journeys.settings import Settings
from journeys.store.db import create_db_engine
from journeys.temporal.client import connect
from worker.activities.activate import ActivateActivities
from worker.activities.send import SendActivities
from worker.activities.store import StoreActivities
from worker.activities.webhook import WebhookActivities
from worker.channels import PushProvider, SmsProvider
from worker.channels.fcm import FcmProvider
from worker.channels.smtp import SmtpProvider
from worker.channels.twilio import TwilioProvider
from worker.channels.webhook import WebhookProvider
from worker.destinations import public_client
from worker.sandbox import sandbox_for
from worker.workflows.journey import JourneyWorkflow
from worker.workflows.single_send import SingleSendWorkflow

log = logging.getLogger("journeys.worker")

# Every call to a provider or a `webhook` step's URL names the span it is made from.
TRACED = {"request": [propagate_trace]}


@contextmanager
def journey_activities(
    settings: Settings, engine: Engine, client: Client
) -> Iterator[list[Callable[..., Any]]]:
    """Every activity, with its store, providers and clients; HTTP connections are pooled and
    closed after."""
    catalog = CatalogCache(engine)
    ingestion = Ingestion(
        catalog,
        Dispatcher(client, settings.task_queue),
        EventLedger(engine, timedelta(hours=settings.event_id_window_hours)),
    )
    secret = settings.signing_secret.get_secret_value()
    with (
        httpx.Client(timeout=settings.provider_timeout_seconds, event_hooks=TRACED) as http,
        public_client(
            settings.webhook_allowed_networks, settings.provider_timeout_seconds, TRACED
        ) as webhook_http,
        Isolated(workers=settings.render_processes) as isolated,
    ):
        templates = InIsolation(isolated)
        store = StoreActivities(engine)
        sends = SendActivities(
            engine,
            Links(settings.public_url, Tokens(secret)),
            email=SmtpProvider.from_settings(settings),
            sms=sms_provider(settings, http),
            push=push_provider(settings, http),
            templates=templates,
        )
        webhooks = WebhookActivities(engine, secret, webhook_http, templates)
        activations = ActivateActivities(catalog, ingestion)
        yield [
            store.load_contact,
            store.enter_journey,
            store.record_outcome,
            store.record_run_events,
            store.record_end,
            activations.activate_trigger,
            webhooks.call_webhook,
            sends.send_email,
            sends.send_sms,
            sends.send_push,
        ]


def sms_provider(settings: Settings, http: httpx.Client) -> SmsProvider | None:
    if settings.twilio_account_sid:
        if settings.twilio_auth_token is None or settings.twilio_from is None:
            raise ValueError("Twilio needs JOURNEYS_TWILIO_AUTH_TOKEN and JOURNEYS_TWILIO_FROM")
        return TwilioProvider(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sender=settings.twilio_from,
            status_callback=f"{settings.public_url.rstrip('/')}/v1/channels/sms/events",
            client=http,
            base_url=settings.twilio_base_url,
        )
    if settings.sms_webhook_url:
        return WebhookProvider(
            settings.sms_webhook_url, settings.signing_secret.get_secret_value(), http
        )
    return None


def push_provider(settings: Settings, http: httpx.Client) -> PushProvider | None:
    if settings.fcm_project_id:
        if settings.fcm_credentials_file is None:
            raise ValueError("FCM needs JOURNEYS_FCM_CREDENTIALS_FILE")
        return FcmProvider(
            settings.fcm_project_id, settings.fcm_credentials_file, http, settings.fcm_base_url
        )
    if settings.push_webhook_url:
        return WebhookProvider(
            settings.push_webhook_url, settings.signing_secret.get_secret_value(), http
        )
    return None


def build_worker(
    client: Client,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    executor: ThreadPoolExecutor,
    slots: int,
    shutdown_grace: timedelta = timedelta(0),
    max_cached_workflows: int = 1000,
) -> Worker:
    """`executor` needs 2 x `slots` threads: `slots` activities and as many local activities
    (the store-only calls) run at once, each in a thread of its own, so that none waits for
    a thread while its timeout runs. On shutdown, activities in hand get `shutdown_grace`
    to finish before they are cancelled. `max_cached_workflows`: runs kept in memory between
    their workflow tasks (the SDK's default, 1000); the others replay their history first."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[JourneyWorkflow, SingleSendWorkflow],
        workflow_runner=sandbox_for(client.data_converter),
        activities=activities,
        # Activities are synchronous (SQLAlchemy, smtplib, httpx): one thread each.
        activity_executor=executor,
        max_concurrent_activities=slots,
        max_concurrent_local_activities=slots,
        graceful_shutdown_timeout=shutdown_grace,
        max_cached_workflows=max_cached_workflows,
    )


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime that serves the SDK's metrics (task latencies, slots, polls...) and
    ours (`journeys_messages_total`) for Prometheus, when an address is set."""
    if settings.worker_metrics_address is None:
        return None
    prometheus = PrometheusConfig(
        bind_address=settings.worker_metrics_address,
        # Counters keep the names Temporal documents (`temporal_request`,
        # `temporal_local_activity_total`): the suffix option appends `_total` to every one,
        # including those whose name already ends with it. Durations in `_seconds`.
        unit_suffix=True,
        durations_as_seconds=True,
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def run_worker(settings: Settings) -> None:
    client = await connect(settings, runtime=metrics_runtime(settings))
    engine = create_db_engine(settings.resolved_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        with (
            journey_activities(settings, engine, client) as activities,
            ThreadPoolExecutor(max_workers=2 * settings.worker_activity_threads) as executor,
        ):
            async with build_worker(
                client,
                settings.task_queue,
                activities,
                executor,
                settings.worker_activity_threads,
                timedelta(seconds=settings.worker_shutdown_grace_seconds),
                settings.worker_max_cached_workflows,
            ):
                log.info(
                    "worker polling %s on %s (namespace %s)",
                    settings.task_queue,
                    settings.temporal_address,
                    settings.temporal_namespace,
                )
                await stop.wait()
                log.info(
                    "worker stopping: the activities in hand have %s s to finish",
                    settings.worker_shutdown_grace_seconds,
                )
    finally:
        engine.dispose()
