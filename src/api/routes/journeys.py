"""Journeys: drafts and versions, their lifecycle, where each contact is, their figures, and
the authoring tools (diffs, graphs, the simulator, test sends)."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from api.bodies import definition_body, journey_body
from api.deps import Admin, ServicesDep, SessionDep
from api.drafts import DraftConflictBody, draft_etag, expected_revision
from journeys.authoring.diff import Diff, diff
from journeys.authoring.graph import html_page, mermaid, svg
from journeys.authoring.simulate import Simulation, SimulationResult, simulate
from journeys.definitions.catalog import TriggerCatalog
from journeys.definitions.common import BindingId, ContactId, JourneyId
from journeys.definitions.documents import journey_problems, to_document
from journeys.definitions.journeys import JourneyDefinition
from journeys.engine.commands import SendSettled
from journeys.engine.state import HistoryEntry, Outcome, RunStatus
from journeys.kit.isolated import Overrun
from journeys.kit.problems import Problem, ProblemsError
from journeys.store import journeys as store
from journeys.store.analytics import Stats, journey_stats
from journeys.temporal.errors import reaching_temporal
from journeys.temporal.runs import latest_entered_run

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])

VersionRef = Annotated[
    int | Literal["draft", "live"],
    Query(description="A version number, `draft` or `live` (default: draft)"),
]


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
    definition: dict[str, Any] = Field(
        description="The draft as saved. The editor saves drafts that do not validate yet: "
        "`draft_problems` then says why, and publishing refuses it."
    )
    draft_revision: int = Field(
        description="Counted up by every save that changes the draft; the answer's ETag "
        'is `"draft-<revision>"`, for If-Match on PUT.'
    )
    draft_problems: list[Problem] = Field(
        description="What PUT would refuse the draft for (none for a draft PUT saved)."
    )
    updated_at: datetime

    @classmethod
    def of(cls, journey: store.Journey, catalog: TriggerCatalog) -> JourneyOut:
        return cls(
            id=journey.id,
            name=journey.name,
            status=journey.status,
            live_version=journey.live_version,
            has_unpublished_changes=journey.has_unpublished_changes,
            versions=_versions(journey),
            definition=to_document(journey.draft) if journey.draft else journey.document,
            draft_revision=journey.draft_revision,
            draft_problems=journey_problems(journey.document, catalog)[1],
            updated_at=journey.updated_at,
        )


def _versions(journey: store.Journey) -> list[VersionOut]:
    return [VersionOut(**vars(v), live=v.version == journey.live_version) for v in journey.versions]


class Published(BaseModel):
    id: str
    version: int
    new_version: bool


class Stopped(BaseModel):
    id: str
    status: store.JourneyStatus
    runs_stopping: int


class Paused(BaseModel):
    id: str
    status: store.JourneyStatus
    runs_signaled: int


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


class SimulationIn(Simulation):
    model_config = ConfigDict(extra="forbid")

    version: int | Literal["draft", "live"] = "draft"


class TestSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: ContactId
    version: int | Literal["draft", "live"] = "draft"
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Start trigger attributes used to personalize it."
    )


# -- drafts and versions ----------------------------------------------------------------


@router.get("")
def list_journeys(session: SessionDep, services: ServicesDep, _: Admin) -> list[JourneyOut]:
    catalog = services.catalog.snapshot.catalog
    return [JourneyOut.of(j, catalog) for j in store.list_journeys(session)]


@router.put(
    "/{journey_id}",
    responses={
        201: {"model": JourneyOut, "description": "Created"},
        412: {
            "model": DraftConflictBody,
            "description": "If-Match names a revision the draft is no longer at: it was "
            "saved meanwhile (the answer says what changed)",
        },
        422: {"description": "Every problem found"},
    },
    openapi_extra=definition_body(JourneyDefinition),
)
def put_journey(
    journey_id: str,
    definition: Annotated[JourneyDefinition, Depends(journey_body)],
    response: Response,
    services: ServicesDep,
    session: SessionDep,
    _: Admin,
    if_match: Annotated[
        str | None,
        Header(
            description='The ETag GET answered (`"draft-<revision>"`): save only if the draft '
            "is still at that revision (else 412). Without it, the save replaces any draft."
        ),
    ] = None,
) -> JourneyOut:
    """Save a journey's draft (JSON, or YAML with `Content-Type: application/yaml`)."""
    expected = expected_revision(if_match)
    created = services.journeys.save_draft(definition, expected_revision=expected)
    response.status_code = HTTPStatus.CREATED if created else HTTPStatus.OK
    return _answer(store.get_journey(session, journey_id), services, response)


