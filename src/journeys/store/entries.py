"""The entry ledger: who entered which journey when, and who was refused and why.

Temporal forgets closed runs after the namespace's retention period; this ledger
does not, so re-entry rules hold for as long as the journey exists.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from journeys.definitions.journeys import Reentry
from journeys.engine.entry import reentry_refusal
from journeys.store.tables import EntryRow


class EntryRequest(BaseModel):
    journey_id: str
    version: int
    contact_id: str
    binding_id: str | None
    instance_id: str
    event_id: str
    reentry: Reentry
    refusal: str | None  # already refused by the run (its start condition)
    at: datetime


class EntryDecision(BaseModel):
    admitted: bool
    reason: str | None = None


def decide_entry(session: Session, request: EntryRequest) -> EntryDecision:
    """Admit or refuse, and record it; asking twice for one run gives the same answer."""
    existing = session.exec(
        select(EntryRow).where(EntryRow.instance_id == request.instance_id)
    ).first()
    if existing is not None:
        return EntryDecision(admitted=existing.admitted, reason=existing.reason)
    reason = request.refusal
    if reason is None:
        reason = reentry_refusal(request.reentry, _last_entry(session, request), request.at)
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
    return EntryDecision(admitted=reason is None, reason=reason)


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


def entries_of_contact(session: Session, contact_id: str) -> list[EntryRow]:
    return list(
        session.exec(
            select(EntryRow)
            .where(EntryRow.contact_id == contact_id)
            .order_by(col(EntryRow.at).desc())
        ).all()
    )
