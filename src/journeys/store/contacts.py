"""Contacts, with their per-channel consent."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import update
from sqlmodel import Session, col

from journeys.definitions.common import ContactId, TimeZone, matching
from journeys.store.tables import ContactRow
from journeys.store.types import utcnow


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: bool | None = None
    sms: bool | None = None
    push: bool | None = None


Phone = Annotated[
    str, matching(r"\+[1-9][0-9]{6,14}", "a phone number in E.164 form, such as +33612345678")
]


class ContactChanges(BaseModel):
    """A partial update: fields left out are kept, `null` clears a field (or an attribute)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    phone: Phone | None = None
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    timezone: TimeZone | None = None
    attributes: dict[str, Any] | None = None
    consent: Consent | None = None


class Contact(BaseModel):
    id: ContactId
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    timezone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    consent: Consent = Field(default_factory=Consent)

    @classmethod
    def from_row(cls, row: ContactRow) -> Contact:
        return cls(
            id=row.id,
            email=row.email,
            phone=row.phone,
            first_name=row.first_name,
            last_name=row.last_name,
            timezone=row.timezone,
            attributes=row.attributes,
            consent=Consent(email=row.consent_email, sms=row.consent_sms, push=row.consent_push),
        )

    def as_scope(self) -> dict[str, Any]:
        """What `contact.*` means in conditions and templates: custom attributes, then the
        standard fields (which win on a name clash)."""
        return {
            **self.attributes,
            "id": self.id,
            "email": self.email,
            "phone": self.phone,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "timezone": self.timezone,
        }


_FIELDS = ("email", "phone", "first_name", "last_name", "timezone")


def upsert_contact(
    session: Session, contact_id: str, changes: ContactChanges
) -> tuple[Contact, bool]:
    row = session.get(ContactRow, contact_id, with_for_update=True)
    created = row is None
    if row is None:
        row = ContactRow(id=contact_id)
    given = changes.model_fields_set
    for name in _FIELDS:
        if name in given:
            setattr(row, name, getattr(changes, name))
    if changes.attributes is not None:
        merged = {**row.attributes, **changes.attributes}
        row.attributes = {name: value for name, value in merged.items() if value is not None}
    if changes.consent is not None:
        for channel in changes.consent.model_fields_set:
            setattr(row, f"consent_{channel}", getattr(changes.consent, channel))
    row.updated_at = utcnow()
    session.add(row)
    return Contact.from_row(row), created


def get_contact(session: Session, contact_id: str) -> Contact | None:
    row = session.get(ContactRow, contact_id)
    return Contact.from_row(row) if row else None


def lock_contact(session: Session, contact_id: str) -> None:
    """Hold the contact until the transaction ends, so two sends to one contact decide one
    after the other (frequency caps count each other). An UPDATE takes the row lock on
    PostgreSQL and the write lock at once on SQLite, where a read would not."""
    session.exec(
        update(ContactRow).where(col(ContactRow.id) == contact_id).values(id=ContactRow.id)
    )
