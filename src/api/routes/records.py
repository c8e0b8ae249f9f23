"""CRM record changes: upsert the contact, then fire the business and record_change triggers."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import EventWriter, ServicesDep
from api.event_answers import EventId
from journeys.definitions.common import AttributeName, ContactId
from journeys.definitions.triggers import RecordOperation
from journeys.ingest.contracts import Attributes
from journeys.ingest.record_changes import RecordFired
from journeys.ingest.records import RecordChange

router = APIRouter(prefix="/v1/records", tags=["records"])


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: RecordOperation
    id: ContactId = Field(description="The record's id (for a contact or lead: the contact id).")
    before: Attributes | None = Field(
        default=None, description="The record before an update: how changes are detected."
    )
    after: Attributes = Field(default_factory=dict)
    event_id: EventId | None = Field(
        default=None, description="Your id for this change; default: derived from its content."
    )

    @model_validator(mode="after")
    def _update_has_before(self) -> RecordIn:
        if self.operation is RecordOperation.UPDATE and self.before is None:
            raise ValueError("an update needs `before`: it is how Journeys knows what changed")
        return self


@router.post("/{entity}", status_code=HTTPStatus.ACCEPTED, response_model_exclude_none=True)
async def record_changed(
    entity: AttributeName, body: RecordIn, services: ServicesDep, _: EventWriter
) -> RecordFired:
    """A record was created or updated in your CRM.

    A contact or lead record first upserts that contact, so the journeys it starts use the
    new data. Then the built-in business triggers and your record_change triggers fire,
    each with the whole record as attributes.
    """
    change = RecordChange(entity, body.operation, body.id, body.before or {}, body.after)
    return await services.records.take(change, body.event_id)
