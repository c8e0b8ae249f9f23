"""A worker on a fresh task queue, with a migrated SQLite store and real sinks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
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
from journeys.temporal import names
from journeys.temporal.runs import start_run
from tests.sinks import HttpSink, SmtpSink
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
    ) -> tuple[bool, WorkflowHandle[Any, Any]]:
        event = TriggerEvent(
            event_id=event_id or uuid.uuid4().hex,
            trigger=definition.start.trigger,
            contact_id=contact_id,
            occurred_at=datetime.now(UTC),
            attributes=attributes or {},
        )
        started = await start_run(self.env.client, self.task_queue, definition, version, event)
        handle = self.env.client.get_workflow_handle(
            names.workflow_id(definition.id, contact_id), result_type=Outcome
        )
        return started, handle


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
        sms_webhook_url=f"{http.url}/sms",
        push_webhook_url=f"{http.url}/push",
        public_url="http://journeys.test",
        signing_secret=SecretStr("test-secret"),
        api_key=SecretStr("test-admin-key"),
        task_queue=unique("journeys"),
        catalog_refresh_seconds=0.2,
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
