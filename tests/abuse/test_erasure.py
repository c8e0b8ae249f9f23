"""Erasure that leaves nothing: after DELETE /v1/contacts/{id}, a search of every byte of the
store (database file and write-ahead log) finds neither the contact's id nor its address,
while the anonymous counts and the suppression of the address remain."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from journeys.store.db import transaction
from journeys.store.deliveries import find_delivery, settle
from journeys.store.suppressions import is_suppressed
from journeys.store.tables import DeliveryRow, RunEventRow, SuppressionRow
from tests.api.stack import Stack, api_stack
from tests.sinks import HttpSink, SmtpSink, eventually, outcome_of

LINKED = """
kind: Journey
id: linked
name: A text with a link made for the contact
start: {trigger: contact.created}
steps:
  - id: code
    sms:
      text: "Your offer: https://shop.example.com/offer?for={{ contact.email }}"
  - id: hello
    email: {subject: "Hello {{ contact.first_name }}", text: "Hi"}
  - id: later
    wait: P1D
  - id: again
    email: {subject: "Again", text: "Hi again"}
"""


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> AsyncIterator[Stack]:
    async with api_stack(temporal_env, tmp_path, smtp_sink, http_sink) as stack:
        await stack.put_triggers()
        put = await stack.api.put(
            "/v1/journeys/linked", content=LINKED, headers={"Content-Type": "application/yaml"}
        )
        assert put.status_code == 201, put.text
        assert (await stack.api.post("/v1/journeys/linked/publish")).status_code == 200
        yield stack


async def test_nothing_of_an_erased_contact_is_left_in_the_store(
    stack: Stack,
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
    smtp_sink: SmtpSink,
    http_sink: HttpSink,
) -> None:
    contact = await stack.contact("zoe", phone="+33698765432", consent={"sms": True})
    email = f"{contact}@example.com"
    engine = stack.harness.engine
    with temporal_env.with_time_skipping_disabled():
        assert (await stack.fire("contact.created", contact_id=contact)).json()["started"]
        await eventually(lambda: smtp_sink.to(email))
        [sms] = [r for r in http_sink.requests if r.path == "/sms"]
        short_link = re.search(r"https?://\S+/t/c/\w+", sms.body.decode())
        assert short_link is not None
        # A provider's refusal quoting the address, and a complaint: the address suppressed.
        with transaction(engine) as session:
            hello = session.exec(
                select(DeliveryRow).where(
                    DeliveryRow.contact_id == contact, DeliveryRow.step == "hello"
                )
            ).one()
            settle(
                session,
                hello,
                hello.status,
                reason=f"recipient refused: {{'{email}': (550, b'no')}}",
            )
        complaint = {"message_id": hello.message_id, "event": "complained"}
        assert (
            await stack.api.post("/v1/channels/email/events", json=complaint)
        ).status_code == 202

        erased = await stack.api.delete(f"/v1/contacts/{contact}")
        assert erased.status_code == 200, erased.text
        # The run ends after the erasure, and writes what it did then: under the pseudonym.
        await outcome_of(temporal_env.client.get_workflow_handle(f"journey/linked/{contact}"))

    link = await stack.api.get(short_link.group(0).split("journeys.test")[-1])
    assert link.status_code == 404
    with transaction(engine) as session:
        assert is_suppressed(session, "email", email)  # still works, without the address
        assert all(email not in row.address for row in session.exec(select(SuppressionRow)))
        assert find_delivery(session, hello.message_id) is not None  # counted, anonymous
        late = session.exec(select(RunEventRow).where(RunEventRow.contact_id == contact)).all()
        assert late == []
    engine.dispose()  # every connection closed: the files are what is left
    for name, data in await asyncio.to_thread(store_files, tmp_path):
        for secret in (contact, email, "+33698765432"):
            assert secret.encode() not in data, f"{secret!r} is still in {name}"


def store_files(directory: Path) -> list[tuple[str, bytes]]:
    """The SQLite store's files (database, write-ahead log), byte for byte."""
    return [(path.name, path.read_bytes()) for path in sorted(directory.glob("journeys.db*"))]


BRANCHING = """
kind: Journey
id: by-plan
name: Reads one field of the contact
start: {trigger: contact.created}
steps:
  - id: plan
    branch:
      - when: {attr: contact.plan, op: eq, value: gold}
        steps:
          - {id: gold, email: {subject: "Gold for {{ contact.first_name }}", text: "Gold"}}
"""


async def test_a_runs_history_keeps_only_the_contact_fields_it_reads(
    stack: Stack, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    """Temporal keeps a run's history past an erasure, until its retention ends: only what
    the run's conditions read of the contact goes there (the email is rendered from the
    store, in the send)."""
    put = await stack.api.put(
        "/v1/journeys/by-plan", content=BRANCHING, headers={"Content-Type": "application/yaml"}
    )
    assert put.status_code == 201, put.text
    assert (await stack.api.post("/v1/journeys/by-plan/publish")).status_code == 200
    contact = await stack.contact(
        "kim", phone="+33611223344", first_name="Kimberly", attributes={"plan": "gold"}
    )
    with temporal_env.with_time_skipping_disabled():
        assert (
            "by-plan" in (await stack.fire("contact.created", contact_id=contact)).json()["started"]
        )
        handle = temporal_env.client.get_workflow_handle(f"journey/by-plan/{contact}")
        await outcome_of(handle)
    subjects = [m["Subject"] for m in smtp_sink.to(f"{contact}@example.com")]
    assert "Gold for Kimberly" in subjects
    history = payloads(await handle.fetch_history())
    assert '"plan":"gold"' in history
    for personal in (f"{contact}@example.com", "+33611223344", "Kimberly"):
        assert personal not in history, personal


def payloads(history: WorkflowHistory) -> str:
    """Every payload of a history, decoded: what Temporal keeps of the run."""
    encoded = re.findall(r'"data": "([A-Za-z0-9+/=]+)"', history.to_json())
    return "\n".join(base64.b64decode(data).decode(errors="replace") for data in encoded)
