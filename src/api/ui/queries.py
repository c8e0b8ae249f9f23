"""What the dashboard reads from the entry ledger, beyond the stats: counts per journey for
the list, and the latest runs and refusals of one journey."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from journeys.store.tables import EntryRow


@dataclass(frozen=True)
class EntryCounts:
    entered: int = 0
    active: int = 0


def entry_counts(session: Session) -> dict[str, EntryCounts]:
    """Admitted runs per journey, and how many of them are still going."""
    rows = session.exec(
        select(
            EntryRow.journey_id,
            func.count(),
            func.sum(case((col(EntryRow.ended_at).is_(None), 1), else_=0)),
        )
        .where(col(EntryRow.admitted).is_(True))
        .group_by(col(EntryRow.journey_id))
    ).all()
    return {
        journey: EntryCounts(int(entered), int(active or 0)) for journey, entered, active in rows
    }


def latest_entries(
    session: Session, journey_id: str, *, admitted: bool, version: int | None, limit: int
) -> Sequence[EntryRow]:
    """The journey's newest admitted runs (or refused entries), newest first."""
    return session.exec(
        select(EntryRow)
        .where(
            EntryRow.journey_id == journey_id,
            col(EntryRow.admitted).is_(admitted),
            *([EntryRow.version == version] if version is not None else []),
        )
        .order_by(col(EntryRow.at).desc(), col(EntryRow.id).desc())
        .limit(limit)
    ).all()
