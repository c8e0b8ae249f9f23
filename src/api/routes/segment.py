"""The Segment Spec track call, so CDPs (Segment, RudderStack, ...) can send straight here.

`userId` is the contact, `event` the trigger, `properties` its attributes, `messageId` the
event id. Point a Segment webhook (or RudderStack webhook) destination at this endpoint,
with an API key as the basic-auth user name.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import EventWriter, ServicesDep
from api.event_answers import EventAccepted
from journeys.definitions.common import BindingId, ContactId
from journeys.engine.events import Attributes
from journeys.ingest.contracts import EventRequest

router = APIRouter(prefix="/v1/segment", tags=["events"])


class JourneysContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    binding_id: BindingId | None = None


class Context(BaseModel):
    model_config = ConfigDict(extra="allow")

    journeys: JourneysContext | None = Field(
        default=None, description='Journeys\' own options, e.g. `{"binding_id": "cart-42"}`.'
    )


class Track(BaseModel):
    model_config = ConfigDict(extra="allow")  # Segment sends context, integrations, sentAt, ...

    type: Literal["track"] = "track"
    event: str = Field(min_length=1, max_length=200)
    userId: ContactId = Field(
        description="Journeys follow known contacts: an anonymousId alone cannot be one."
    )
    messageId: str | None = Field(default=None, min_length=1, max_length=200)
    timestamp: AwareDatetime | None = None
    properties: Attributes = Field(default_factory=dict)
    context: Context = Field(default_factory=Context)


class TrackAccepted(EventAccepted):
    ignored_properties: list[str] = Field(
        description="Properties the trigger does not declare, left out of its attributes."
    )


def trigger_name(event: str) -> str:
    """`Order Placed` -> `order.placed`, `Checkout Step Completed` -> `checkout.step_completed`;
    a name that already is a trigger name (`order.placed`) is kept."""
    if re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", event):
        return event
    words = re.findall(r"[a-z0-9]+", event.lower())
    if len(words) < 2:
        return "_".join(words)
    return f"{words[0]}.{'_'.join(words[1:])}"


@router.post("/track", status_code=HTTPStatus.ACCEPTED)
async def track(body: Track, services: ServicesDep, _: EventWriter) -> TrackAccepted:
    """A Segment track call fires the trigger named after its event."""
    name = trigger_name(body.event)
    trigger = services.catalog.snapshot.catalog.get(name)
    # A CDP sends its standard properties to every destination: keep the declared ones.
    declared = (
        body.properties
        if trigger is None or trigger.open_attributes
        else {
            key: value
            for key, value in body.properties.items()
            if trigger.attribute(key) is not None
        }
    )
    binding = body.context.journeys.binding_id if body.context.journeys else None
    accepted = await services.ingestion.accept(
        EventRequest(
            trigger=name,
            contact_id=body.userId,
            attributes=declared,
            event_id=body.messageId,
            binding_id=binding,
            occurred_at=body.timestamp,
        )
    )
    return TrackAccepted(
        **EventAccepted.of(accepted).model_dump(),
        ignored_properties=sorted(set(body.properties) - set(declared)),
    )
