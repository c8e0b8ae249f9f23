"""A contact, its consent per channel, and a change to it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from journeys.definitions.common import ContactId, TimeZone, matching
from journeys.kit.bounded import bounded

# A contact is loaded into its runs' histories, which Temporal keeps bounded (2 MB per
# payload, 50 MB per run): a contact stays well inside, whatever its writers send.
MAX_CONTACT_ATTRIBUTES = 200
MAX_CONTACT_BYTES = 64_000  # its attributes, as JSON
MAX_CONTACT_TEXT = 10_000
MAX_CONTACT_DEPTH = 5


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
    attributes: (
        Annotated[
            dict[str, Any],
            AfterValidator(bounded(MAX_CONTACT_ATTRIBUTES, MAX_CONTACT_TEXT, MAX_CONTACT_DEPTH)),
        ]
        | None
    ) = None
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
