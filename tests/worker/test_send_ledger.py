"""A send activity run again with the same request sends nothing twice: the delivery ledger
answers what the first run did. The workflow relies on it when a send's local attempt is
retried, when the attempts hand over to an ordinary activity, and when a worker died after
a send it had not reported yet (its workflow task is then run again).

One attempt at a time hands a message to its provider: an attempt run again elsewhere while
the first may still be sending (its worker lost Temporal for a while) waits for the
ledger's claim instead of sending the message twice, and an attempt that fails before the
provider took the message gives its claim back at once."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from journeys.cli.dev.processes import free_port, wait_until
from journeys.definitions.journeys import EmailMessage
from journeys.engine.commands import SendStatus
from journeys.store.db import transaction
from journeys.store.deliveries import message_id_for
from journeys.store.tables import DeliveryRow
from tests.faults.smtp_faults import RefusingSmtp, Stall, StallingSmtpSink
from tests.worker.harness import Harness, unique
from worker.contracts import SEND_EMAIL, SendRequest
from worker.main import journey_activities


@pytest.fixture
def smtp_sink() -> Iterator[StallingSmtpSink]:
    sink = StallingSmtpSink()
    sink.start()
    yield sink
    sink.release()
    sink.stop()


def _request(h: Harness) -> SendRequest:
    contact = unique("ada")
    h.contact(contact, email=f"{contact}@example.com", first_name="Ada", consent={"email": True})
    return SendRequest(
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


def _the_send(activities: list[Callable[..., Any]]) -> Callable[..., Any]:
    [send] = [a for a in activities if getattr(a, "__name__", None) == SEND_EMAIL.name]
    return send


def _row(h: Harness, message_id: str) -> DeliveryRow:
    with transaction(h.engine) as session:
        row = session.get(DeliveryRow, message_id)
        assert row is not None
        session.expunge(row)
        return row


async def test_a_send_run_again_with_the_same_request_sends_once(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: StallingSmtpSink
) -> None:
    request = _request(h)
    with journey_activities(h.settings, h.engine, temporal_env.client) as activities:
        send = _the_send(activities)
        settled = [ActivityEnvironment().run(send, request) for _ in range(2)]

    assert settled[0].status is SendStatus.SENT
    assert settled[1] == settled[0]  # the ledger's answer, not a second send
    assert len(smtp_sink.to(f"{request.contact_id}@example.com")) == 1
    assert _row(h, settled[0].message_id).status == "sent"


async def test_an_attempt_started_while_another_sends_waits_for_it(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: StallingSmtpSink
) -> None:
    request = _request(h)
    address = f"{request.contact_id}@example.com"
    smtp_sink.stall(address, Stall.BEFORE_ACCEPT)
    with (
        journey_activities(h.settings, h.engine, temporal_env.client) as activities,
        ThreadPoolExecutor(1) as pool,
    ):
        send = _the_send(activities)
        first = pool.submit(ActivityEnvironment().run, send, request)
        wait_until(lambda: address in smtp_sink.held)  # inside the SMTP conversation
        # Were the second attempt to decide, it would block the message and record that
        # over the first one's send: it must wait for the claim instead.
        h.contact(request.contact_id, consent={"email": False})
        with pytest.raises(ApplicationError) as refused:
            ActivityEnvironment().run(send, request)
        smtp_sink.release()
        settled = first.result(timeout=30)
        again = ActivityEnvironment().run(send, request)

    assert refused.value.type == "SendingElsewhere"
    assert "not sent twice" in refused.value.message
    delay = refused.value.next_retry_delay
    assert delay is not None and timedelta(0) < delay <= timedelta(seconds=60)
    assert settled.status is SendStatus.SENT and again == settled
    assert len(smtp_sink.to(address)) == 1
    assert _row(h, settled.message_id).sending_until is None


async def test_an_attempt_that_fails_before_the_handover_frees_the_next_at_once(
    h: Harness, temporal_env: WorkflowEnvironment, smtp_sink: StallingSmtpSink
) -> None:
    request = _request(h)
    down = RefusingSmtp(free_port()).start()
    try:
        outage = h.settings.model_copy(update={"smtp_port": down.port})
        with (
            journey_activities(outage, h.engine, temporal_env.client) as activities,
            pytest.raises(smtplib.SMTPConnectError, match="Service not available"),
        ):
            ActivityEnvironment().run(_the_send(activities), request)
    finally:
        down.stop()
    assert down.attempts == 1
    assert (
        _row(h, message_id_for(request.workflow_id, request.instance_id, "hello", 1)).sending_until
        is None
    )

    with journey_activities(h.settings, h.engine, temporal_env.client) as activities:
        settled = ActivityEnvironment().run(_the_send(activities), request)
    assert settled.status is SendStatus.SENT
    assert len(smtp_sink.to(f"{request.contact_id}@example.com")) == 1
