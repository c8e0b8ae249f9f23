"""Trigger events one at a time or in batches: the gateway's hot path.

No store round trip for validation or routing: the catalog and routes are in memory.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from api.deps import EventWriter, ServicesDep, contact_writer
from api.event_answers import (
    MAX_BATCH,
    BatchOut,
    EventAccepted,
    EventId,
    accept_all,
    batch_out,
)
from journeys.contacts.model import ContactChanges, ContactWriter
from journeys.definitions.common import BindingId, ContactId
from journeys.engine.events import Attributes
from journeys.ingest.contracts import EventRequest
from journeys.kit.problems import Problem, problems_from_validation_error

router = APIRouter(prefix="/v1", tags=["events"])


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: ContactId
    event_id: EventId | None = Field(
        default=None, description="Your id for this event; a retry with the same id acts once."
    )
    binding_id: BindingId | None = Field(
        default=None,
        description="The order, cart, ... the event is about (journeys run per binding).",
    )
    occurred_at: AwareDatetime | None = None
    attributes: Attributes = Field(default_factory=dict)
    contact: ContactChanges | None = Field(
        default=None,
        description="The contact's data (email, phone, names, consent, ...), upserted before "
        "the event is routed: an event for a contact Journeys does not know starts nothing "
        "without it (`unknown_contact`).",
    )

    def request(self, trigger: str, writer: ContactWriter) -> EventRequest:
        return EventRequest(
            trigger=trigger,
            contact_id=self.contact_id,
            attributes=self.attributes,
            event_id=self.event_id,
            binding_id=self.binding_id,
            occurred_at=self.occurred_at,
            contact=self.contact,
            contact_writer=writer,
        )


class BatchItem(EventIn):
    trigger: str


class BatchIn(BaseModel):
    events: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


@router.post(
    "/triggers/{name}/events",
    status_code=HTTPStatus.ACCEPTED,
    responses={
        403: {"description": "An interaction trigger, or a key without events:write"},
        404: {"description": "Unknown trigger"},
        409: {"description": "Trigger not ready"},
        503: {"description": "Temporal unreachable: retry with the same event_id"},
    },
)
async def fire_trigger(
    name: str, body: EventIn, services: ServicesDep, principal: EventWriter
) -> EventAccepted:
    """Fire a trigger for one contact: start, continue or stop the journeys that use it."""
    request = body.request(name, contact_writer(principal))
    return EventAccepted.of(await services.ingestion.accept(request))


@router.post("/events:batch", response_model_exclude_none=True)
async def fire_batch(
    body: BatchIn, services: ServicesDep, response: Response, principal: EventWriter
) -> BatchOut:
    """Up to 500 events, each with its `trigger`; each gets its own result, in order."""
    writer = contact_writer(principal)
    items = [_batch_item(item, writer) for item in body.events]
    results = await accept_all(services.ingestion, items)
    return batch_out(results, response)


_BATCH_ITEM: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)


def _batch_item(item: dict[str, Any], writer: ContactWriter) -> EventRequest | list[Problem]:
    try:
        parsed = _BATCH_ITEM.validate_python(item)
    except ValidationError as error:
        return problems_from_validation_error(error)
    return parsed.request(parsed.trigger, writer)
