"""The catalog revision: a counter bumped whenever triggers or published journeys change."""

from __future__ import annotations

from sqlmodel import Session, select

from journeys.store.tables import RevisionRow
from journeys.store.types import utcnow


def bump_revision(session: Session) -> None:
    row = session.get(RevisionRow, 1, with_for_update=True)
    if row is None:
        session.add(RevisionRow(id=1, revision=1))
    else:
        row.revision += 1
        row.updated_at = utcnow()
        session.add(row)


def current_revision(session: Session) -> int:
    revision = session.exec(select(RevisionRow.revision).where(RevisionRow.id == 1)).first()
    return revision or 0
