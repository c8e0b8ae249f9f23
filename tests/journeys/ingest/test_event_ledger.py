"""EventLedger.complete when the store refuses the write: the event has acted, so the
request is not failed; the completion is written once the store is back, or given up
(loudly) after its retry window."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from journeys.engine.events import TriggerEvent
from journeys.ingest.ledger import EventLedger
from journeys.store.db import create_db_engine, migrate
from journeys.store.event_ids import Claim
from tests.sinks import eventually

WINDOW = timedelta(hours=24)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'journeys.db'}"
    migrate(url)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


def store_away(engine: Engine) -> None:
    """The table the ledger writes to is gone: every write fails as in an outage."""
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE accepted_events RENAME TO accepted_events_away"))


def store_back(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE accepted_events_away RENAME TO accepted_events"))


def event(event_id: str) -> TriggerEvent:
    return TriggerEvent(
        trigger="order.placed", contact_id="ada", event_id=event_id, occurred_at=datetime.now(UTC)
    )


async def test_a_completion_the_store_refused_is_written_once_it_is_back(engine: Engine) -> None:
    ledger = EventLedger(engine, WINDOW)
    assert (await ledger.take(event("e1"), [], [])).claim is Claim.NEW
    store_away(engine)
    await ledger.complete(event("e1"), goals=[])  # does not raise: the event acted
    store_back(engine)

    async def recorded() -> bool:
        return (await ledger.take(event("e1"), [], [])).claim is Claim.DUPLICATE

    await eventually(recorded)


async def test_a_completion_is_given_up_after_its_window_and_says_so(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = EventLedger(engine, WINDOW, completion_retry=timedelta(seconds=1))
    assert (await ledger.take(event("e2"), [], [])).claim is Claim.NEW
    store_away(engine)
    with caplog.at_level(logging.WARNING, logger="journeys.ingest"):
        await ledger.complete(event("e2"), goals=[])
        await eventually(lambda: "e2 acted but could not be recorded" in caplog.text)
    store_back(engine)
    # Never marked done: within ABANDONED_AFTER a retry of the id is told to wait, not
    # that it is a duplicate (the ledger cannot know the event acted; the log says so).
    assert (await ledger.take(event("e2"), [], [])).claim is Claim.IN_FLIGHT
