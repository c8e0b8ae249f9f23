"""The entry ledger: who entered which journey when, and who was refused and why.

Temporal forgets closed runs after the namespace's retention period; this ledger
does not, so re-entry rules hold for as long as the journey exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, update
from sqlmodel import Session, col, select

from journeys.engine.commands import EntryDecided
from journeys.engine.entry import RATE_LIMITED, EntryRequest, reentry_refusal
from journeys.store.tables import EntryRow


def decide_entry(session: Session, request: EntryRequest) -> EntryDecided:
    """Admit or refuse, and record it; asking twice for one run gives the same answer."""
    existing = session.exec(
        select(EntryRow).where(EntryRow.instance_id == request.instance_id)
    ).first()
    if existing is not None:
        return EntryDecided(admitted=existing.admitted, reason=existing.reason)
    reason = request.refusal
    if reason is None:
        reason = reentry_refusal(request.reentry, _last_entry(session, request), request.at)
    if reason is None and request.rate_limit is not None and _over_rate(session, request):
        reason = RATE_LIMITED
    session.add(
        EntryRow(
            instance_id=request.instance_id,
            journey_id=request.journey_id,
            version=request.version,
            contact_id=request.contact_id,
            binding_id=request.binding_id or "",
            event_id=request.event_id,
            admitted=reason is None,
            reason=reason,
            at=request.at,
        )
    )
    return EntryDecided(admitted=reason is None, reason=reason)


def _last_entry(session: Session, request: EntryRequest) -> datetime | None:
    return session.exec(
        select(EntryRow.at)
        .where(
            EntryRow.journey_id == request.journey_id,
            EntryRow.contact_id == request.contact_id,
            EntryRow.binding_id == (request.binding_id or ""),
            col(EntryRow.admitted).is_(True),
        )
        .order_by(col(EntryRow.at).desc())
        .limit(1)
    ).first()


def _over_rate(session: Session, request: EntryRequest) -> bool:
    limit = request.rate_limit
    assert limit is not None
    since = request.at - limit.per.length
    admitted = session.exec(
        select(func.count())
        .select_from(EntryRow)
        .where(
            EntryRow.journey_id == request.journey_id,
            col(EntryRow.admitted).is_(True),
            col(EntryRow.at) > since,
        )
    ).one()
    return int(admitted) >= limit.count


def record_refusal(
    session: Session,
    *,
    journey_id: str,
    version: int,
    contact_id: str,
    binding_id: str | None,
    event_id: str,
    reason: str,
    at: datetime,
) -> None:
    """A start refused before any run began (journey paused, outside its entry window, ...)."""
    session.add(
        EntryRow(
            instance_id=f"refused-{uuid.uuid4().hex}",
            journey_id=journey_id,
            version=version,
            contact_id=contact_id,
            binding_id=binding_id or "",
            event_id=event_id,
            admitted=False,
            reason=reason,
            at=at,
        )
    )


def record_outcome(
    session: Session,
    instance_id: str,
    status: str,
    reason: str | None,
    at: datetime,
    goal_reached_at: datetime | None,
) -> None:
    """How an admitted run ended (and whether it reached its goal on the way)."""
    row = session.exec(select(EntryRow).where(EntryRow.instance_id == instance_id)).first()
    if row is None or not row.admitted:
        return
    row.ended_at, row.outcome, row.outcome_reason = at, status, reason
    row.goal_reached_at = row.goal_reached_at or goal_reached_at
    session.add(row)


def record_late_goal(
    session: Session, journey_id: str, contact_id: str, at: datetime, window: timedelta
) -> int:
    """A goal reached after runs ended: credit the contact's runs of the journey that ended
    within the attribution window and had not reached it. How many were credited."""
    result = session.exec(
        update(EntryRow)
        .where(
            col(EntryRow.journey_id) == journey_id,
            col(EntryRow.contact_id) == contact_id,
            col(EntryRow.admitted).is_(True),
            col(EntryRow.goal_reached_at).is_(None),
            col(EntryRow.ended_at).is_not(None),
            col(EntryRow.ended_at) >= at - window,
        )
        .values(goal_reached_at=at)
    )
    return int(result.rowcount)


def entries_of_contact(session: Session, contact_id: str) -> list[EntryRow]:
    return list(
        session.exec(
            select(EntryRow)
            .where(EntryRow.contact_id == contact_id)
            .order_by(col(EntryRow.at).desc())
        ).all()
    )


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
