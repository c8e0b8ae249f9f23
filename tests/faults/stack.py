"""The whole product as separate processes (Temporal, worker, API) on one store, with real
sinks on loopback, for tests that break one part and watch the others."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from journeys.cli.dev.processes import Child, free_port
from journeys.store.db import create_db_engine, migrate, transaction
from journeys.store.tables import AcceptedEventRow, DeliveryRow, EntryRow
from tests.faults.processes import (
    ADMIN_KEY,
    journeys_api,
    journeys_worker,
    temporal_address,
    temporal_server,
)
from tests.sinks import HttpSink, SmtpSink

YAML = {"Content-Type": "application/yaml"}


@dataclass
class FaultStack:
    temporal: Child
    worker: Child
    api_process: Child
    api: httpx.Client
    engine: Engine
    smtp: SmtpSink
    sms: HttpSink
    phones: dict[str, str] = field(default_factory=dict)  # contact id -> phone

    def children(self) -> list[Child]:
        return [self.api_process, self.worker, self.temporal]

    def define(self, yaml_documents: str) -> None:
        """PUT each trigger and journey (YAML documents separated by ---), then publish the
        journeys, as `journeys apply` does."""
        for document in yaml_documents.split("\n---\n"):
            kind = _field(document, "kind")
            if kind == "Trigger":
                name = _field(document, "name")
                answer = self.api.put(f"/v1/triggers/{name}", content=document, headers=YAML)
                assert answer.status_code in (200, 201), answer.text
            else:
                journey = _field(document, "id")
                answer = self.api.put(f"/v1/journeys/{journey}", content=document, headers=YAML)
                assert answer.status_code in (200, 201), answer.text
                published = self.api.post(f"/v1/journeys/{journey}/publish")
                assert published.status_code == 200, published.text

    def contact(self, prefix: str, **fields: Any) -> str:
        """A new contact who consents to email and SMS; its id is also its address' name."""
        contact_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.phones[contact_id] = f"+1555{uuid.uuid4().int % 10**7:07d}"
        body = {
            "email": f"{contact_id}@example.com",
            "phone": self.phones[contact_id],
            "first_name": "Ada",
            "consent": {"email": True, "sms": True},
            **fields,
        }
        answer = self.api.put(f"/v1/contacts/{contact_id}", json=body)
        assert answer.status_code == 201, answer.text
        return contact_id

    def fire(self, trigger: str, contact_id: str, **body: Any) -> httpx.Response:
        return self.api.post(
            f"/v1/triggers/{trigger}/events", json={"contact_id": contact_id, **body}
        )

    def instance(self, journey: str, contact_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/v1/journeys/{journey}/instances/{contact_id}")
        return dict(answer.json()) if answer.status_code == 200 else {}

    def status(self, journey: str, contact_id: str) -> str | None:
        return self.instance(journey, contact_id).get("status")

    def deliveries(self, contact_id: str) -> list[DeliveryRow]:
        """The delivery ledger's rows for a contact, read from the store itself."""
        with transaction(self.engine) as session:
            rows = session.exec(select(DeliveryRow).where(DeliveryRow.contact_id == contact_id))
            return sorted(rows.all(), key=lambda row: (row.step, row.created_at))

    def entries(self, journey: str, contact_id: str) -> list[EntryRow]:
        """The entry ledger's rows: one per run the contact entered."""
        with transaction(self.engine) as session:
            rows = session.exec(
                select(EntryRow).where(
                    EntryRow.journey_id == journey, EntryRow.contact_id == contact_id
                )
            )
            return list(rows.all())

    def claimed(self, event_id: str) -> bool:
        """Whether a gateway has claimed the event id in the store (done or not)."""
        with transaction(self.engine) as session:
            return session.get(AcceptedEventRow, event_id) is not None

    def sms_to(self, contact_id: str) -> list[dict[str, Any]]:
        phone = self.phones[contact_id]
        return [r.json() for r in self.sms.posted_to("/sms") if r.json()["to"] == phone]


def _field(document: str, name: str) -> str:
    prefix = f"{name}:"
    return next(
        line.removeprefix(prefix).strip()
        for line in document.splitlines()
        if line.startswith(prefix)
    )


# The stack a test ran on: its processes' logs go into the report when the test fails.
RUNNING_STACK = pytest.StashKey[FaultStack]()


@contextmanager
def fault_stack(
    test: pytest.Item, data_dir: Path, database_url: str, smtp: SmtpSink, sms: HttpSink
) -> Iterator[FaultStack]:
    """Temporal (on a file), the worker and the API, each its own process; stopped after."""
    migrate(database_url)
    temporal = temporal_server(data_dir)
    api_port = free_port()
    env = {
        **temporal.env,
        "JOURNEYS_DATA_DIR": str(data_dir),
        "JOURNEYS_DATABASE_URL": database_url,
        "JOURNEYS_TEMPORAL_ADDRESS": temporal_address(temporal),
        "JOURNEYS_TASK_QUEUE": "faults",
        "JOURNEYS_API_KEY": ADMIN_KEY,
        "JOURNEYS_SIGNING_SECRET": "faults-signing-secret-Qm4Xv8Tz2Lk7Pw9Rb3Hs6Jd",
        "JOURNEYS_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "JOURNEYS_SMTP_HOST": "127.0.0.1",
        "JOURNEYS_SMTP_PORT": str(smtp.port),
        "JOURNEYS_SMS_WEBHOOK_URL": f"{sms.url}/sms",
        "JOURNEYS_CATALOG_REFRESH_SECONDS": "0.5",
        "JOURNEYS_LOG_LEVEL": "warning",
    }
    worker = journeys_worker(data_dir, env)
    api_process = journeys_api(data_dir, env, api_port)
    engine = create_db_engine(database_url)
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{api_port}",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    stack = FaultStack(temporal, worker, api_process, api, engine, smtp, sms)
    test.stash[RUNNING_STACK] = stack
    try:
        temporal.start()
        worker.spawn()  # the two start side by side: most of their start is imports
        api_process.spawn()
        worker.wait_ready()
        api_process.wait_ready()
        yield stack
    finally:
        for child in stack.children():
            child.stop()
        api.close()
        engine.dispose()
