"""A contact, its consent per channel, and a change to it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from journeys.definitions.common import ContactId, TimeZone, matching
from journeys.kit.bounded import bounded
from journeys.kit.problems import Problem, ProblemsError

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


class ContactWriter(StrEnum):
    """Who changes a contact, which decides what they may change."""

    # An `events:write` key, through an event's `contact` or a record change: adds contacts
    # and their data, but rewrites no contact point (email, phone) and no consent.
    PRODUCER = "producer"
    # A `contacts:write` key: any field, but not a consent the contact withdrew.
    OWNER = "owner"
    # The consent call (`PUT /v1/contacts/{id}/consent`), which says where the consent
    # came from: the one way back after a contact's own withdrawal.
    CONSENT = "consent"
    # The contact themself: an unsubscribe link, a STOP reply, a complaint.
    CONTACT = "contact"
    # A visitor of a web page, through a publishable key (anyone can hold one): creates a
    # contact Journeys does not know, never changes a known one, and is never told which.
    VISITOR = "visitor"


class NotAllowed(ProblemsError):
    """The change needs a right its writer does not have (403)."""


class ConsentWithdrawn(ProblemsError):
    """The change would grant again a consent the contact withdrew (409)."""


def check_change(
    current: Contact | None,
    sources: dict[str, str | None],
    changes: ContactChanges,
    by: ContactWriter,
) -> None:
    """Refuse what `by` may not change in `current` (None: a new contact); `sources` says
    who set each channel's consent."""
    if by is ContactWriter.PRODUCER and current is not None:
        rewritten: list[str] = [
            name
            for name in ("email", "phone")
            if name in changes.model_fields_set and getattr(changes, name) != getattr(current, name)
        ]
        if changes.consent is not None:
            rewritten += [
                f"consent.{channel}"
                for channel in changes.consent.model_fields_set
                if getattr(changes.consent, channel) != getattr(current.consent, channel)
            ]
        if rewritten:
            raise NotAllowed(
                [
                    Problem(
                        path=path,
                        message="changing an existing contact's email, phone or consent needs "
                        "a key with contacts:write",
                    )
                    for path in rewritten
                ]
            )
    if by in (ContactWriter.CONSENT, ContactWriter.CONTACT) or changes.consent is None:
        return
    regranted = [
        channel
        for channel in changes.consent.model_fields_set
        if getattr(changes.consent, channel)
        and (sources.get(channel) or "").startswith(f"{ContactWriter.CONTACT}:")
    ]
    if regranted:
        raise ConsentWithdrawn(
            [
                Problem(
                    path=f"consent.{channel}",
                    message=f"the contact withdrew it ({sources[channel]}); only "
                    "PUT /v1/contacts/{id}/consent, which records where the new consent came "
                    "from, grants it again",
                )
                for channel in regranted
            ]
        )
