"""A send activity run again with the same request sends nothing twice: the delivery ledger
answers what the first run did. The workflow relies on it when a send's local attempt is
retried, when the attempts hand over to an ordinary activity, and when a worker died after
a send it had not reported yet (its workflow task is then run again)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from journeys.definitions.journeys import EmailMessage
from journeys.engine.commands import SendSettled, SendStatus
from journeys.store.db import transaction
from journeys.store.tables import DeliveryRow
from tests.sinks import SmtpSink
from tests.worker.harness import Harness, unique
from worker.contracts import SEND_EMAIL, SendRequest
from worker.main import journey_activities


async def test_a_send_run_again_with_the_same_request_sends_once(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: SmtpSink
) -> None:
    contact = unique("ada")
    h.contact(contact, email=f"{contact}@example.com", first_name="Ada", consent={"email": True})
    request = SendRequest(
        instance_id=unique("run"),
        journey_id="welcome",
        journey_name="Welcome",
        version=1,
        contact_id=contact,
        step="hello",
        iteration=1,
        workflow_id=f"journey/welcome/{contact}",
        message=EmailMessage(subject="Hello", text="Hello {{ contact.first_name }}"),
        trigger={},
        at=datetime.now(UTC),
    )
    with journey_activities(h.settings, h.engine, temporal_env.client) as activities:
        [send] = [a for a in activities if getattr(a, "__name__", None) == SEND_EMAIL.name]
        settled: list[SendSettled] = [ActivityEnvironment().run(send, request) for _ in range(2)]

    assert settled[0].status is SendStatus.SENT
    assert settled[1] == settled[0]  # the ledger's answer, not a second send
    assert len(smtp_sink.to(f"{contact}@example.com")) == 1
    with transaction(h.engine) as session:
        row = session.get(DeliveryRow, settled[0].message_id)
        assert row is not None and row.status == "sent"
