"""CRM record changes: kept, the contact upserted, the business and record_change triggers
fired."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import EventWriter, ServicesDep, contact_writer
from api.event_answers import EventId
from journeys.definitions.common import AttributeName, BindingId, ContactId
from journeys.definitions.triggers import RecordOperation
from journeys.engine.events import Attributes
from journeys.ingest.record_changes import RecordEvent, RecordFired

router = APIRouter(prefix="/v1/records", tags=["records"])


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: RecordOperation
    id: ContactId = Field(description="The record's id (for a contact or lead: the contact id).")
    before: Attributes | None = Field(
        default=None,
        description="The record before an update. Left out: the change is compared with the "
        "last state Journeys was told of (none known: every column given counts as changed).",
    )
    after: Attributes = Field(default_factory=dict)
    event_id: EventId | None = Field(
        default=None, description="Your id for this change; default: derived from its content."
    )
    binding_id: BindingId | None = Field(
        default=None, description="The binding of the events it fires (default: `{entity}/{id}`)."
    )


@router.post("/{entity}", status_code=HTTPStatus.ACCEPTED, response_model_exclude_none=True)
async def record_changed(
    entity: AttributeName, body: RecordIn, services: ServicesDep, principal: EventWriter
) -> RecordFired:
    """A record was created, updated or deleted in your CRM.

    A contact or lead record first upserts that contact, so the journeys it starts use the
    new data. Then the built-in business triggers and your record_change triggers fire,
    each with the whole record as attributes, bound to the record (`{entity}/{id}`).
    """
    return await services.records.take(
        RecordEvent(
            entity=entity,
            operation=body.operation,
            id=body.id,
            before=body.before,
            after=body.after,
            event_id=body.event_id,
            binding_id=body.binding_id,
        ),
        contact_writer(principal),
    )
