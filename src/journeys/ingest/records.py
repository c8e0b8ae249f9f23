"""Record changes: which business and record_change triggers a CRM record change fires.

Pure: given the operation and the before/after images of one record, it says which
triggers fire for which contact. Change detection is exact: a column counts as changed
only when its new value differs from its old one once both are normalized (emails
compare without case or surrounding spaces, phone numbers by their digits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from journeys.contacts.model import ContactChanges
from journeys.definitions.triggers import RecordOperation, TriggerDefinition, TriggerType

# Columns whose change fires contact.address_updated and contact.phone_updated.
ADDRESS_COLUMNS = (
    "address_line1",
    "address_line2",
    "address_line3",
    "city",
    "state",
    "postal_code",
    "country",
)
PHONE_COLUMNS = ("phone", "mobile_phone", "business_phone", "home_phone")
# A record of another entity names its contact in this column.
CONTACT_COLUMN = "contact_id"
CANCELED = frozenset({"canceled", "cancelled"})


class Entity(StrEnum):
    """Entities with built-in business triggers; any other name may have record_change ones."""

    CONTACT = "contact"
    LEAD = "lead"
    INCIDENT = "incident"
    OPPORTUNITY = "opportunity"
    EVENT_CHECKIN = "event_checkin"
    EVENT_REGISTRATION = "event_registration"
    MARKETING_FORM_SUBMISSION = "marketing_form_submission"


# Entities whose creation fires one business trigger, for the record's contact.
_CREATED = {
    Entity.CONTACT: "contact.created",
    Entity.LEAD: "lead.created",
    Entity.INCIDENT: "incident.created",
    Entity.OPPORTUNITY: "opportunity.created",
    Entity.EVENT_CHECKIN: "event_checkin.created",
    Entity.EVENT_REGISTRATION: "event_registration.created",
    Entity.MARKETING_FORM_SUBMISSION: "marketing_form.submitted",
}


@dataclass(frozen=True)
class RecordChange:
    entity: str
    operation: RecordOperation
    id: str
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)

    @property
    def record(self) -> dict[str, Any]:
        """The whole record as it is now: the before image updated by the after image."""
        return {**self.before, "id": self.id, **self.after}

    @property
    def is_person(self) -> bool:
        """Contact and lead records are the contact themselves."""
        return self.entity in (Entity.CONTACT, Entity.LEAD)

    def changed(self, column: str) -> bool:
        """Whether an update changed the column. A column absent from `after` did not change;
        one present in `after` but absent from `before` did (its old value is unknown).
        A deletion changes no column."""
        if self.operation is RecordOperation.DELETE:
            return False
        if self.operation is RecordOperation.CREATE:
            return column in self.after and self.after[column] is not None
        if column not in self.after:
            return False
        if column not in self.before:
            return True
        return bool(
            _normalized(column, self.after[column]) != _normalized(column, self.before[column])
        )

    def contact_id(self, column: str = CONTACT_COLUMN) -> str | None:
        if column == CONTACT_COLUMN and self.is_person:
            return self.id
        value = self.record.get(column)
        return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Firing:
    trigger: str
    contact_id: str | None  # None: the record names no contact, so nothing can fire


def business_triggers(change: RecordChange) -> list[Firing]:
    triggers: list[str] = []
    entity = change.entity
    if change.operation is RecordOperation.CREATE:
        if entity in _CREATED:
            triggers.append(_CREATED[Entity(entity)])
    elif entity == Entity.CONTACT:
        if change.changed("email"):
            triggers.append("contact.email_updated")
        if any(change.changed(column) for column in ADDRESS_COLUMNS):
            triggers.append("contact.address_updated")
        if any(change.changed(column) for column in PHONE_COLUMNS):
            triggers.append("contact.phone_updated")
    elif entity == Entity.EVENT_REGISTRATION and _became_canceled(change):
        triggers.append("event_registration.canceled")
    return [Firing(trigger, change.contact_id()) for trigger in triggers]


def record_change_triggers(
    change: RecordChange, definitions: Iterable[TriggerDefinition]
) -> list[Firing]:
    """User-defined record_change triggers: same entity and operation, and for an update,
    at least one of their `changed` columns changed (none listed: any update fires)."""
    firings = []
    for definition in definitions:
        if definition.type is not TriggerType.RECORD_CHANGE:
            continue
        if definition.entity != change.entity or definition.operation is not change.operation:
            continue
        watched = definition.changed if change.operation is RecordOperation.UPDATE else []
        if watched and not any(change.changed(column) for column in watched):
            continue
        assert definition.contact_field is not None
        firings.append(Firing(definition.name, change.contact_id(definition.contact_field)))
    return firings


def _became_canceled(change: RecordChange) -> bool:
    # Canceled means the status became canceled; deleting a registration fires nothing.
    return change.changed("status") and str(change.after["status"]).strip().lower() in CANCELED


def _normalized(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column == "email" and isinstance(value, str):
        return value.strip().casefold()
    if column in PHONE_COLUMNS and isinstance(value, str):
        digits = re.sub(r"[^\d+]", "", value)
        return digits or None
    if isinstance(value, str):
        return value.strip() or None
    return value


_CONTACT_FIELDS = ("email", "phone", "first_name", "last_name", "timezone")
_CONSENT_COLUMNS = {"consent_email": "email", "consent_sms": "sms", "consent_push": "push"}


def record_columns(changes: ContactChanges) -> dict[str, Any]:
    """A contact's change as the columns of its record: the reverse of `contact_changes`, so
    that a profile written with PUT /v1/contacts is the state a later record change is
    compared with."""
    given = changes.model_fields_set
    columns = {name: getattr(changes, name) for name in _CONTACT_FIELDS if name in given}
    if changes.consent is not None:
        for channel in changes.consent.model_fields_set:
            column = next(c for c, name in _CONSENT_COLUMNS.items() if name == channel)
            columns[column] = getattr(changes.consent, channel)
    columns.update(changes.attributes or {})
    return columns


def contact_changes(change: RecordChange) -> dict[str, Any]:
    """What a contact or lead record changes on the contact: its standard fields, consent
    columns (`consent_email`, `consent_sms`, `consent_push`), every other column as an
    attribute. Only the columns the change carries are touched."""
    changes: dict[str, Any] = {}
    consent: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for column, value in change.after.items():
        if column == "id":
            continue
        if column in _CONTACT_FIELDS:
            changes[column] = value
        elif column in _CONSENT_COLUMNS:
            consent[_CONSENT_COLUMNS[column]] = value
        else:
            attributes[column] = value
    if consent:
        changes["consent"] = consent
    if attributes:
        changes["attributes"] = attributes
    return changes
