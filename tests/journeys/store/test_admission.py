"""The entry ledger decides under locks: concurrent starts, each in its own transaction (as
several gateway processes make them), admit no more than the rules allow. On SQLite and
PostgreSQL alike."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import col, select

from journeys.contacts.model import ContactChanges
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.events import TriggerEvent
from journeys.store.contacts import upsert_contact
from journeys.store.db import transaction
from journeys.store.entries import Entry, admit, entry_lock, rate_lock, record_outcome
from journeys.store.journeys import LiveJourney
from journeys.store.locks import hold
from journeys.store.tables import EntryRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def start(engine: Engine, live: LiveJourney, contact_id: str, event_id: str) -> Entry:
    """One start, as the gateway takes it: its locks, then the decision, in one transaction."""
    event = TriggerEvent(
        event_id=event_id,
        trigger=live.definition.start.trigger,
        contact_id=contact_id,
        occurred_at=NOW,
    )
    locks = [entry_lock(live.id, contact_id, None)]
    if live.definition.entry is not None:
        locks.append(rate_lock(live.id))
    with transaction(engine) as session:
        hold(session, locks)
        return admit(session, live, event, now=NOW, retries_since=NOW - timedelta(days=1))


def contacts(engine: Engine, *ids: str) -> None:
    with transaction(engine) as session:
        for contact_id in ids:
            upsert_contact(session, contact_id, ContactChanges(email=f"{contact_id}@example.com"))


def definition(**fields: object) -> JourneyDefinition:
    return JourneyDefinition.model_validate(
        {
            "id": "visits",
            "name": "Visits",
            "start": {"trigger": "visit.booked"},
            "steps": [{"id": "pause", "wait": "P1D"}],
            **fields,
        }
    )


def test_twenty_concurrent_starts_of_one_contact_admit_one(engine: Engine) -> None:
    live = LiveJourney(definition(reentry="always"), 1)
    contacts(engine, "ada")
    with ThreadPoolExecutor(max_workers=20) as pool:
        entries = list(pool.map(lambda i: start(engine, live, "ada", f"e{i}"), range(20)))
    assert sum(e.admitted for e in entries) == 1
    assert sorted(e.reason for e in entries if not e.admitted) == ["already_in_journey"] * 19


def test_concurrent_starts_of_many_contacts_stay_under_the_rate_limit(engine: Engine) -> None:
    live = LiveJourney(definition(entry={"rate_limit": {"count": 5, "per": "day"}}), 1)
    ids = [f"c{i}" for i in range(20)]
    contacts(engine, *ids)
    with ThreadPoolExecutor(max_workers=20) as pool:
        entries = list(pool.map(lambda c: start(engine, live, c, f"e-{c}"), ids))
    assert sum(e.admitted for e in entries) == 5
    assert {e.reason for e in entries if not e.admitted} == {"rate_limited"}


def test_a_retried_start_gets_the_same_answer_and_run(engine: Engine) -> None:
    live = LiveJourney(definition(), 1)
    contacts(engine, "ada")
    first = start(engine, live, "ada", "e1")
    again = start(engine, live, "ada", "e1")
    assert first.admitted and again == first
    other = start(engine, live, "ada", "e2")
    assert other.reason == "already_in_journey"


def test_parallel_runs_get_a_workflow_id_each(engine: Engine) -> None:
    live = LiveJourney(definition(parallel=True, reentry="always"), 1)
    contacts(engine, "ada")
    ids = [start(engine, live, "ada", f"e{i}").workflow_id for i in range(3)]
    assert ids == [f"journey/{live.id}/ada/run-{n}" for n in (1, 2, 3)]


def ledger_row(engine: Engine, instance_id: str) -> EntryRow:
    with transaction(engine) as session:
        return session.exec(select(EntryRow).where(EntryRow.instance_id == instance_id)).one()


def test_a_run_records_how_it_ended_and_keeps_a_goal_credited_before(engine: Engine) -> None:
    live = LiveJourney(definition(reentry="always"), 1)
    contacts(engine, "ada", "bob")
    ended_at, credited_at = NOW + timedelta(days=2), NOW + timedelta(days=1, hours=3)
    ada, bob = start(engine, live, "ada", "e1"), start(engine, live, "bob", "e2")
    with transaction(engine) as session:
        record_outcome(session, ada.instance_id, "completed", None, ended_at, credited_at)
        # Bob's goal was credited by a late event before his run ended without one.
        session.exec(
            update(EntryRow)
            .where(col(EntryRow.instance_id) == bob.instance_id)
            .values(goal_reached_at=credited_at)
        )
        record_outcome(session, bob.instance_id, "exited", "order placed", ended_at, None)
    row = ledger_row(engine, ada.instance_id)
    assert (row.ended_at, row.outcome, row.outcome_reason) == (ended_at, "completed", None)
    assert row.goal_reached_at == credited_at
    assert row.goal_reached_at.tzinfo is not None  # stored as UTC, read back as UTC
    with transaction(engine) as session:  # and found by time, as the figures look for it
        found = session.exec(
            select(EntryRow.instance_id).where(col(EntryRow.goal_reached_at) >= credited_at)
        ).all()
    assert sorted(found) == sorted([ada.instance_id, bob.instance_id])
    row = ledger_row(engine, bob.instance_id)
    assert (row.outcome, row.outcome_reason, row.goal_reached_at) == (
        "exited",
        "order placed",
        credited_at,
    )


def test_a_refused_entry_has_no_run_to_end(engine: Engine) -> None:
    live = LiveJourney(definition(), 1)
    contacts(engine, "ada")
    start(engine, live, "ada", "e1")
    refused = start(engine, live, "ada", "e2")  # already in the journey
    assert not refused.admitted
    with transaction(engine) as session:
        record_outcome(session, refused.instance_id, "completed", None, NOW, NOW)
    row = ledger_row(engine, refused.instance_id)
    assert (row.ended_at, row.outcome, row.goal_reached_at) == (None, None, None)
