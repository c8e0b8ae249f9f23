"""Journeys: drafts, publishing, stopping, and where each contact is."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import Admin, ServicesDep, SessionDep
from api.routes.definitions_body import definition_body, journey_body
from api.services import Services
from journeys.definitions.common import BindingId, ContactId, JourneyId
from journeys.definitions.documents import to_document
from journeys.definitions.journeys import JourneyDefinition
from journeys.definitions.validation import validate_journey
from journeys.engine.state import HistoryEntry, Outcome, RunStatus
from journeys.ingest.dispatch import TemporalUnavailable
from journeys.kit.problems import ProblemsError
from journeys.store import journeys as store
from journeys.store.db import transaction
from journeys.temporal import names
from journeys.temporal.runs import latest_entered_run, signal_runs, stop_runs

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])


class VersionOut(BaseModel):
    version: int
    published_at: datetime
    published_by: str
    live: bool = False


class JourneyOut(BaseModel):
    id: str
    name: str
    status: store.JourneyStatus
    live_version: int | None
    has_unpublished_changes: bool
    versions: list[VersionOut]
    definition: dict[str, Any]  # the draft
    updated_at: datetime

    @classmethod
    def of(cls, journey: store.Journey) -> JourneyOut:
        return cls(
            id=journey.id,
            name=journey.name,
            status=journey.status,
            live_version=journey.live_version,
            has_unpublished_changes=journey.has_unpublished_changes,
            versions=[
                VersionOut(**vars(v), live=v.version == journey.live_version)
                for v in journey.versions
            ],
            definition=to_document(journey.draft),
            updated_at=journey.updated_at,
        )


class Published(BaseModel):
    id: str
    version: int
    new_version: bool


class Stopped(BaseModel):
    id: str
    status: store.JourneyStatus
    runs_stopping: int


class InstanceOut(BaseModel):
    workflow_id: str
    run_id: str
    status: RunStatus
    step: str | None
    version: int
    waiting_until: datetime | None
    outcome: Outcome | None
    history: list[HistoryEntry]
    temporal_ui: str


@router.get("")
def list_journeys(session: SessionDep, _: Admin) -> list[JourneyOut]:
    return [JourneyOut.of(j) for j in store.list_journeys(session)]


@router.put(
    "/{journey_id}",
    responses={201: {"description": "Created"}, 422: {"description": "Every problem found"}},
    openapi_extra=definition_body(JourneyDefinition.model_json_schema(by_alias=True)),
)
def put_journey(
    journey_id: str,
    definition: Annotated[JourneyDefinition, Depends(journey_body)],
    response: Response,
    services: ServicesDep,
    session: SessionDep,
    _: Admin,
) -> JourneyOut:
    """Save a journey's draft (JSON, or YAML with `Content-Type: application/yaml`)."""
    problems = validate_journey(definition, services.catalog.snapshot.catalog)
    if problems:
        raise ProblemsError(problems)
    created = store.save_draft(session, definition)
    session.commit()
    response.status_code = HTTPStatus.CREATED if created else HTTPStatus.OK
    return JourneyOut.of(store.get_journey(session, journey_id))


@router.get("/{journey_id}", responses={404: {"description": "Unknown journey"}})
def get_journey(journey_id: str, session: SessionDep, _: Admin) -> JourneyOut:
    return JourneyOut.of(store.get_journey(session, journey_id))


@router.get("/{journey_id}/versions")
def list_versions(journey_id: JourneyId, session: SessionDep, _: Admin) -> list[VersionOut]:
    """Every published version, numbered, with who published it and when."""
    return JourneyOut.of(store.get_journey(session, journey_id)).versions


@router.post("/{journey_id}/publish", responses={422: {"description": "Every problem found"}})
def publish_journey(
    journey_id: str, services: ServicesDep, session: SessionDep, principal: Admin
) -> Published:
    """Publish the draft: new entries use it; running instances keep their version."""
    version, created = store.publish(
        session, journey_id, principal.name, services.catalog.snapshot.catalog
    )
    session.commit()
    services.catalog.reload()
    return Published(id=journey_id, version=version, new_version=created)


