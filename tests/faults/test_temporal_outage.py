"""Temporal away: the dev server (on its SQLite file) killed and restarted under waiting runs,
and producers answered 503 + Retry-After meanwhile, whose retries act exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from journeys.cli.dev.processes import wait_until
from tests.faults.definitions import ORDER, RECEIPT, SIGNUP, bundle
from tests.faults.stack import FaultStack, fault_stack
from tests.sinks import HttpSink, SmtpSink

pytestmark = pytest.mark.faults

PING = """\
kind: Trigger
name: faults.ping
type: custom
audience: contact
attributes: []
"""
LISTEN = """\
kind: Journey
id: listen
name: Waits for a ping
start: {trigger: faults.signup}
steps:
  - id: ping
    wait_for: {trigger: faults.ping, within: PT1H}
    then:
      - {id: pong, sms: {text: "pong"}}
"""
NAP = """\
kind: Journey
id: nap
name: Sleeps a little
start: {trigger: faults.signup}
steps:
  - {id: rest, wait: PT3S}
  - {id: awake, email: {subject: "Rested", text: "Rested."}}
"""
DEFINITIONS = bundle(SIGNUP, PING, ORDER, LISTEN, NAP, RECEIPT)


@pytest.fixture
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, smtp_sink: SmtpSink, http_sink: HttpSink
) -> Iterator[FaultStack]:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    with fault_stack(request.node, tmp_path, url, smtp_sink, http_sink) as stack:
        stack.define(DEFINITIONS)
        yield stack


def assert_unavailable(answer: httpx.Response) -> None:
    """A 503 a producer can act on: JSON that says what to do, and when to come back."""
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    assert "same event_id" in answer.json()["detail"]


def deliver(
    stack: FaultStack, trigger: str, event: dict[str, Any], within: float = 90
) -> dict[str, Any]:
    """A producer's loop: post, and on a 503 post the same event (same id) again, a little
    sooner than Retry-After says (the test has no time to lose)."""
    deadline = time.monotonic() + within
    while True:
        answer = stack.api.post(f"/v1/triggers/{trigger}/events", json=event)
        if answer.status_code != 503:
            assert answer.status_code == 202, answer.text
            return dict(answer.json())
        assert_unavailable(answer)
        assert time.monotonic() < deadline, f"still 503 after {within} s: {answer.text}"
        time.sleep(0.5)


def test_runs_waiting_when_temporal_restarts_go_on_after_it(
    stack: FaultStack, smtp_sink: SmtpSink
) -> None:
    contacts = [stack.contact("waiting") for _ in range(3)]
    for contact_id in contacts:
        started = stack.fire("faults.signup", contact_id).json()["started"]
        assert sorted(started) == ["listen", "nap"]
    wait_until(
        lambda: all(
            stack.status(journey, c) == "waiting" for c in contacts for journey in ("listen", "nap")
        )
    )
    naps_end = max(
        datetime.fromisoformat(stack.instance("nap", c)["waiting_until"]) for c in contacts
    )

    stack.temporal.kill()
    pings = [{"contact_id": c, "event_id": f"ping-{c}"} for c in contacts]
    assert_unavailable(stack.api.post("/v1/triggers/faults.ping/events", json=pings[0]))
    ready = stack.api.get("/readyz")
    assert (ready.status_code, ready.json()["checks"]) == (503, {"store": True, "temporal": False})
    # The naps' timers come due while the server is away.
    wait_until(lambda: datetime.now(UTC) > naps_end)
    stack.temporal.start()

    for ping in pings:
        assert deliver(stack, "faults.ping", ping)["signaled"] == ["listen"]
    wait_until(
        lambda: all(
            stack.status(journey, c) == "completed"
            for c in contacts
            for journey in ("listen", "nap")
        ),
        timeout=90,
    )
    for contact_id in contacts:
        assert len(smtp_sink.to(f"{contact_id}@example.com")) == 1
        assert [m["text"] for m in stack.sms_to(contact_id)] == ["pong"]
        ledger = sorted((r.journey_id, r.step, r.status) for r in stack.deliveries(contact_id))
        assert ledger == [("listen", "pong", "sent"), ("nap", "awake", "sent")]


def test_producers_retrying_through_a_temporal_outage_act_once_per_event(
    stack: FaultStack, smtp_sink: SmtpSink
) -> None:
    contacts = [stack.contact("buyer") for _ in range(6)]
    orders = [
        {"contact_id": c, "event_id": f"order-{c}", "attributes": {"order_id": f"o-{c}"}}
        for c in contacts
    ]
    # Acknowledged before the outage; its producer never saw the answer and sends it again.
    assert deliver(stack, "faults.order", orders[0])["started"] == ["receipt"]

    stack.temporal.kill()
    with ThreadPoolExecutor(max_workers=len(orders)) as pool:
        answers = list(
            pool.map(lambda o: stack.api.post("/v1/triggers/faults.order/events", json=o), orders)
        )
    assert answers[0].json()["duplicate"] is True  # known already: no need of Temporal
    for answer in answers[1:]:
        assert_unavailable(answer)
    batch = stack.api.post(
        "/v1/events:batch", json={"events": [{"trigger": "faults.order", **orders[1]}]}
    )
    assert int(batch.headers["Retry-After"]) > 0
    assert batch.json()["results"][0]["status"] == 503

    stack.temporal.start()
    with ThreadPoolExecutor(max_workers=len(orders)) as pool:
        retried = list(pool.map(lambda o: deliver(stack, "faults.order", o), orders))
    assert retried[0]["duplicate"] is True
    assert all(r["started"] == ["receipt"] for r in retried[1:])

    wait_until(lambda: all(stack.status("receipt", c) == "completed" for c in contacts))
    # Sent once more after the runs ended: a journey that admits everyone again would start
    # a second run if the event id were not remembered.
    for order in orders:
        assert deliver(stack, "faults.order", order)["duplicate"] is True
    for contact_id in contacts:
        assert len(stack.entries("receipt", contact_id)) == 1
        assert len(smtp_sink.to(f"{contact_id}@example.com")) == 1


def test_a_gateway_killed_while_routing_an_event_does_not_swallow_its_retry(
    stack: FaultStack, smtp_sink: SmtpSink
) -> None:
    contact_id = stack.contact("crash")
    event_id = f"order-{contact_id}"
    order = {"contact_id": contact_id, "event_id": event_id, "attributes": {"order_id": "o-1"}}
    # A hung Temporal holds the routing for its RPC timeout: time to kill the API mid-way.
    stack.temporal.freeze()

    def post() -> httpx.Response | None:
        try:
            return stack.api.post("/v1/triggers/faults.order/events", json=order)
        except httpx.TransportError:
            return None  # the gateway died: no answer, so no acknowledgement

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post)
        wait_until(lambda: stack.claimed(event_id))  # claimed, not routed yet
        stack.api_process.kill()
        assert first.result() is None
    stack.temporal.thaw()
    stack.api_process.start()

    # The dead gateway's claim answers "retry" (503), never "duplicate", until it is taken over.
    retried = deliver(stack, "faults.order", order)
    assert (retried["duplicate"], retried["started"]) == (False, ["receipt"])
    wait_until(lambda: stack.status("receipt", contact_id) == "completed")
    assert len(smtp_sink.to(f"{contact_id}@example.com")) == 1
