"""CRM record changes: upsert the contact, then fire the business and record_change triggers."""

from __future__ import annotations

import hashlib
import json
from http import HTTPStatus

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.deps import EventWriter, ServicesDep
from api.routes.events import EventId, RefusedEntry
from api.services import Services
from journeys.contacts.model import ContactChanges
from journeys.definitions.common import AttributeName, ContactId
from journeys.definitions.triggers import RecordOperation
from journeys.ingest.contracts import Attributes, EventRequest, Rejected
from journeys.ingest.records import (
    RecordChange,
    business_triggers,
    contact_changes,
    record_change_triggers,
)
from journeys.kit.problems import Problem, ProblemsError, problems_from_validation_error
from journeys.store.contacts import upsert_contact
from journeys.store.db import transaction

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


class Skipped(BaseModel):
    trigger: str
    status: int
    detail: str
    problems: list[Problem] | None = None


class RecordFired(BaseModel):
    fired: list[str] = Field(description="Triggers fired by this change.")
    started: list[str]
    signaled: list[str]
    refused: list[RefusedEntry] = Field(description="Journeys that refused to start.")
    duplicate: bool = Field(description="True when every fired trigger was a repeat.")
    skipped: list[Skipped] = Field(description="Triggers the change matched but could not fire.")


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
    if change.is_person:
        await run_in_threadpool(_upsert_contact, services, change)
    custom = [t.definition for t in services.catalog.snapshot.catalog.values() if t.definition]
    firings = business_triggers(change) + record_change_triggers(change, custom)
    base = body.event_id or _content_id(entity, body)
    result = RecordFired(
        fired=[], started=[], signaled=[], refused=[], duplicate=bool(firings), skipped=[]
    )
    for firing in firings:
        if firing.contact_id is None:
            detail = "the record names no contact (for a custom trigger: its contact_field)"
            result.skipped.append(Skipped(trigger=firing.trigger, status=422, detail=detail))
            continue
        try:
            accepted = await services.ingestion.accept(
                EventRequest(
                    trigger=firing.trigger,
                    contact_id=firing.contact_id,
                    attributes=change.record,
                    event_id=f"{base}:{firing.trigger}",
                )
            )
        except Rejected as refused:
            result.skipped.append(
                Skipped(
                    trigger=firing.trigger,
                    status=refused.status,
                    detail=refused.detail,
                    problems=refused.problems or None,
                )
            )
            continue
        result.fired.append(firing.trigger)
        result.started += [j for j in accepted.started if j not in result.started]
        result.signaled += [j for j in accepted.signaled if j not in result.signaled]
        result.refused += [RefusedEntry.model_validate(r) for r in accepted.refused]
        result.duplicate = result.duplicate and accepted.duplicate
    result.duplicate = result.duplicate and bool(result.fired)
    return result


def _upsert_contact(services: Services, change: RecordChange) -> None:
    try:
        changes = ContactChanges.model_validate(contact_changes(change))
    except ValidationError as error:
        raise ProblemsError(problems_from_validation_error(error, prefix="after")) from None
    with transaction(services.engine) as session:
        upsert_contact(session, change.id, changes)


def _content_id(entity: str, body: RecordIn) -> str:
    """The same change sent twice gets the same id, so a retry acts once."""
    content = json.dumps(
        [entity, body.operation, body.id, body.before, body.after], sort_keys=True, default=str
    )
    return "record-" + hashlib.sha256(content.encode()).hexdigest()[:32]