@router.post("/{journey_id}/stop", responses={503: {"description": "Temporal unreachable"}})
async def stop_journey(journey_id: JourneyId, services: ServicesDep, _: Admin) -> Stopped:
    """Stop new entries at once, and end every running instance."""
    await run_in_threadpool(_stop_entries, services, journey_id)
    try:
        asked = await stop_runs(
            services.temporal,
            services.settings.task_queue,
            "journey_stopped",
            journey_id=journey_id,
        )
    except RuntimeError as error:
        raise TemporalUnavailable(str(error)) from error
    return Stopped(id=journey_id, status=store.JourneyStatus.STOPPED, runs_stopping=asked)


def _stop_entries(services: Services, journey_id: str) -> None:
    with transaction(services.engine) as session:
        store.stop(session, journey_id)
    services.catalog.reload()


class Paused(BaseModel):
    id: str
    status: store.JourneyStatus
    runs_signaled: int


@router.post(
    "/{journey_id}/pause",
    responses={409: {"description": "Not published"}, 503: {"description": "Temporal unreachable"}},
)
async def pause_journey(journey_id: JourneyId, services: ServicesDep, _: Admin) -> Paused:
    """No new entries (each refusal is recorded as journey_paused); running instances freeze:
    their waits stop counting, the events they get are kept for when the journey resumes."""
    return await _pause(services, journey_id, paused=True)


@router.post(
    "/{journey_id}/resume",
    responses={409: {"description": "Not paused"}, 503: {"description": "Temporal unreachable"}},
)
async def resume_journey(journey_id: JourneyId, services: ServicesDep, _: Admin) -> Paused:
    """New entries again; running instances go on where they were, their waits extended by
    the time spent paused."""
    return await _pause(services, journey_id, paused=False)


async def _pause(services: Services, journey_id: str, paused: bool) -> Paused:
    def change() -> None:
        with transaction(services.engine) as session:
            store.set_paused(session, journey_id, paused)
        services.catalog.reload()

    try:
        await run_in_threadpool(change)
    except store.NotLive as error:
        raise HTTPException(HTTPStatus.CONFLICT, str(error)) from None
    signal = names.PAUSE_SIGNAL if paused else names.RESUME_SIGNAL
    try:
        reached = await signal_runs(
            services.temporal, services.settings.task_queue, signal, journey_id=journey_id
        )
    except RuntimeError as error:
        raise TemporalUnavailable(str(error)) from error
    status = store.JourneyStatus.PAUSED if paused else store.JourneyStatus.PUBLISHED
    return Paused(id=journey_id, status=status, runs_signaled=reached)


@router.get(
    "/{journey_id}/instances/{contact_id}",
    responses={404: {"description": "The contact never entered this journey"}},
)
async def get_instance(
    journey_id: JourneyId,
    contact_id: ContactId,
    services: ServicesDep,
    _: Admin,
    binding_id: Annotated[
        BindingId | None, Query(description="For a journey run per binding.")
    ] = None,
) -> InstanceOut:
    """Where a contact is in a journey: its newest run's status, step, version and history."""
    try:
        found = await latest_entered_run(services.temporal, journey_id, contact_id, binding_id)
    except RuntimeError as error:
        raise TemporalUnavailable(str(error)) from error
    if found is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, f"{contact_id} never entered {journey_id}")
    workflow_id, run_id, view = found
    return InstanceOut(
        workflow_id=workflow_id,
        run_id=run_id,
        status=view.status,
        step=view.step,
        version=view.version,
        waiting_until=view.waiting_until,
        outcome=view.outcome,
        history=view.history,
        temporal_ui=services.temporal_ui_link(workflow_id, run_id),
    )
