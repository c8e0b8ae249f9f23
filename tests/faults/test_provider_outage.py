"""SMTP and the SMS provider down for a while: the worker process retries with backoff,
then each message goes out exactly once and the runs go on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from journeys.cli.dev.processes import wait_until
from tests.faults.definitions import GREET, SIGNUP, bundle
from tests.faults.smtp_faults import RefusingSmtp
from tests.faults.stack import FaultStack, fault_stack
from tests.sinks import HttpSink, SmtpSink

pytestmark = pytest.mark.faults

DEFINITIONS = bundle(SIGNUP, GREET)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()  # not listening until the outage is over
    yield sink
    sink.stop()


@pytest.fixture
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: SmtpSink, http_sink: HttpSink
) -> Iterator[FaultStack]:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    with fault_stack(request.node, tmp_path, url, smtp, http_sink) as stack:
        stack.define(DEFINITIONS)
        yield stack


def smtp_outage_then_recovery(
    stack: FaultStack, smtp: SmtpSink, contacts: list[str], refusals: int = 2
) -> None:
    """Fire the journey for each contact while SMTP answers 421, until it has refused as
    many attempts as asked per contact; then bring the real server up on the same port."""
    outage = RefusingSmtp(smtp.port).start()
    try:
        for contact_id in contacts:
            assert stack.fire("faults.signup", contact_id).json()["started"] == ["greet"]
        wait_until(lambda: outage.attempts >= refusals * len(contacts), timeout=60)
        for contact_id in contacts:
            assert [(r.step, r.status) for r in stack.deliveries(contact_id)] == [
                ("hello", "pending")
            ]
    finally:
        outage.stop()
    smtp.start()


def test_providers_down_for_a_while_then_each_message_goes_out_once(
    stack: FaultStack, smtp: SmtpSink, http_sink: HttpSink
) -> None:
    contacts = [stack.contact("patient") for _ in range(3)]
    http_sink.failures_left = 2 * len(contacts)  # the SMS provider answers 503 meanwhile
    smtp_outage_then_recovery(stack, smtp, contacts)

    wait_until(lambda: all(stack.status("greet", c) == "completed" for c in contacts), timeout=90)
    assert http_sink.failures_left <= 0  # it refused as planned (its count is not atomic)
    for contact_id in contacts:
        assert len(smtp.to(f"{contact_id}@example.com")) == 1
        texts = stack.sms_to(contact_id)
        assert len(texts) == 1
        ledger = [(r.step, r.status) for r in stack.deliveries(contact_id)]
        assert ledger == [("hello", "sent"), ("text", "sent")]
        (sms,) = [r for r in stack.deliveries(contact_id) if r.step == "text"]
        assert texts[0]["message_id"] == sms.message_id  # the provider's idempotency key


def test_a_retried_send_is_not_held_by_its_own_frequency_cap(
    stack: FaultStack, smtp: SmtpSink
) -> None:
    caps = {"frequency_caps": {"email": [{"count": 1, "per": "P1D"}]}, "quiet_times": {}}
    assert stack.api.put("/v1/settings/messaging", json=caps).status_code == 200
    contact_id = stack.contact("capped")
    smtp_outage_then_recovery(stack, smtp, [contact_id], refusals=1)

    wait_until(lambda: stack.status("greet", contact_id) == "completed", timeout=90)
    ledger = [(r.step, r.status, r.reason) for r in stack.deliveries(contact_id)]
    assert ledger == [("hello", "sent", None), ("text", "sent", None)]
    assert len(smtp.to(f"{contact_id}@example.com")) == 1
