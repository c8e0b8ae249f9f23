"""The worker killed (SIGKILL) in the middle of sending: a new worker takes the runs over.

What "exactly once" can mean for a send. The ledger row is written (pending) before the
provider is called and settled after. A kill *before* the SMTP server accepted the message
leaves a pending row and no message: the retry sends it, once. A kill *after* the server
accepted it but before the row was settled leaves a pending row and a message already
out: SMTP has no way to ask "did you get it?", so the retry sends it again, with the same
Message-ID (a function of the run and step) by which a receiver can drop the copy. The
ledger and the journey count it once either way.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from journeys.cli.dev.processes import wait_until
from tests.faults.definitions import GREET, SIGNUP, bundle
from tests.faults.smtp_faults import Stall, StallingSmtpSink
from tests.faults.stack import FaultStack, fault_stack
from tests.sinks import HttpSink

pytestmark = pytest.mark.faults

DEFINITIONS = bundle(SIGNUP, GREET)
# A killed attempt is retried once Temporal sees it gone: after the send activity's
# start-to-close timeout (60 s), there being no heartbeat to miss sooner.
TAKEOVER_SECONDS = 120


@pytest.fixture
def smtp() -> Iterator[StallingSmtpSink]:
    sink = StallingSmtpSink()
    sink.start()
    yield sink
    sink.release()
    sink.stop()


@pytest.fixture
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: StallingSmtpSink, http_sink: HttpSink
) -> Iterator[FaultStack]:
    with fault_stack(
        request.node, tmp_path, f"sqlite:///{tmp_path / 'journeys.db'}", smtp, http_sink
    ) as stack:
        stack.define(DEFINITIONS)
        yield stack


def test_sigkill_during_sends_then_restart_every_run_goes_on_and_sends_once(
    stack: FaultStack, smtp: StallingSmtpSink
) -> None:
    before, after = stack.contact("before"), stack.contact("after")
    smtp.stall(f"{before}@example.com", Stall.BEFORE_ACCEPT)
    smtp.stall(f"{after}@example.com", Stall.AFTER_ACCEPT)
    for contact_id in (before, after):
        assert stack.fire("faults.signup", contact_id).json()["started"] == ["greet"]

    wait_until(lambda: len(smtp.held) == 2)  # both sends are inside an SMTP conversation
    stack.worker.kill()
    assert [(r.step, r.status) for r in stack.deliveries(before)] == [("hello", "pending")]
    assert [(r.step, r.status) for r in stack.deliveries(after)] == [("hello", "pending")]
    assert len(smtp.to(f"{after}@example.com")) == 1  # accepted before the kill
    assert smtp.to(f"{before}@example.com") == []
    smtp.release()

    # Work that arrives while no worker runs waits for the next one.
    later = stack.contact("later")
    assert stack.fire("faults.signup", later).json()["started"] == ["greet"]
    stack.worker.start()

    everyone = (before, after, later)
    wait_until(
        lambda: all(stack.status("greet", c) == "completed" for c in everyone),
        timeout=TAKEOVER_SECONDS,
    )
    for contact_id in everyone:
        ledger = [(r.step, r.status) for r in stack.deliveries(contact_id)]
        assert ledger == [("hello", "sent"), ("text", "sent")], contact_id
        assert len(stack.sms_to(contact_id)) == 1, contact_id
        history = [h["what"] for h in stack.instance("greet", contact_id)["history"]]
        assert history.count("sent") == 2, history

    assert len(smtp.to(f"{before}@example.com")) == 1
    assert len(smtp.to(f"{later}@example.com")) == 1
    # Accepted, then sent again by the retry: the same message, recognisable as such.
    copies = smtp.to(f"{after}@example.com")
    assert len(copies) == 2
    (hello,) = [r for r in stack.deliveries(after) if r.step == "hello"]
    assert {m["Message-ID"].split("@")[0].strip("<") for m in copies} == {hello.message_id}


def test_sigterm_lets_the_sends_in_hand_finish_so_a_deploy_sends_nothing_twice(
    stack: FaultStack, smtp: StallingSmtpSink
) -> None:
    """A deploy stops the worker with SIGTERM in the middle of a send. It used to cancel the
    send at once ("will wait 0:00:00"): the next worker sent the accepted message again."""
    contact = stack.contact("deploy")
    smtp.stall(f"{contact}@example.com", Stall.AFTER_ACCEPT)
    assert stack.fire("faults.signup", contact).json()["started"] == ["greet"]
    wait_until(lambda: len(smtp.held) == 1)  # accepted by the server, not yet settled

    assert stack.worker.process is not None
    stack.worker.process.send_signal(signal.SIGTERM)
    wait_until(lambda: "worker stopping" in stack.worker.output())
    smtp.release()  # the conversation ends while the worker is shutting down
    assert stack.worker.process.wait(timeout=60) == 0
    assert [(r.step, r.status) for r in stack.deliveries(contact)][:1] == [("hello", "sent")]

    stack.worker.start()
    wait_until(lambda: stack.status("greet", contact) == "completed", timeout=TAKEOVER_SECONDS)
    assert len(smtp.to(f"{contact}@example.com")) == 1