@router.get("/{journey_id}", responses={404: {"description": "Unknown journey"}})
def get_journey(
    journey_id: str, response: Response, session: SessionDep, services: ServicesDep, _: Admin
) -> JourneyOut:
    """The journey: its draft (with the draft's revision as the ETag), status and versions."""
    return _answer(store.get_journey(session, journey_id), services, response)


def _answer(journey: store.Journey, services: ServicesDep, response: Response) -> JourneyOut:
    response.headers["ETag"] = draft_etag(journey.draft_revision)
    return JourneyOut.of(journey, services.catalog.snapshot.catalog)


@router.get("/{journey_id}/versions")
def list_versions(journey_id: JourneyId, session: SessionDep, _: Admin) -> list[VersionOut]:
    """Every published version, numbered, with who published it and when."""
    return _versions(store.get_journey(session, journey_id))


@router.get("/{journey_id}/versions/{version}")
def read_version(
    journey_id: JourneyId, version: int, session: SessionDep, _: Admin
) -> dict[str, Any]:
    """A published version's definition, as it was published."""
    return to_document(store.definition_at(session, journey_id, version)[0])


@router.get("/{journey_id}/diff")
def diff_versions(
    journey_id: JourneyId,
    session: SessionDep,
    _: Admin,
    from_: Annotated[int | Literal["draft", "live"], Query(alias="from")] = "live",
    to: Annotated[int | Literal["draft", "live"], Query()] = "draft",
) -> Diff:
    """What changed between two versions (or a version and the draft, valid or not)."""
    old = store.document_at(session, journey_id, from_)[0]
    new = store.document_at(session, journey_id, to)[0]
    return diff(old, new, str(from_), str(to))


# -- lifecycle ----------------------------------------------------------------------------


@router.post("/{journey_id}/publish", responses={422: {"description": "Every problem found"}})
def publish_journey(journey_id: str, services: ServicesDep, principal: Admin) -> Published:
    """Publish the draft: new entries use it; running instances keep their version."""
    version, created = services.journeys.publish(journey_id, principal.name)
    return Published(id=journey_id, version=version, new_version=created)


@router.post("/{journey_id}/stop", responses={503: {"description": "Temporal unreachable"}})
async def stop_journey(journey_id: JourneyId, services: ServicesDep, _: Admin) -> Stopped:
    """Stop new entries at once, and end every running instance."""
    asked = await services.journeys.stop(journey_id)
    return Stopped(id=journey_id, status=store.JourneyStatus.STOPPED, runs_stopping=asked)


@router.post(
    "/{journey_id}/pause",
    responses={409: {"description": "Not published"}, 503: {"description": "Temporal unreachable"}},
)
async def pause_journey(journey_id: JourneyId, services: ServicesDep, _: Admin) -> Paused:
    """No new entries (each refusal is recorded as journey_paused); running instances freeze:
    their waits stop counting, the events they get are kept for when the journey resumes."""
    reached = await services.journeys.pause(journey_id)
    return Paused(id=journey_id, status=store.JourneyStatus.PAUSED, runs_signaled=reached)


@router.post(
    "/{journey_id}/resume",
    responses={409: {"description": "Not paused"}, 503: {"description": "Temporal unreachable"}},
)
async def resume_journey(journey_id: JourneyId, services: ServicesDep, _: Admin) -> Paused:
    """New entries again; running instances go on where they were, their waits extended by
    the time spent paused."""
    reached = await services.journeys.resume(journey_id)
    return Paused(id=journey_id, status=store.JourneyStatus.PUBLISHED, runs_signaled=reached)


