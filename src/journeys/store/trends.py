"""A journey's figures day by day (UTC): entries, messages sent, opens, goals reached.

Counted in the database, one grouped query per figure, so a busy journey costs four small
answers, not a row per run. Each figure comes from the ledger that records its fact once
(entries and goals from the entry ledger, sends and opens from the delivery ledger), as
the totals of `journeys.store.analytics` do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from journeys.store.tables import DeliveryRow, EntryRow


class Day(BaseModel):
    day: date
    entered: int = 0
    sent: int = 0
    opened: int = 0
    goals: int = 0


def daily_figures(session: Session, journey_id: str, days: int, today: date) -> list[Day]:
    """The last `days` days up to `today`, oldest first; a quiet day is all zeros."""
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, UTC)
    series = {first + timedelta(days=n): Day(day=first + timedelta(days=n)) for n in range(days)}
    figures: list[tuple[str, Any, list[Any]]] = [
        ("entered", col(EntryRow.at), [col(EntryRow.admitted).is_(True)]),
        ("goals", col(EntryRow.goal_reached_at), []),
        ("sent", col(DeliveryRow.sent_at), [col(DeliveryRow.test).is_(False)]),
        ("opened", col(DeliveryRow.opened_at), [col(DeliveryRow.test).is_(False)]),
    ]
    for name, moment, only in figures:
        table = moment.class_
        day = _utc_day(session, moment)
        counted = session.exec(
            select(day, func.count())
            .where(table.journey_id == journey_id, moment >= since, *only)
            .group_by(day)
        ).all()
        for value, count in counted:
            when = value if isinstance(value, date) else date.fromisoformat(value)
            if when in series:  # a moment stamped ahead of `today` is not drawn
                setattr(series[when], name, count)
    return list(series.values())


def _utc_day(session: Session, moment: Any) -> Any:
    # SQLite keeps UTC without an offset (types.UtcDateTime): its date() is the UTC day.
    # PostgreSQL's date() of a timestamptz uses the session's time zone, so convert first.
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", moment))
    return func.date(moment)
