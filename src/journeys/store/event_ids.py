"""Idempotency across time: which event ids were accepted, and when.

An event id is claimed before its event is routed and marked done after; a claim that
was never completed (the gateway died mid-way) can be taken over after a short while,
so a producer's retry is never lost, and a completed one answers "duplicate" for the
whole window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from journeys.store.tables import AcceptedEventRow

# Longer than any routing of one event takes; a claim older than this was abandoned.
ABANDONED_AFTER = timedelta(seconds=60)


def claim_event(
    session: Session, event_id: str, trigger: str, now: datetime, window: timedelta
) -> bool:
    """True when this event id is new (or its last claim is out of the window or abandoned)."""
    row = session.get(AcceptedEventRow, event_id, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(AcceptedEventRow(event_id=event_id, trigger=trigger, claimed_at=now))
        except IntegrityError:
            return False  # claimed a moment ago by a concurrent request
        return True
    age = now - row.claimed_at
    if age < (window if row.done else ABANDONED_AFTER):
        return False
    row.trigger, row.claimed_at, row.done = trigger, now, False
    session.add(row)
    return True


def complete_event(session: Session, event_id: str) -> None:
    row = session.get(AcceptedEventRow, event_id)
    if row is not None:
        row.done = True
        session.add(row)


def release_event(session: Session, event_id: str) -> None:
    """Forget a claim whose routing failed, so the producer's retry acts."""
    row = session.get(AcceptedEventRow, event_id)
    if row is not None and not row.done:
        session.delete(row)


def purge_events(session: Session, older_than: datetime) -> int:
    result = session.exec(
        delete(AcceptedEventRow).where(col(AcceptedEventRow.claimed_at) < older_than)
    )
    return int(result.rowcount)
