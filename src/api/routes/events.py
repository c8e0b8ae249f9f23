"""Trigger events: the gateway's hot path. No store round trip: catalog and routes are in memory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.deps import EventWriter, ServicesDep
from journeys.catalog import check_attributes
from journeys.definitions.common import BindingId, ContactId
from journeys.definitions.triggers import TriggerStatus
from journeys.events import TriggerEvent
from journeys.problems import ProblemsError

router = APIRouter(prefix="/v1", tags=["events"])

EventId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S+$")]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: ContactId
    event_id: EventId | None = Field(
        default=None, description="Your id for this event; retries with the same id act once."
    )
    binding_id: BindingId | None = Field(
        default=None, description="The order, cart, ... this event is about."
    )
    occurred_at: AwareDatetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class EventAccepted(BaseModel):
    event_id: str
    trigger: str
    started: list[str] = Field(description="Journeys in which this event started a new run.")
    signaled: list[str] = Field(description="Journeys whose running run received the event.")
    duplicate: bool = Field(description="True when this event id was already accepted.")


@router.post(
    "/triggers/{name}/events",
    status_code=HTTPStatus.ACCEPTED,
    responses={
        404: {"description": "Unknown trigger"},
        409: {"description": "Trigger not ready"},
        503: {"description": "Temporal unreachable: retry with the same event_id"},
    },
)
async def fire_trigger(
    name: str, body: EventIn, services: ServicesDep, _: EventWriter
) -> EventAccepted:
    """Fire a trigger for one contact: start, continue or stop the journeys that use it."""
    snapshot = services.catalog.snapshot
    trigger = snapshot.catalog.get(name)
    if trigger is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"unknown trigger {name!r}")
    if trigger.interaction:
        raise HTTPException(
            HTTPStatus.FORBIDDEN,
            f"{name} is an interaction trigger: only Journeys' channels raise it",
        )
    if trigger.status is not TriggerStatus.READY:
        raise HTTPException(HTTPStatus.CONFLICT, f"trigger {name} is {trigger.status}, not ready")
    attributes, problems = check_attributes(trigger, body.attributes)
    if problems:
        raise ProblemsError(problems)
    event_id = body.event_id or uuid.uuid4().hex
    if services.recent_events.seen(event_id):
        return EventAccepted(
            event_id=event_id, trigger=name, started=[], signaled=[], duplicate=True
        )
    event = TriggerEvent(
        event_id=event_id,
        trigger=name,
        contact_id=body.contact_id,
        binding_id=body.binding_id,
        occurred_at=body.occurred_at or datetime.now(UTC),
        attributes=attributes,
    )
    dispatched = await services.dispatcher.dispatch(event, snapshot.routing.routes(name))
    services.recent_events.remember(event_id)
    return EventAccepted(
        event_id=event_id,
        trigger=name,
        started=dispatched.started,
        signaled=dispatched.signaled,
        duplicate=False,
    )
