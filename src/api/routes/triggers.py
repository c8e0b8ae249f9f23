"""The trigger catalog: built-in business and interaction triggers, and custom ones."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field

from api.bodies import definition_body, trigger_body
from api.deps import Admin, EventWriter, ServicesDep
from journeys.definitions.catalog import Trigger
from journeys.definitions.documents import to_document
from journeys.definitions.triggers import AttributeSpec, TriggerDefinition
from journeys.ingest.routing import RoutingIndex

router = APIRouter(prefix="/v1/triggers", tags=["triggers"])


class JourneyUse(BaseModel):
    journey_id: str
    roles: list[str]  # start, continue, exit


class TriggerOut(BaseModel):
    name: str
    kind: str
    audience: str | None
    status: str
    description: str
    attributes: list[AttributeSpec]
    open_attributes: bool
    channel: str | None = None
    entity: str | None = None
    operation: str | None = None
    changed: list[str] | None = None
    contact_field: str | None = None
    journeys: list[JourneyUse]
    definition: dict[str, Any] | None = Field(
        default=None, description="The definition of a custom trigger, as it was put."
    )

    @classmethod
    def of(cls, trigger: Trigger, routing: RoutingIndex) -> TriggerOut:
        definition = trigger.definition
        return cls(
            name=trigger.name,
            kind=trigger.kind,
            audience=trigger.audience,
            status=trigger.status,
            description=trigger.description,
            attributes=list(trigger.attributes),
            open_attributes=trigger.open_attributes,
            channel=trigger.channel,
            entity=definition.entity if definition else None,
            operation=definition.operation if definition else None,
            changed=definition.changed or None if definition else None,
            contact_field=definition.contact_field if definition else None,
            journeys=[
                JourneyUse(journey_id=journey, roles=sorted(roles))
                for journey, roles in sorted(routing.uses(trigger.name).items())
            ],
            definition=to_document(definition) if definition else None,
        )


@router.get("")
async def list_triggers(services: ServicesDep, _: EventWriter) -> list[TriggerOut]:
    """Every trigger: built-in business and interaction triggers, then custom ones."""
    snapshot = services.catalog.snapshot
    return [TriggerOut.of(t, snapshot.routing) for t in snapshot.catalog.values()]


@router.get("/{name}", responses={404: {"description": "Unknown trigger"}})
async def read_trigger(name: str, services: ServicesDep, _: EventWriter) -> TriggerOut:
    snapshot = services.catalog.snapshot
    trigger = snapshot.catalog.get(name)
    if trigger is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"unknown trigger {name!r}")
    return TriggerOut.of(trigger, snapshot.routing)


@router.delete(
    "/{name}",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    responses={
        404: {"description": "Unknown trigger"},
        409: {"description": "In use, or built in"},
    },
)
def delete_custom_trigger(name: str, services: ServicesDep, _: Admin) -> Response:
    """Delete a custom trigger that no published journey uses."""
    services.triggers.delete(name)
    return Response(status_code=HTTPStatus.NO_CONTENT)


@router.put(
    "/{name}",
    responses={
        201: {"model": TriggerOut, "description": "Created"},
        409: {"description": "Published journeys rely on what the change takes away"},
        422: {"description": "Every problem found"},
    },
    openapi_extra=definition_body(TriggerDefinition),
)
def put_custom_trigger(
    name: str,
    definition: Annotated[TriggerDefinition, Depends(trigger_body)],
    response: Response,
    services: ServicesDep,
    _: Admin,
) -> TriggerOut:
    """Define a custom trigger (or a record_change trigger), or replace its definition."""
    created, snapshot = services.triggers.put(definition)
    response.status_code = HTTPStatus.CREATED if created else HTTPStatus.OK
    return TriggerOut.of(snapshot.catalog[name], snapshot.routing)
