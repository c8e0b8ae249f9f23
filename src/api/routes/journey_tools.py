"""Authoring tools for a journey: versions and diffs, its graph, the simulator, test sends."""

from __future__ import annotations

import difflib
import uuid
from datetime import timedelta
from http import HTTPStatus
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from temporalio.service import RPCError

from api.deps import Admin, ServicesDep, SessionDep
from journeys.authoring.graph import html_page, mermaid, svg
from journeys.authoring.simulate import Simulation, SimulationResult, simulate
from journeys.definitions.common import ContactId, JourneyId
from journeys.definitions.documents import to_document
from journeys.definitions.journeys import EmailStep, JourneyDefinition, PushStep, SmsStep
from journeys.engine.commands import SendSettled
from journeys.ingest.dispatch import TemporalUnavailable
from journeys.store import journeys as store
from journeys.temporal import names
from journeys.temporal.messages import TestSendInput

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])

VersionRef = Annotated[
    int | Literal["draft", "live"],
    Query(description="A version number, `draft` or `live` (default: draft)"),
]


def definition_at(
    session: Session, journey_id: str, version: int | str
) -> tuple[JourneyDefinition, int]:
    """A journey's definition at a version (`draft`: the draft, numbered 0), or 404."""
    journey = store.get_journey(session, journey_id)
    if version == "draft":
        return journey.draft, 0
    number = journey.live_version if version == "live" else version
    definition = store.get_version(session, journey_id, number) if isinstance(number, int) else None
    if definition is None or not isinstance(number, int):
        raise HTTPException(HTTPStatus.NOT_FOUND, f"journey {journey_id} has no version {version}")
    return definition, number


@router.get("/{journey_id}/versions/{version}")
def read_version(
    journey_id: JourneyId, version: int, session: SessionDep, _: Admin
) -> dict[str, Any]:
    """A published version's definition, as it was published."""
    return to_document(definition_at(session, journey_id, version)[0])


class Diff(BaseModel):
    from_: str = Field(alias="from")
    to: str
    steps_added: list[str]
    steps_removed: list[str]
    steps_changed: list[str]
    diff: str = Field(description="A unified diff of the two definitions, as YAML.")


@router.get("/{journey_id}/diff")
def diff_versions(
    journey_id: JourneyId,
    session: SessionDep,
    _: Admin,
    from_: Annotated[int | Literal["draft", "live"], Query(alias="from")] = "live",
    to: Annotated[int | Literal["draft", "live"], Query()] = "draft",
) -> Diff:
    """What changed between two versions (or a version and the draft)."""
    old, new = (
        definition_at(session, journey_id, from_)[0],
        definition_at(session, journey_id, to)[0],
    )
    old_steps = {s.id: s for _, s in old.walk()}
    new_steps = {s.id: s for _, s in new.walk()}
    text = difflib.unified_diff(
        _yaml(old).splitlines(keepends=True),
        _yaml(new).splitlines(keepends=True),
        fromfile=f"{journey_id}@{from_}",
        tofile=f"{journey_id}@{to}",
    )
    return Diff.model_validate(
        {
            "from": str(from_),
            "to": str(to),
            "steps_added": sorted(new_steps.keys() - old_steps.keys()),
            "steps_removed": sorted(old_steps.keys() - new_steps.keys()),
            "steps_changed": sorted(
                i for i in old_steps.keys() & new_steps.keys() if old_steps[i] != new_steps[i]
            ),
            "diff": "".join(text),
        }
    )


def _yaml(definition: JourneyDefinition) -> str:
    return yaml.safe_dump(to_document(definition), sort_keys=False, allow_unicode=True)


@router.get(
    "/{journey_id}/graph",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {}, "image/svg+xml": {}, "text/html": {}},
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
    definition, _number = definition_at(session, journey_id, version)
    accept = request.headers.get("accept", "")
    if "image/svg+xml" in accept:
        return Response(svg(definition), media_type="image/svg+xml")
    if "text/html" in accept:
        return HTMLResponse(html_page(definition))
    return PlainTextResponse(mermaid(definition))


class SimulationIn(Simulation):
    model_config = ConfigDict(extra="forbid")

    version: int | Literal["draft", "live"] = "draft"


@router.post("/{journey_id}/simulate")
def simulate_journey(
    journey_id: JourneyId, body: SimulationIn, session: SessionDep, _: Admin
) -> SimulationResult:
    """Run the journey for a given contact and a timed script of events, on a virtual clock:
    the path taken, each message rendered, each wait, each decision. Nothing is sent and
    Temporal is not used."""
    definition, number = definition_at(session, journey_id, body.version)
    return simulate(
        definition, Simulation.model_validate(body.model_dump(exclude={"version"})), number
    )


class TestSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: ContactId
    version: int | Literal["draft", "live"] = "draft"
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Start trigger attributes used to personalize it."
    )


@router.post(
    "/{journey_id}/steps/{step_id}/test-send",
    responses={404: {"description": "No such message step"}, 504: {"description": "No worker"}},
)
async def send_test(
    journey_id: JourneyId, step_id: str, body: TestSendIn, services: ServicesDep, _: Admin
) -> SendSettled:
    """Send one step's message to one contact, marked as a test, without entering the journey.
    Consent still applies."""

    def load() -> tuple[JourneyDefinition, int]:
        with Session(services.engine) as session:
            return definition_at(session, journey_id, body.version)

    definition, number = await run_in_threadpool(load)
    step = next((s for _, s in definition.walk() if s.id == step_id), None)
    match step:
        case EmailStep(email=message) | SmsStep(sms=message) | PushStep(push=message):
            pass
        case _:
            raise HTTPException(
                HTTPStatus.NOT_FOUND, f"no message step {step_id!r} in {journey_id}"
            )
    request = TestSendInput(
        journey_id=journey_id,
        journey_name=definition.name,
        version=number,
        step=step_id,
        contact_id=body.contact_id,
        message=message,
        trigger=body.attributes,
    )
    try:
        result: SendSettled = await services.temporal.execute_workflow(
            names.TEST_SEND_WORKFLOW,
            request,
            id=f"test-send/{journey_id}/{step_id}/{body.contact_id}/{uuid.uuid4().hex[:8]}",
            task_queue=services.settings.task_queue,
            execution_timeout=timedelta(seconds=60),
            result_type=SendSettled,
        )
    except (RPCError, RuntimeError) as error:
        raise TemporalUnavailable(str(error)) from error
    return result
