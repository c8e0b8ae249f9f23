"""Erasing a contact: personal data removed, anonymous counts kept."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col

from journeys.store.records import forget_records_of
from journeys.store.tables import ContactRow, DeliveryRow, EntryRow, RunEventRow


@dataclass(frozen=True)
class Erasure:
    contact_deleted: bool
    messages_anonymized: int
    entries_anonymized: int


def erase_contact(session: Session, contact_id: str) -> Erasure:
    """Delete the contact; its messages and journey entries keep their counts under a random
    pseudonym that cannot be traced back to the contact."""
    pseudonym = f"erased-{secrets.token_hex(8)}"
    row = session.get(ContactRow, contact_id)
    if row is not None:
        session.delete(row)
    messages = session.exec(
        update(DeliveryRow)
        .where(col(DeliveryRow.contact_id) == contact_id)
        .values(contact_id=pseudonym, recipient=None, summary=None)
    )
    entries = session.exec(
        update(EntryRow)
        .where(col(EntryRow.contact_id) == contact_id)
        .values(contact_id=pseudonym, event_id=pseudonym, workflow_id=None, trigger_attributes=None)
    )
    forget_records_of(session, contact_id)
    session.exec(
        update(RunEventRow)
        .where(col(RunEventRow.contact_id) == contact_id)
        .values(contact_id=pseudonym)
    )
    return Erasure(row is not None, messages.rowcount, entries.rowcount)
