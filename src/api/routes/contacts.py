"""Contacts: who journeys are about, with consent per channel; their messages and runs."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from api.deps import Admin, ContactsWriter, ServicesDep, SessionDep
from journeys.contacts.model import Consent, Contact, ContactChanges
from journeys.definitions.common import ContactId
from journeys.store.contacts import get_contact
from journeys.store.deliveries import deliveries_of_contact
from journeys.store.entries import entries_of_contact

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


class MessageOut(BaseModel):
    message_id: str
    journey_id: str
    journey_version: int
    step: str
    channel: str
    recipient: str | None
    status: str
    reason: str | None
    summary: str | None
    test: bool
    created_at: datetime
    updated_at: datetime
    # What became of it: set when the provider, the mail client or the contact said so.
    postponed_until: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    bounce_type: str | None
    complained_at: datetime | None
    replied_at: datetime | None
    unsubscribed_at: datetime | None
    failed_at: datetime | None
    error_code: str | None


class Erased(BaseModel):
    id: str
    contact_deleted: bool
    runs_stopping: int
    messages_anonymized: int
    entries_anonymized: int


class EntryOut(BaseModel):
    journey_id: str
    version: int
    admitted: bool
    reason: str | None  # why the entry was refused
    at: datetime
    event_id: str
    ended_at: datetime | None
    outcome: str | None  # completed or exited, once the run ended
    outcome_reason: str | None
    goal_reached_at: datetime | None
    binding_id: str | None
    workflow_id: str | None = Field(description="The run's; none for a refused entry.")
    temporal_ui: str | None


class ConsentIn(Consent):
    source: str = Field(
        min_length=1,
        max_length=180,
        description="Where the contact said so (a form, a call, a double opt-in), kept with it.",
    )


@router.put("/{contact_id}", responses={201: {"model": Contact, "description": "Created"}})
def put_contact(
    contact_id: ContactId,
    changes: ContactChanges,
    response: Response,
    services: ServicesDep,
    _: ContactsWriter,
) -> Contact:
    """Create or update a contact; fields left out are kept, `null` clears one. Quiet: it
    fires no trigger (POST /v1/records/contact does), so an import starts no journey; a
    later record change is compared with what it wrote."""
    contact, created = services.contacts.put(contact_id, changes)
    response.status_code = HTTPStatus.CREATED if created else HTTPStatus.OK
    return contact


@router.put("/{contact_id}/consent", responses={404: {"description": "Unknown contact"}})
def grant_consent(
    contact_id: ContactId, body: ConsentIn, services: ServicesDep, _: ContactsWriter
) -> Contact:
    """Consent the contact gave, per channel, with where they gave it. The only way to grant
    again a consent the contact withdrew (unsubscribe link, STOP, complaint); a yes to SMS
    lifts their number's STOP."""
    consent = Consent.model_validate(body.model_dump(exclude={"source"}, exclude_unset=True))
    contact = services.contacts.grant(contact_id, consent, f"{body.source}")
    if contact is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"no contact {contact_id!r}")
    return contact


@router.get("/{contact_id}", responses={404: {"description": "Unknown contact"}})
def read_contact(contact_id: ContactId, session: SessionDep, _: Admin) -> Contact:
    contact = get_contact(session, contact_id)
    if contact is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"no contact {contact_id!r}")
    return contact


@router.get("/{contact_id}/messages")
def contact_messages(contact_id: ContactId, session: SessionDep, _: Admin) -> list[MessageOut]:
    """The contact's messages, newest first, with their delivery status."""
    return [
        MessageOut.model_validate(row, from_attributes=True)
        for row in deliveries_of_contact(session, contact_id)
    ]


@router.get("/{contact_id}/journeys")
def contact_journeys(
    contact_id: ContactId, services: ServicesDep, session: SessionDep, _: Admin
) -> list[EntryOut]:
    """Every entry of the contact into a journey, and every refused one with its reason."""
    entries = []
    for row in entries_of_contact(session, contact_id):
        workflow_id = row.workflow_id if row.admitted else None
        entries.append(
            EntryOut(
                journey_id=row.journey_id,
                version=row.version,
                admitted=row.admitted,
                reason=row.reason,
                at=row.at,
                event_id=row.event_id,
                ended_at=row.ended_at,
                outcome=row.outcome,
                outcome_reason=row.outcome_reason,
                goal_reached_at=row.goal_reached_at,
                binding_id=row.binding_id or None,
                workflow_id=workflow_id,
                temporal_ui=services.temporal_ui_link(workflow_id, row.run_id)
                if workflow_id
                else None,
            )
        )
    return entries


@router.delete("/{contact_id}", responses={503: {"description": "Temporal unreachable"}})
async def erase(contact_id: ContactId, services: ServicesDep, _: Admin) -> Erased:
    """Erase a contact: their runs end, their personal data goes, anonymous counts stay.

    Temporal keeps the histories of ended runs until the namespace's retention period ends.
    """
    stopping, erasure = await services.contacts.erase(contact_id)
    return Erased(id=contact_id, runs_stopping=stopping, **vars(erasure))
