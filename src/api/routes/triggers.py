"""The trigger catalog: built-in business and interaction triggers, and custom ones."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field

from api.deps import Admin, EventWriter, ServicesDep, SessionDep
from api.routes.definitions_body import definition_body, trigger_body
from journeys.definitions.catalog import BUILT_IN, Trigger, incompatible_changes
from journeys.definitions.documents import to_document
from journeys.definitions.triggers import AttributeSpec, TriggerDefinition
from journeys.definitions.validation import validate_trigger
from journeys.ingest.routing import RoutingIndex
from journeys.kit.problems import ProblemsError
from journeys.store import triggers as store
from journeys.store.journeys import live_journeys

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
def delete_custom_trigger(
    name: str, services: ServicesDep, session: SessionDep, _: Admin
) -> Response:
    """Delete a custom trigger that no published journey uses."""
    if name in BUILT_IN:
        raise HTTPException(HTTPStatus.CONFLICT, f"{name} is built in: it cannot be deleted")
    users = _users(session, name)
    if users:
        raise HTTPException(
            HTTPStatus.CONFLICT, f"published journeys use {name}: {', '.join(users)}"
        )
    if not store.delete_trigger(session, name):
        raise HTTPException(HTTPStatus.NOT_FOUND, f"unknown trigger {name!r}")
    session.commit()
    services.catalog.reload()
    return Response(status_code=HTTPStatus.NO_CONTENT)


def _users(session: SessionDep, name: str) -> list[str]:
    """Published journeys that use the trigger, read from the store (not a cached index)."""
    return sorted(RoutingIndex(live_journeys(session)).uses(name))


@router.put(
    "/{name}",
    responses={201: {"description": "Created"}, 422: {"description": "Every problem found"}},
    openapi_extra=definition_body(TriggerDefinition.model_json_schema(by_alias=True)),
)
def put_custom_trigger(
    name: str,
    definition: Annotated[TriggerDefinition, Depends(trigger_body)],
    response: Response,
    services: ServicesDep,
    session: SessionDep,
    _: Admin,
) -> TriggerOut:
    """Define a custom trigger (or a record_change trigger), or replace its definition."""
    problems = validate_trigger(definition)
    if problems:
        raise ProblemsError(problems)
    current = store.get_trigger(session, name)
    if current is not None:
        breaking = incompatible_changes(current, definition)
        users = _users(session, name)
        if breaking and users:
            raise HTTPException(
                HTTPStatus.CONFLICT,
                f"{'; '.join(breaking)}: published journeys use {name} ({', '.join(users)})",
            )
    created = store.put_trigger(session, definition)
    session.commit()
    snapshot = services.catalog.reload()
    response.status_code = HTTPStatus.CREATED if created else HTTPStatus.OK
    return TriggerOut.of(snapshot.catalog[name], snapshot.routing)
