"""The kept state of CRM records: the last state Journeys was told of each, so that a change
sent without `before` is compared with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col

from journeys.store.tables import RecordRow
from journeys.store.types import utcnow


def record_lock(entity: str, record_id: str) -> str:
    """The lock (`store.locks`) changes of one record take: each compares with the last."""
    return f"record\n{entity}\n{record_id}"


@dataclass(frozen=True)
class KeptRecord:
    state: dict[str, Any]
    previous: dict[str, Any] | None  # before the last change
    last_event_id: str | None
    created: bool


def kept_record(session: Session, entity: str, record_id: str) -> KeptRecord | None:
    row = session.get(RecordRow, (entity, record_id))
    if row is None:
        return None
    return KeptRecord(row.state, row.previous, row.last_event_id, row.created)


def keep_record(
    session: Session,
    entity: str,
    record_id: str,
    state: dict[str, Any],
    *,
    previous: dict[str, Any] | None,
    event_id: str | None,
    created: bool,
    contact_id: str | None,
) -> None:
    row = session.get(RecordRow, (entity, record_id)) or RecordRow(entity=entity, id=record_id)
    row.state, row.previous, row.last_event_id = state, previous, event_id
    row.created = row.created or created
    row.contact_id = contact_id or row.contact_id
    row.updated_at = utcnow()
    session.add(row)


def forget_record(session: Session, entity: str, record_id: str) -> None:
    row = session.get(RecordRow, (entity, record_id))
    if row is not None:
        session.delete(row)


def forget_records_of(session: Session, contact_id: str) -> int:
    """Erasure: every kept record about the contact; how many."""
    result = session.exec(delete(RecordRow).where(col(RecordRow.contact_id) == contact_id))
    return int(result.rowcount)
