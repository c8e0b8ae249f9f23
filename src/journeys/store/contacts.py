"""Contacts, with their per-channel consent: rows in, `Contact` values out."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlmodel import Session, col, select

from journeys.contacts.model import (
    MAX_CONTACT_ATTRIBUTES,
    MAX_CONTACT_BYTES,
    Consent,
    Contact,
    ContactChanges,
    ContactWriter,
    check_change,
)
from journeys.kit.problems import Problem, ProblemsError
from journeys.store.tables import ContactRow, table
from journeys.store.types import utcnow


def contact_of(row: ContactRow) -> Contact:
    return Contact(
        id=row.id,
        email=row.email,
        phone=row.phone,
        first_name=row.first_name,
        last_name=row.last_name,
        timezone=row.timezone,
        attributes=row.attributes,
        consent=Consent(email=row.consent_email, sms=row.consent_sms, push=row.consent_push),
    )


_FIELDS = ("email", "phone", "first_name", "last_name", "timezone")
CHANNELS = tuple(Consent.model_fields)


def upsert_contact(
    session: Session,
    contact_id: str,
    changes: ContactChanges,
    by: ContactWriter = ContactWriter.OWNER,
    source: str = "api",
) -> tuple[Contact, bool]:
    """Create or change the contact, as `by` may (`contacts.model.check_change`); a consent
    it sets is recorded as `by:source`."""
    row = session.get(ContactRow, contact_id, with_for_update=True)
    if row is not None and by is ContactWriter.VISITOR:
        return contact_of(row), False
    created = row is None
    sources = {c: getattr(row, f"consent_{c}_source") for c in CHANNELS} if row else {}
    check_change(None if row is None else contact_of(row), sources, changes, by)
    if row is None:
        row = ContactRow(id=contact_id)
    given = changes.model_fields_set
    for name in _FIELDS:
        if name in given:
            setattr(row, name, getattr(changes, name))
    if changes.attributes is not None:
        merged = {**row.attributes, **changes.attributes}
        row.attributes = {name: value for name, value in merged.items() if value is not None}
        _check_size(row.attributes)
    if changes.consent is not None:
        for channel in changes.consent.model_fields_set:
            value = getattr(changes.consent, channel)
            if created or value != getattr(row, f"consent_{channel}"):
                setattr(row, f"consent_{channel}", value)
                setattr(row, f"consent_{channel}_source", f"{by}:{source}"[:200])
    row.updated_at = utcnow()
    session.add(row)
    return contact_of(row), created


def _check_size(attributes: dict[str, Any]) -> None:
    """The merged attributes stay within a contact's bounds (each change alone may)."""
    problems = []
    if len(attributes) > MAX_CONTACT_ATTRIBUTES:
        problems.append(
            f"the contact would have {len(attributes)} attributes; at most "
            f"{MAX_CONTACT_ATTRIBUTES} (set some to null to remove them)"
        )
    size = len(json.dumps(attributes, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_CONTACT_BYTES:
        problems.append(
            f"the contact's attributes would be {size:,} bytes as JSON; at most "
            f"{MAX_CONTACT_BYTES:,}"
        )
    if problems:
        raise ProblemsError([Problem(path="attributes", message=m) for m in problems])


def get_contact(session: Session, contact_id: str) -> Contact | None:
    row = session.get(ContactRow, contact_id)
    return contact_of(row) if row else None


def contact_lock(contact_id: str) -> str:
    """The lock (`store.locks`) a transaction holds before it upserts the contact among
    others, so that two such transactions never wait on each other's rows."""
    return f"contact\n{contact_id}"


def find_contacts(session: Session, text: str, limit: int = 20) -> list[Contact]:
    """Contacts whose id or email is `text` (an email as written or lowercased: both are
    exact matches, which the indexes answer)."""
    text = text.strip()
    if not text:
        return []
    rows = session.exec(
        select(ContactRow)
        .where(or_(col(ContactRow.id) == text, col(ContactRow.email).in_({text, text.lower()})))
        .order_by(col(ContactRow.id))
        .limit(limit)
    ).all()
    return [contact_of(row) for row in rows]


def contacts_with_phone(session: Session, phone: str) -> list[str]:
    return list(session.exec(select(ContactRow.id).where(ContactRow.phone == phone)).all())


_CONTACTS = table(ContactRow)
# Every send takes it: built once (see journeys.store); Core, as the ORM would look for the
# row among the session's objects to update it.
_LOCK = update(_CONTACTS).where(_CONTACTS.c.id == bindparam("contact")).values(id=_CONTACTS.c.id)


def lock_contact(session: Session, contact_id: str) -> None:
    """Hold the contact until the transaction ends, so two sends to one contact decide one
    after the other (frequency caps count each other). An UPDATE takes the row lock on
    PostgreSQL and the write lock at once on SQLite, where a read would not."""
    session.execute(_LOCK, {"contact": contact_id})
