"""PostgreSQL restarted under load: the gateway answers 503 (JSON, Retry-After) while the
store is away, takes events again when it is back, and every acknowledged event is acted
on exactly once. The cluster is the test's own, never the machine's shared one."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from journeys.cli.dev.processes import wait_until
from tests.faults.definitions import ORDER, RECEIPT, bundle
from tests.faults.processes import ThrowawayPostgres
from tests.faults.stack import FaultStack, fault_stack
from tests.sinks import HttpSink, SmtpSink

pytestmark = pytest.mark.faults

DEFINITIONS = bundle(ORDER, RECEIPT)
CONTACTS = 150  # more than the producers get through: they stop when told
PRODUCERS = 4


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    cluster = ThrowawayPostgres().create()
    yield cluster
    cluster.destroy()


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres: ThrowawayPostgres,
    smtp_sink: SmtpSink,
    http_sink: HttpSink,
) -> Iterator[FaultStack]:
    with fault_stack(request.node, tmp_path, postgres.url, smtp_sink, http_sink) as stack:
        stack.define(DEFINITIONS)
        yield stack


class Producer:
    """Threads that post one event after another, each with its own id, until told to
    stop; a 503 is retried with the same event id, as the answer asks."""

    def __init__(self, stack: FaultStack, events: list[dict[str, Any]]) -> None:
        self._stack = stack
        self._events = iter(events)
        self._lock = threading.Lock()
        self.enough = threading.Event()
        self.sent: list[str] = []  # event ids taken up, acknowledged or not
        self.statuses: Counter[int] = Counter()
        self.unavailable: list[httpx.Response] = []
        self.acknowledged: dict[str, dict[str, Any]] = {}  # event id -> the 202's body

    def run(self) -> None:
        while not self.enough.is_set():
            with self._lock:
                event = next(self._events)
                self.sent.append(event["event_id"])
            self._send(event)

    def _send(self, event: dict[str, Any], within: float = 120) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                answer = self._stack.api.post("/v1/triggers/faults.order/events", json=event)
            except httpx.TransportError:
                continue  # no answer is no acknowledgement: send it again
            with self._lock:
                self.statuses[answer.status_code] += 1
                if answer.status_code == 202:
                    self.acknowledged[event["event_id"]] = answer.json()
                    return
                if answer.status_code != 503:
                    return  # counted: the test fails on anything but 202 and 503
                self.unavailable.append(answer)
            time.sleep(0.2)


def test_postgres_restart_under_load_answers_503_then_loses_nothing_acknowledged(
    stack: FaultStack, postgres: ThrowawayPostgres, smtp_sink: SmtpSink
) -> None:
    contacts = [stack.contact("shopper") for _ in range(CONTACTS)]
    producer = Producer(
        stack,
        [
            {"contact_id": c, "event_id": f"order-{c}", "attributes": {"order_id": f"o-{c}"}}
            for c in contacts
        ],
    )
    with ThreadPoolExecutor(max_workers=PRODUCERS) as pool:
        producers = [pool.submit(producer.run) for _ in range(PRODUCERS)]
        wait_until(lambda: len(producer.acknowledged) >= 10)
        postgres.stop("fast")
        wait_until(lambda: len(producer.unavailable) >= 5 * PRODUCERS)  # answered meanwhile
        refused_meanwhile = stack.api.get(f"/v1/contacts/{contacts[0]}")
        ready = stack.api.get("/readyz")
        postgres.start()
        before = len(producer.acknowledged)
        wait_until(lambda: len(producer.acknowledged) >= before + 10, timeout=60)  # recovered
        producer.enough.set()
        for future in producers:
            future.result()

    assert set(producer.statuses) == {202, 503}, producer.statuses
    # Events are told to come back with the same id: the store is away, or a request it cut
    # short left the id claimed (answered "retry", never "duplicate", until taken over).
    for answer in producer.unavailable:
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) > 0
        assert "same event_id" in answer.json()["detail"]
    assert refused_meanwhile.status_code == 503
    assert "store" in refused_meanwhile.json()["detail"]
    assert (ready.status_code, ready.json()["checks"]["store"]) == (503, False)

    assert sorted(producer.acknowledged) == sorted(producer.sent)
    acted_on = [c for c in contacts if f"order-{c}" in producer.acknowledged]
    wait_until(
        lambda: all(stack.status("receipt", c) == "completed" for c in acted_on), timeout=120
    )
    for contact_id in acted_on:
        assert len(stack.entries("receipt", contact_id)) == 1, contact_id
        assert len(smtp_sink.to(f"{contact_id}@example.com")) == 1, contact_id
