"""A worker on a fresh task queue, with a migrated SQLite store and real sinks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from journeys.contacts.model import ContactChanges
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.engine.state import Outcome
from journeys.settings import Settings
from journeys.store.contacts import upsert_contact
from journeys.store.db import create_db_engine, migrate, transaction
from journeys.store.entries import Entry, admit, entry_lock
from journeys.store.journeys import LiveJourney
from journeys.store.locks import hold
from journeys.temporal import names
from journeys.temporal.messages import JourneyInput
from journeys.temporal.runs import start_run
from tests.sinks import HttpSink, SmtpSink
from worker.destinations import LOOPBACK
from worker.main import build_worker, journey_activities

SLOTS = 8  # activities, and as many local activities, at once


@dataclass
class Harness:
    env: WorkflowEnvironment
    engine: Engine
    settings: Settings

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue

    def contact(self, contact_id: str, **fields: Any) -> None:
        with transaction(self.engine) as session:
            upsert_contact(session, contact_id, ContactChanges.model_validate(fields))

    async def start(
        self,
        definition: JourneyDefinition,
        contact_id: str,
        attributes: dict[str, Any] | None = None,
        event_id: str | None = None,
        version: int = 1,
        binding_id: str | None = None,
    ) -> tuple[Entry, WorkflowHandle[Any, Any]]:
        """Admit the contact as the gateway does (the entry ledger decides, under the
        contact's lock), then begin the admitted run. The handle is the admitted run's, or
        for a refused entry the contact's run that would have been."""
        event = self.event(definition, contact_id, attributes, event_id, binding_id)
        now = datetime.now(UTC)
        journey = LiveJourney(definition, version)
        binding = binding_id if journey.per_binding else None
        with transaction(self.engine) as session:
            hold(session, [entry_lock(definition.id, contact_id, binding)])
            entry = admit(session, journey, event, now=now, retries_since=now - timedelta(days=1))
        if entry.admitted and entry.workflow_id:
            await start_run(
                self.env.client,
                self.task_queue,
                definition,
                version,
                event,
                instance_id=entry.instance_id,
                workflow_id=entry.workflow_id,
            )
        workflow_id = entry.workflow_id or names.workflow_id(definition.id, contact_id, binding)
        return entry, self.env.client.get_workflow_handle(workflow_id, result_type=Outcome)

    async def start_unadmitted(
        self, definition: JourneyDefinition, contact_id: str, version: int = 1
    ) -> WorkflowHandle[Any, Any]:
        """Begin a run as the previous release did: without an entry, so that the run asks
        the ledger itself (runs in flight across the upgrade do)."""
        event = self.event(definition, contact_id)
        workflow_id = names.workflow_id(definition.id, contact_id)
        return await self.env.client.start_workflow(
            names.JOURNEY_WORKFLOW,
            JourneyInput(definition=definition, version=version, start=event),
            id=workflow_id,
            task_queue=self.task_queue,
            result_type=Outcome,
        )

    @staticmethod
    def event(
        definition: JourneyDefinition,
        contact_id: str,
        attributes: dict[str, Any] | None = None,
        event_id: str | None = None,
        binding_id: str | None = None,
    ) -> TriggerEvent:
        return TriggerEvent(
            event_id=event_id or uuid.uuid4().hex,
            trigger=definition.start.trigger,
            contact_id=contact_id,
            binding_id=binding_id,
            occurred_at=datetime.now(UTC),
            attributes=attributes or {},
        )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment,
    tmp_path: Path,
    smtp: SmtpSink,
    http: HttpSink,
    client: Client | None = None,
) -> AsyncIterator[Harness]:
    """`client`: the worker's own (with tracing or metrics), instead of the environment's."""
    client = client or env.client
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    settings = Settings(
        database_url=url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        email_from="Shop <news@shop.example.com>",
        sms_webhook_url=f"{http.url}/sms",
        push_webhook_url=f"{http.url}/push",
        public_url="http://journeys.test",
        signing_secret=SecretStr("test-secret"),
        api_key=SecretStr("test-admin-key"),
        task_queue=unique("journeys"),
        catalog_refresh_seconds=0.2,
        webhook_allowed_networks=list(LOOPBACK),  # the HTTP sink
    )
    engine = create_db_engine(url)
    try:
        with (
            journey_activities(settings, engine, client) as activities,
            ThreadPoolExecutor(max_workers=2 * SLOTS) as executor,
        ):
            async with build_worker(client, settings.task_queue, activities, executor, SLOTS):
                yield Harness(env, engine, settings)
    finally:
        engine.dispose()