# -- runs and figures ---------------------------------------------------------------------


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
    with reaching_temporal():
        found = await latest_entered_run(services.temporal, journey_id, contact_id, binding_id)
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


class Removed(BaseModel):
    journey_id: str
    contact_id: str
    binding_id: str | None
    runs_stopping: int = Field(description="Runs asked to end, each with the reason `removed`.")


@router.post(
    "/{journey_id}/instances/{contact_id}/stop",
    status_code=HTTPStatus.ACCEPTED,
    responses={
        404: {"description": "Unknown journey, or the contact is in no run of it"},
        503: {"description": "Temporal unreachable"},
    },
)
async def remove_contact(
    journey_id: JourneyId,
    contact_id: ContactId,
    services: ServicesDep,
    _: Admin,
    binding_id: Annotated[
        BindingId | None, Query(description="One run of a journey run per binding.")
    ] = None,
) -> Removed:
    """Take one contact out of one journey: its runs (or the one of that binding) end at
    once, recorded with the reason `removed`."""
    stopping = await services.journeys.remove(journey_id, contact_id, binding_id)
    return Removed(
        journey_id=journey_id,
        contact_id=contact_id,
        binding_id=binding_id,
        runs_stopping=stopping,
    )


@router.get("/{journey_id}/stats", responses={404: {"description": "Unknown journey or version"}})
def stats(
    journey_id: JourneyId,
    session: SessionDep,
    _: Admin,
    version: Annotated[
        int | None, Query(description="Count one published version (default: all of them)")
    ] = None,
) -> Stats:
    """Entries, refusals, exits, goals, the per-step funnel and channel figures, counted from
    the ledgers the workers write as runs go: seconds old, not hours."""
    if version is not None:
        store.definition_at(session, journey_id, version)  # 404 for a version never published
    return journey_stats(session, journey_id, version, datetime.now(UTC))


# -- before going live --------------------------------------------------------------------


@router.get(
    "/{journey_id}/graph",
    response_class=Response,
    responses={
        200: {
            "content": {
                media_type: {"schema": {"type": "string"}}
                for media_type in ("text/plain", "image/svg+xml", "text/html")
            },
            "description": "Mermaid text, an SVG drawing or an HTML page, by `Accept`",
        }
    },
)
def graph(
    journey_id: JourneyId,
    request: Request,
    session: SessionDep,
    _: Admin,
    version: VersionRef = "draft",
) -> Response:
    """The journey as a graph: Mermaid text (the default), SVG, or HTML by `Accept`."""
    definition, _number = store.definition_at(session, journey_id, version)
    accept = request.headers.get("accept", "")
    if "image/svg+xml" in accept:
        return Response(svg(definition), media_type="image/svg+xml")
    if "text/html" in accept:
        return HTMLResponse(html_page(definition))
    return PlainTextResponse(mermaid(definition))


@router.post("/{journey_id}/simulate")
def simulate_journey(
    journey_id: JourneyId,
    body: SimulationIn,
    session: SessionDep,
    services: ServicesDep,
    _: Admin,
) -> SimulationResult:
    """Run the journey for a given contact and a timed script of events, on a virtual clock:
    the path taken, each message rendered, each wait, each decision. Nothing is sent and
    Temporal is not used. It runs in a process of its own, within a time and memory limit."""
    definition, number = store.definition_at(session, journey_id, body.version)
    simulation = Simulation.model_validate(body.model_dump(exclude={"version"}))
    try:
        return services.isolated.run(simulate, definition, simulation, number)
    except Overrun as error:
        stopped = Problem(path="", message=f"the simulation was stopped: {error}")
        raise ProblemsError([stopped]) from None


@router.post(
    "/{journey_id}/steps/{step_id}/test-send",
    responses={404: {"description": "No such message step"}, 504: {"description": "No worker"}},
)
async def send_test(
    journey_id: JourneyId, step_id: str, body: TestSendIn, services: ServicesDep, _: Admin
) -> SendSettled:
    """Send one step's message to one contact, marked as a test, without entering the journey.
    Consent still applies."""
    return await services.journeys.send_test(
        journey_id, step_id, body.version, body.contact_id, body.attributes
    )
