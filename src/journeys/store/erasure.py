"""Erasing a contact: personal data removed, anonymous counts kept."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, update
from sqlmodel import Session, col, select

from journeys.observability.logs import redact
from journeys.store.contacts import contact_lock
from journeys.store.locks import hold
from journeys.store.records import forget_records_of
from journeys.store.tables import ContactRow, DeliveryRow, EntryRow, RunEventRow, ShortLinkRow


@dataclass(frozen=True)
class Erasure:
    contact_deleted: bool
    messages_anonymized: int
    entries_anonymized: int


PSEUDONYM_PREFIX = "erased-"


def erase_contact(session: Session, contact_id: str) -> Erasure:
    """Delete the contact; its messages and journey entries keep their counts under a random
    pseudonym that cannot be traced back to the contact. Its short links stop working."""
    pseudonym = f"{PSEUDONYM_PREFIX}{secrets.token_hex(8)}"
    hold(session, [contact_lock(contact_id)])  # runs still ending write after it (erased_as)
    row = session.get(ContactRow, contact_id)
    if row is not None:
        session.delete(row)
    messages = session.exec(
        select(DeliveryRow).where(col(DeliveryRow.contact_id) == contact_id)
    ).all()
    for message in messages:
        # The workflow id holds the contact id; a provider's refusal may hold the address.
        message.contact_id = message.workflow_id = pseudonym
        message.recipient = message.summary = None
        message.reason = redact(message.reason) if message.reason else None
        session.add(message)
    entries = session.exec(
        update(EntryRow)
        .where(col(EntryRow.contact_id) == contact_id)
        .values(contact_id=pseudonym, event_id=pseudonym, workflow_id=None, trigger_attributes=None)
    )
    forget_records_of(session, contact_id)
    # Their URLs were rendered for the contact (an address in a query string, say).
    session.exec(delete(ShortLinkRow).where(col(ShortLinkRow.contact_id) == contact_id))
    session.exec(
        update(RunEventRow)
        .where(col(RunEventRow.contact_id) == contact_id)
        .values(contact_id=pseudonym)
    )
    return Erasure(row is not None, len(messages), entries.rowcount)


# Asked at the end of every run and by every first send: built once (see journeys.store).
_OWNER = select(EntryRow.contact_id).where(EntryRow.instance_id == bindparam("instance_id"))


def erased_as(session: Session, instance_id: str, contact_id: str) -> str | None:
    """The pseudonym a run's contact was erased under, if it was: what a run that ends after
    the erasure writes instead of the contact id (its entry was renamed). Holds the
    contact's lock, as the erasure does, so that no write slips in between."""
    hold(session, [contact_lock(contact_id)])
    owner = session.execute(_OWNER, {"instance_id": instance_id}).scalar()
    return owner if owner is not None and owner.startswith(PSEUDONYM_PREFIX) else None
