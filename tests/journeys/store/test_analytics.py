"""Run events are stored once, however often the activity that carries them is retried."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from journeys.engine.state import HistoryEntry
from journeys.store.analytics import record_run_events
from journeys.store.db import transaction
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
