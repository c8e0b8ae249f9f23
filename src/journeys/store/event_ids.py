"""Idempotency across time: which event ids were accepted, and when.

An event id is claimed before its event is routed and marked done after. A completed claim
answers "duplicate" for the whole window. A claim still in flight answers neither "new" nor
"duplicate": its routing may yet fail, so the caller is told to come back. A claim never
completed (the gateway died mid-way) is taken over after a short while, so a producer's
retry is never lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from journeys.store.tables import AcceptedEventRow

# Longer than any routing of one event takes (a few Temporal calls of at most 5 s each, made
# together); a claim older than this was abandoned by a gateway that stopped.
ABANDONED_AFTER = timedelta(seconds=30)


class Claim(StrEnum):
    NEW = "new"  # this caller routes the event
    DUPLICATE = "duplicate"  # routed already, within the window: act on nothing
    IN_FLIGHT = "in_flight"  # another request is routing it now: ask again shortly


def claim_event(
    session: Session, event_id: str, trigger: str, now: datetime, window: timedelta
) -> Claim:
    """Claim the event id for routing, unless it was routed within the window or another
    request is routing it (a claim not yet completed nor abandoned)."""
    row = session.get(AcceptedEventRow, event_id, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(AcceptedEventRow(event_id=event_id, trigger=trigger, claimed_at=now))
        except IntegrityError:
            return Claim.IN_FLIGHT  # claimed a moment ago by a concurrent request
        return Claim.NEW
    age = now - row.claimed_at
    if row.done and age < window:
        return Claim.DUPLICATE
    if not row.done and age < ABANDONED_AFTER:
        return Claim.IN_FLIGHT
    row.trigger, row.claimed_at, row.done = trigger, now, False
    session.add(row)
    return Claim.NEW


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
