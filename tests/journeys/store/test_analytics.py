"""Run events are stored once, however often the activity that carries them is retried."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from journeys.engine.state import HistoryEntry
from journeys.store.analytics import record_run_events
from journeys.store.contacts import contact_lock
from journeys.store.db import transaction
from journeys.store.locks import hold
from journeys.store.tables import RunEventRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entries(*whats: str) -> list[HistoryEntry]:
    return [
        HistoryEntry(at=T0 + timedelta(minutes=i), step="hello", what=what)
        for i, what in enumerate(whats)
    ]


def record(engine: Engine, first_seq: int, batch: list[HistoryEntry]) -> int:
    with transaction(engine) as session:
        return record_run_events(
            session,
            instance_id="run-1",
            journey_id="welcome",
            version=1,
            contact_id="c1",
            first_seq=first_seq,
            entries=batch,
        )


def test_a_retried_batch_records_nothing_twice(engine: Engine) -> None:
    assert record(engine, 0, entries("entered", "sent")) == 2
    assert record(engine, 0, entries("entered", "sent")) == 0  # the activity's retry
    assert record(engine, 2, entries("waiting")) == 1
    # A retry whose batch grew meanwhile stores only the new part.
    assert record(engine, 2, entries("waiting", "matched")) == 1
    with transaction(engine) as session:
        stored = session.exec(select(RunEventRow).order_by(RunEventRow.seq)).all()
    assert [(e.seq, e.what) for e in stored] == [
        (0, "entered"),
        (1, "sent"),
        (2, "waiting"),
        (3, "matched"),
    ]


def test_a_retry_with_nothing_new_does_not_wait_for_the_contacts_lock(engine: Engine) -> None:
    """The contact's lock (held by an erasure, or a send) guards writes under its id: a
    retry that finds every entry stored writes nothing, so it goes on while another holds
    it."""
    assert record(engine, 0, entries("entered", "sent")) == 2
    retried: list[int] = []
    with transaction(engine) as holder:
        hold(holder, [contact_lock("c1")])
        retry = threading.Thread(
            target=lambda: retried.append(record(engine, 0, entries("entered", "sent")))
        )
        retry.start()
        retry.join(timeout=30)  # not a measure: a retry waiting for the lock is still waiting
        finished_while_held = not retry.is_alive()
    retry.join()
    assert finished_while_held and retried == [0]
