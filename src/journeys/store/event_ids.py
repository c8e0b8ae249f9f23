"""Idempotency across time: which event ids were accepted, and when.

An event id is claimed before its event is routed and marked done after. A completed claim
answers "duplicate" for the whole window. A claim still in flight answers neither "new" nor
"duplicate": its routing may yet fail, so the caller is told to come back. A claim never
completed (the gateway died mid-way) is taken over after a short while, so a producer's
retry is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from journeys.store.tables import AcceptedEventRow, table

# Longer than any routing of one event takes (a few Temporal calls of at most 5 s each, made
# together); a claim older than this was abandoned by a gateway that stopped.
ABANDONED_AFTER = timedelta(seconds=30)


_TABLE = table(AcceptedEventRow)


class Claim(StrEnum):
    NEW = "new"  # this caller routes the event
    DUPLICATE = "duplicate"  # routed already, within the window: act on nothing
    IN_FLIGHT = "in_flight"  # another request is routing it now: ask again shortly


def _claim_statement(insert: Callable[[Table], Any]) -> Any:
    """INSERT the claim, or take over one routed before the window or abandoned."""
    return (
        insert(_TABLE)
        .values(
            event_id=bindparam("event_id"),
            trigger=bindparam("trigger"),
            claimed_at=bindparam("claimed_at"),
            done=False,
        )
        .on_conflict_do_update(
            index_elements=[_TABLE.c.event_id],
            set_={
                "trigger": bindparam("trigger"),
                "claimed_at": bindparam("claimed_at"),
                "done": False,
            },
            where=or_(
                and_(_TABLE.c.done, _TABLE.c.claimed_at <= bindparam("routed_before")),
                and_(~_TABLE.c.done, _TABLE.c.claimed_at <= bindparam("abandoned_before")),
            ),
        )
        .returning(_TABLE.c.event_id)
    )


# Every event that reaches a journey claims its id and completes it: built once (see
# journeys.store).
_CLAIM = {
    "postgresql": _claim_statement(postgresql.insert),
    "sqlite": _claim_statement(sqlite.insert),
}
_IS_DONE = select(_TABLE.c.done).where(_TABLE.c.event_id == bindparam("event_id"))
_COMPLETE = update(_TABLE).where(_TABLE.c.event_id == bindparam("event")).values(done=True)
_RELEASE = delete(_TABLE).where(_TABLE.c.event_id == bindparam("event_id"), ~_TABLE.c.done)


def claim_event(
    session: Session, event_id: str, trigger: str, now: datetime, window: timedelta
) -> Claim:
    """Claim the event id for routing, unless it was routed within the window or another
    request is routing it (a claim not yet completed nor abandoned).

    One statement in the common case (a new id), written in SQL rather than through the ORM:
    it runs for every event that reaches a journey, and the ORM's get-then-flush costs twice
    the CPU.
    """
    claimed = session.execute(
        _CLAIM[session.get_bind().dialect.name],
        {
            "event_id": event_id,
            "trigger": trigger,
            "claimed_at": now,
            "routed_before": now - window,
            "abandoned_before": now - ABANDONED_AFTER,
        },
    )
    if claimed.first() is not None:
        return Claim.NEW
    done = session.execute(_IS_DONE, {"event_id": event_id}).scalar()
    return Claim.DUPLICATE if done else Claim.IN_FLIGHT


def complete_event(session: Session, event_id: str) -> None:
    session.execute(_COMPLETE, {"event": event_id})


def release_event(session: Session, event_id: str) -> None:
    """Forget a claim whose routing failed, so the producer's retry acts."""
    session.execute(_RELEASE, {"event_id": event_id})


def purge_events(session: Session, older_than: datetime) -> int:
    result = session.exec(
        delete(AcceptedEventRow).where(col(AcceptedEventRow.claimed_at) < older_than)
    )
    return int(result.rowcount)
